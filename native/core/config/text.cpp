// The parser's text helpers (see text.h): pure functions of their
// arguments, kept apart from the grammar so the parser reads as rules.
#include "config/text.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <locale>
#include <sstream>

#include "config/config.h"
#include "config/key_table.h"

namespace ts {
namespace cfg {

bool is_space(char c) { return c == ' ' || c == '\t'; }

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

size_t word_end(const std::string& s, size_t i) {
  while (i < s.size() && !is_space(s[i])) ++i;
  return i;
}

std::string rtrim(std::string s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_identifier(const std::string& s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_')) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

// User text quoted in a message: garbage lines must not flood the Problems
// panel or put control bytes into it.
std::string shown(const std::string& s) {
  const size_t kMax = 40;
  std::string out = s.substr(0, kMax);
  if (s.size() > kMax) {
    // Cut on a UTF-8 character boundary.
    while (!out.empty() && (static_cast<unsigned char>(s[out.size()]) & 0xC0) == 0x80)
      out.pop_back();
    out += "...";
  }
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// Damerau-Levenshtein (optimal string alignment) distance.
int edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = int(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = int(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

// Distance of `word` to `candidate` when close enough to suggest, else -1.
// Case is ignored; at most 2 edits, and at most half the length, so that
// short words ("x") are not "close" to every short key ("lr").
int closeness(const std::string& word, const std::string& candidate) {
  const std::string a = lower(word), b = lower(candidate);
  const size_t longer = std::max(a.size(), b.size());
  if (longer - std::min(a.size(), b.size()) > 2) return -1;
  int d = edit_distance(a, b);
  return d <= 2 && size_t(2 * d) <= longer ? d : -1;
}

// The closest candidate to `word`, or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  int best_d = 3;
  for (const std::string& c : candidates) {
    int d = closeness(word, c);
    if (d >= 0 && d < best_d) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

std::vector<std::string> split_choices(const char* values) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* p = values; *p; ++p) {
    if (*p == '|') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += *p;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// "a", "a or b", "a, b or c".
std::string or_list(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += i + 1 == items.size() ? " or " : ", ";
    s += items[i];
  }
  return s;
}

// Numbers in messages: integers without an exponent, others in %g form.
std::string number_text(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const Unit kUnits[] = {
    {"B", 1},     {"KB", 1e3},           {"MB", 1e6},           {"GB", 1e9},
    {"TB", 1e12}, {"KiB", 1024.0},       {"MiB", 1048576.0},    {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0},
};

// A byte count in the largest unit that divides it exactly ("4MiB", "1KB").
std::string size_text(uint64_t bytes) {
  const Unit* best = &kUnits[0];
  for (const Unit& u : kUnits)
    if (bytes != 0 && std::fmod(double(bytes), u.scale) == 0 && u.scale > best->scale) best = &u;
  return number_text(double(bytes) / best->scale) + best->name;
}

// Length of the decimal number at the start of s: [sign] digits [. digits]
// [e [sign] digits], or .digits; 0 when there is none.
size_t number_prefix(const std::string& s, bool allow_sign) {
  size_t i = 0;
  if (allow_sign && i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    if (j < s.size() && is_digit(s[j])) {
      while (j < s.size() && is_digit(s[j])) ++j;
      i = j;
    }
  }
  return i;
}

// Converts text already checked by number_prefix. The classic locale keeps
// '.' the decimal point whatever locale the host process (an editor) set.
// Returns false on overflow.
bool to_double(const std::string& s, double& v) {
  std::istringstream in(s);
  in.imbue(std::locale::classic());
  in >> v;
  return !in.fail() && std::isfinite(v);
}

// [-]digits; `overflow` when it does not fit in int64.
bool parse_int(const std::string& s, int64_t& v, bool& overflow) {
  size_t i = s.size() > 0 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  overflow = false;
  uint64_t mag = 0;
  for (size_t j = i; j < s.size(); ++j) {
    if (!is_digit(s[j])) return false;
    unsigned digit = unsigned(s[j] - '0');
    if (mag > (uint64_t(INT64_MAX) - digit) / 10) overflow = true;
    else mag = mag * 10 + digit;
  }
  v = i ? -int64_t(mag) : int64_t(mag);
  return true;
}

// "512MB", "2GiB", "1000" (bytes). `unit` is set for BadUnit.
SizeStatus parse_size(const std::string& s, uint64_t& bytes, std::string& unit) {
  size_t n = number_prefix(s, false);
  if (n == 0) return SizeStatus::NotSize;
  unit = s.substr(n);
  double scale = unit.empty() ? 1 : 0;
  for (const Unit& u : kUnits)
    if (unit == u.name) scale = u.scale;
  if (scale == 0) return SizeStatus::BadUnit;
  double number;
  if (!to_double(s.substr(0, n), number)) return SizeStatus::TooLarge;
  double b = number * scale;
  if (!(b <= kSizeMax)) return SizeStatus::TooLarge;
  // The relative slack absorbs decimal rounding (1.1 * 1e6 is not exact).
  double whole = std::round(b);
  if (std::fabs(b - whole) > 1e-9 * std::max(1.0, b)) return SizeStatus::Fraction;
  bytes = uint64_t(whole);
  return SizeStatus::Ok;
}

std::string unit_list() {
  std::vector<std::string> names;
  for (const Unit& u : kUnits) names.push_back(u.name);
  return or_list(names);
}

std::string unit_suggestion(const std::string& unit) {
  std::vector<std::string> names;
  for (const Unit& u : kUnits) names.push_back(u.name);
  // Case alone is a likely slip ("mb"), whatever the distance rule says.
  for (const std::string& n : names)
    if (lower(n) == lower(unit)) return n;
  return closest(unit, names);
}

bool is_absolute_path(const std::string& p) {
  if (!p.empty() && (p[0] == '/' || p[0] == '\\')) return true;
  // Windows drive path: C:\ or C:/
  return p.size() >= 3 && std::isalpha(static_cast<unsigned char>(p[0])) && p[1] == ':' &&
         (p[2] == '/' || p[2] == '\\');
}

// Data paths are relative to the config file, so a config means the same
// thing whatever directory the trainer or the editor runs in.
std::string resolve_path(const std::string& config_file, const std::string& p) {
  if (is_absolute_path(p)) return p;
  size_t slash = config_file.find_last_of("/\\");
  if (slash == std::string::npos) return p;
  return config_file.substr(0, slash + 1) + p;
}

}  // namespace cfg

bool parse_size_text(const std::string& text, uint64_t& bytes, std::string& err) {
  std::string unit;
  switch (cfg::parse_size(text, bytes, unit)) {
    case cfg::SizeStatus::Ok:
      return true;
    case cfg::SizeStatus::NotSize:
      err = "expected a size like 24GB or 16GiB, got '" + cfg::shown(text) + "'";
      return false;
    case cfg::SizeStatus::BadUnit: {
      err = "unknown size unit '" + cfg::shown(unit) + "' (expected " + cfg::unit_list() + ")";
      const std::string guess = cfg::unit_suggestion(unit);
      if (!guess.empty()) err += "; did you mean '" + guess + "'?";
      return false;
    }
    case cfg::SizeStatus::Fraction:
      err = "'" + cfg::shown(text) + "' is not a whole number of bytes";
      return false;
    case cfg::SizeStatus::TooLarge:
      err = "'" + cfg::shown(text) + "' is too large";
      return false;
  }
  return false;
}

}  // namespace ts
