// The *.train parser: lines, sections, keys and values checked against the
// key table (key_table.cpp, which lists every key once: type, range,
// default, setter, hover text), the outline the editor shows, cross-key
// rules and --set overrides. The text helpers it uses live in text.cpp,
// reading a config file in load.cpp and the config's JSON form in
// config_json.cpp.
#include "config/config.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>

#include "config/key_table.h"
#include "config/rules.h"
#include "config/text.h"

namespace ts {

using namespace cfg;

namespace {

constexpr int kNoSection = -1;
constexpr int kUnknownSection = -2;
const char* const kOverrideFile = "--set";

class Parser {
 public:
  Parser(const std::string& file, ParseResult& r) : file_(file), r_(r), c_(r.config) {
    c_.file = file;
  }

  void parse_text(const std::string& text);
  void parse_override(const std::string& ov, int n);
  void cross_checks();
  void not_built_checks();
  void finish();

 private:
  void parse_line(const std::string& line);
  void parse_header(const std::string& line, size_t open);
  void parse_key(int section, const std::string& key, int kcol, const std::string& value, int vcol);
  std::string unknown_key_message(int section, const std::string& key) const;
  bool parse_value(const Spec& k, const std::string& val, int vcol, Value& v);
  bool parse_checkpoint(const Spec& k, const std::string& val, int vcol, Value& v);
  bool check_range(const Spec& k, double x, bool overflow, const std::string& text, int col,
                   int end);
  bool junk(const Spec& k, const std::string& val, size_t from, int vcol);
  bool fail(int col, int end_col, const std::string& msg, const std::string& key = "");
  void report_at(const SourceLoc& loc, const std::string& msg, const std::string& key);
  const SourceLoc* where(const std::string& key) const;
  std::string written(const std::string& key, double v) const;

  const std::string file_;
  ParseResult& r_;
  Config& c_;
  // The line being parsed: the file's, or the Nth override's.
  std::string cur_file_;
  int cur_line_ = 0;
  bool overriding_ = false;
  int section_ = kNoSection;
  std::string section_name_;               // as the last header wrote it (outline)
  std::map<std::string, int> seen_;        // key -> first line in the file (duplicates)
  std::map<std::string, std::string> raw_; // key -> value as written (messages)
  std::set<std::pair<std::string, int>> lines_with_diag_;
};

bool Parser::fail(int col, int end_col, const std::string& msg, const std::string& key) {
  // A bounded list, as compilers stop after so many errors: a file of a
  // million bad lines must not become a million diagnostics in the editor.
  if (r_.diagnostics.size() > kMaxDiagnostics) return false;
  // One diagnostic per line: the first problem is the one worth fixing, and
  // later ones on the same line are often its echoes.
  if (!lines_with_diag_.insert({cur_file_, cur_line_}).second) return false;
  if (r_.diagnostics.size() == kMaxDiagnostics) {
    Diagnostic d;
    d.file = cur_file_;
    d.line = cur_line_;
    d.col = 1;
    d.end_col = 2;
    d.message = "too many problems: the first " + std::to_string(kMaxDiagnostics) +
                " are reported, and checking stops here";
    r_.diagnostics.push_back(d);
    return false;
  }
  Diagnostic d;
  d.file = cur_file_;
  d.line = cur_line_;
  d.col = col;
  d.end_col = std::max(end_col, col + 1);
  d.message = msg;
  d.key = key;
  r_.diagnostics.push_back(d);
  return false;
}

void Parser::report_at(const SourceLoc& loc, const std::string& msg, const std::string& key) {
  cur_file_ = loc.file;
  cur_line_ = loc.line;
  fail(loc.value_col, loc.end_col, msg, key);
}

const SourceLoc* Parser::where(const std::string& key) const {
  auto it = c_.where.find(key);
  return it == c_.where.end() ? nullptr : &it->second;
}

// A number value as the user wrote it ("3e-4" stays "3e-4"), else the value.
std::string Parser::written(const std::string& key, double v) const {
  auto it = raw_.find(key);
  return it != raw_.end() ? shown(it->second) : number_text(v);
}

void Parser::parse_text(const std::string& text) {
  cur_file_ = file_;
  overriding_ = false;
  size_t pos = 0;
  // A UTF-8 byte-order mark is invisible in editors, so columns start after it.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;
  for (int line_no = 1;; ++line_no) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    cur_line_ = line_no;
    parse_line(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
}

void Parser::parse_line(const std::string& line) {
  size_t i = skip_space(line, 0);
  if (i == line.size() || line[i] == '#') return;
  if (line[i] == '[') return parse_header(line, i);

  size_t kend = word_end(line, i);
  size_t vstart = skip_space(line, kend);
  // The value runs to a '#' that follows whitespace (so "a#b" stays a value)
  // and is outside double quotes (so a quoted path may hold " #").
  size_t vend = vstart;
  bool quoted = false;
  for (; vend < line.size(); ++vend) {
    if (line[vend] == '"') quoted = !quoted;
    if (line[vend] == '#' && !quoted && vend > 0 && is_space(line[vend - 1])) break;
  }
  if (!overriding_) {
    OutlineLine o;
    o.line = cur_line_;
    o.section = section_name_;
    o.key = line.substr(i, kend - i);
    o.col = int(i) + 1;
    o.end_col = int(kend) + 1;
    size_t vlast = vend;
    while (vlast > vstart && is_space(line[vlast - 1])) --vlast;
    o.value_col = vlast > vstart ? int(vstart) + 1 : o.end_col;
    o.value_end = vlast > vstart ? int(vlast) + 1 : o.end_col;
    r_.outline.push_back(o);
  }
  parse_key(section_, line.substr(i, kend - i), int(i) + 1,
            rtrim(line.substr(vstart, vend - vstart)), int(vstart) + 1);
}

void Parser::parse_header(const std::string& line, size_t open) {
  const int bcol = int(open) + 1;
  size_t close = line.find(']', open);
  // Until the header is fixed, its keys are attributed to no section, which
  // would only produce echo errors: skip them instead.
  section_ = kUnknownSection;
  if (close == std::string::npos) {
    section_name_.clear();
    r_.outline.push_back({cur_line_, true, "", "", bcol, int(line.size()) + 1, 0, 0});
    fail(bcol, int(line.size()) + 1, "section header is missing its closing ']'");
    return;
  }
  std::string name = line.substr(open + 1, close - open - 1);
  section_name_ = rtrim(name.substr(skip_space(name, 0)));
  r_.outline.push_back({cur_line_, true, section_name_, "", bcol, int(close) + 2, 0, 0});
  const int ncol = bcol + 1, nend = int(close) + 1;
  size_t after = skip_space(line, close + 1);
  if (name.empty()) {
    fail(bcol, nend + 1, "empty section name: write one of [model], [data], [train], [parallel]");
    return;
  }
  if (is_space(name.front()) || is_space(name.back())) {
    std::string trimmed = rtrim(name.substr(skip_space(name, 0)));
    fail(bcol, nend + 1,
         "no spaces inside a section header: write '[" + shown(trimmed) + "]'");
    return;
  }
  if (after < line.size() && line[after] != '#') {
    fail(int(after) + 1, int(line.size()) + 1,
         "unexpected '" + shown(line.substr(after)) + "' after the section header");
    return;
  }
  std::vector<std::string> names(std::begin(kSections), std::end(kSections));
  for (size_t s = 0; s < names.size(); ++s) {
    if (name == names[s]) {
      section_ = int(s);
      return;
    }
  }
  std::string msg = "unknown section '" + shown(name) + "'";
  std::string guess = closest(name, names);
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  else msg += " (sections are model, data, train and parallel)";
  fail(ncol, nend, msg);
}

std::string Parser::unknown_key_message(int section, const std::string& key) const {
  const std::string sec = kSections[section];
  // A real key of another section: the line is right, its place is not.
  std::vector<std::string> homes;
  for (const Spec& k : kSpecs)
    if (key == k.key) homes.push_back("[" + std::string(k.section) + "]");
  if (!homes.empty())
    return "'" + key + "' belongs in " + or_list(homes) + ", not [" + sec + "]";

  // Closest key or alias, preferring this section's keys.
  struct Candidate {
    std::string name;  // what the user may have meant to type
    const char* section;
    const char* key;
  };
  std::vector<Candidate> cands;
  for (const Spec& k : kSpecs) cands.push_back({k.key, k.section, k.key});
  for (const Alias& a : kAliases) cands.push_back({a.alias, a.section, a.key});
  const Candidate* best = nullptr;
  int best_rank = 1 << 20;
  for (const Candidate& c : cands) {
    int d = closeness(key, c.name);
    if (d < 0) continue;
    int rank = d + (sec == c.section ? 0 : 10);
    if (rank < best_rank) {
      best = &c;
      best_rank = rank;
    }
  }
  std::string msg = "unknown key '" + shown(key) + "' in [" + sec + "]";
  if (best) {
    msg += " (did you mean '" + std::string(best->key) + "'";
    if (sec != best->section) msg += " in [" + std::string(best->section) + "]";
    msg += "?)";
  }
  return msg;
}

void Parser::parse_key(int section, const std::string& key, int kcol, const std::string& value,
                       int vcol) {
  const int kend = kcol + int(key.size());
  if (section == kUnknownSection) return;
  const Spec* spec = nullptr;
  std::vector<std::string> homes;
  for (const Spec& k : kSpecs) {
    if (key != k.key) continue;
    homes.push_back("[" + std::string(k.section) + "]");
    if (section >= 0 && kSections[section] == std::string(k.section)) spec = &k;
  }
  if (section == kNoSection) {
    std::string msg = "'" + shown(key) + "' is set before any [section] header";
    if (!homes.empty()) msg += "; put it under " + or_list(homes);
    fail(kcol, kend, msg);
    return;
  }
  // "lr=0.1", "lr: 0.1": the syntax of other config formats.
  size_t sep = key.find_first_of("=:");
  if (sep != std::string::npos && sep > 0) {
    fail(kcol, kend,
         "write 'key value' separated by a space, got '" + shown(key) + "'");
    return;
  }
  if (!spec) {
    if (!is_identifier(lower(key))) {
      fail(kcol, kend,
           "invalid key '" + shown(key) + "': keys are lowercase letters, digits and '_'");
      return;
    }
    fail(kcol, kend, unknown_key_message(section, key));
    return;
  }
  const std::string name = full_name(*spec);
  if (!overriding_) {
    auto first = seen_.find(name);
    if (first != seen_.end()) {
      fail(kcol, kend, name + " is already set on line " + std::to_string(first->second), name);
      return;
    }
    seen_[name] = cur_line_;
    if (!value.empty() && (value[0] == '=' || value[0] == ':')) {
      fail(vcol, vcol + 1,
           name + ": write '" + spec->key + " VALUE' without '" + value[0] + "'", name);
      return;
    }
  }
  if (spec->type == Type::Flag) {
    if (!value.empty()) {
      fail(vcol, vcol + int(value.size()),
           name + " takes no value, got '" + shown(value) + "'", name);
      return;
    }
  } else if (value.empty()) {
    fail(kcol, kend, name + " needs a value", name);
    return;
  }

  // The data source is one choice spread over three keys.
  const char* const sources[] = {"data.synthetic", "data.text", "data.tokens"};
  const bool is_source = std::string(spec->section) == "data" &&
                         (spec->type == Type::Flag || spec->type == Type::Path);
  if (is_source && !overriding_) {
    for (const char* other : sources) {
      auto it = seen_.find(other);
      if (other != name && it != seen_.end()) {
        fail(kcol, kend,
             name + ": the data source is already set by '" + std::string(other).substr(5) +
                 "' on line " + std::to_string(it->second) +
                 " (use one of synthetic, text or tokens)",
             name);
        return;
      }
    }
  }

  Value v;
  if (!parse_value(*spec, value, vcol, v)) return;
  spec->set(c_, v);
  if (is_source) {
    // An override's source replaces the file's.
    for (const char* other : sources) {
      c_.where.erase(other);
      raw_.erase(other);
    }
  }
  SourceLoc loc;
  loc.file = cur_file_;
  loc.line = cur_line_;
  loc.col = kcol;
  loc.value_col = spec->type == Type::Flag ? kcol : vcol;
  loc.end_col = spec->type == Type::Flag ? kend : vcol + int(value.size());
  c_.where[name] = loc;
  raw_[name] = value;
}

bool Parser::junk(const Spec& k, const std::string& val, size_t from, int vcol) {
  return fail(vcol + int(from), vcol + int(val.size()),
              full_name(k) + ": unexpected '" + shown(val.substr(from)) + "' after the value",
              full_name(k));
}

bool Parser::check_range(const Spec& k, double x, bool overflow, const std::string& text,
                         int col, int end) {
  bool low = k.lo_open ? !(x > k.lo) : !(x >= k.lo);
  bool high = overflow || (k.hi_open ? !(x < k.hi) : !(x <= k.hi));
  if (!low && !high) return true;
  auto bound = [&](double b) {
    return k.type == Type::Size ? size_text(uint64_t(b)) : number_text(b);
  };
  const bool stated_max = k.hi < kIntMax;
  std::string lo = (k.lo_open ? "greater than " : "at least ") + bound(k.lo);
  std::string range;
  if (!stated_max)
    range = low || x < 0 ? lo : "at most " + bound(k.hi);
  else if (!k.lo_open && !k.hi_open)
    range = "between " + bound(k.lo) + " and " + bound(k.hi);
  else
    range = lo + " and " + (k.hi_open ? "less than " : "at most ") + bound(k.hi);
  return fail(col, end, full_name(k) + " must be " + range + ", got " + shown(text), full_name(k));
}

bool Parser::parse_value(const Spec& k, const std::string& val, int vcol, Value& v) {
  const std::string name = full_name(k);
  switch (k.type) {
    case Type::Flag:
      return true;
    case Type::Checkpoint:
      return parse_checkpoint(k, val, vcol, v);
    case Type::Path: {
      std::string path = val;
      if (val[0] == '"') {
        size_t q = val.find('"', 1);
        if (q == std::string::npos)
          return fail(vcol, vcol + int(val.size()), name + ": unterminated quote in path", name);
        size_t after = skip_space(val, q + 1);
        if (after < val.size()) return junk(k, val, after, vcol);
        path = val.substr(1, q - 1);
      }
      if (path.empty()) return fail(vcol, vcol + int(val.size()), name + ": empty path", name);
      v.s = resolve_path(file_, path);
      return true;
    }
    default:
      break;
  }

  // The remaining types are one word.
  const size_t w = word_end(val, 0);
  const std::string tok = val.substr(0, w);
  const size_t rest = skip_space(val, w);
  const int end = vcol + int(w);
  switch (k.type) {
    case Type::Int: {
      bool overflow = false;
      if (!parse_int(tok, v.i, overflow))
        return fail(vcol, end, name + ": expected an integer, got '" + shown(tok) + "'", name);
      if (!check_range(k, double(v.i), overflow, tok, vcol, end)) return false;
      break;
    }
    case Type::Number: {
      if (tok.empty() || number_prefix(tok, true) != tok.size())
        return fail(vcol, end, name + ": expected a number, got '" + shown(tok) + "'", name);
      if (!to_double(tok, v.d))
        return fail(vcol, end, name + ": expected a finite number, got '" + shown(tok) + "'",
                    name);
      if (!check_range(k, v.d, false, tok, vcol, end)) return false;
      break;
    }
    case Type::Size: {
      std::string unit;
      switch (parse_size(tok, v.bytes, unit)) {
        case SizeStatus::Ok:
          break;
        case SizeStatus::NotSize:
          return fail(vcol, end,
                      name + ": expected a size like 4MB or 4MiB, got '" + shown(tok) + "'", name);
        case SizeStatus::BadUnit: {
          std::string msg = name + ": unknown size unit '" + shown(unit) + "' (expected " +
                            unit_list() + ")";
          std::string guess = unit_suggestion(unit);
          if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
          return fail(vcol, end, msg, name);
        }
        case SizeStatus::Fraction:
          return fail(vcol, end, name + ": " + shown(tok) + " is not a whole number of bytes", name);
        case SizeStatus::TooLarge:
          return fail(vcol, end, name + ": " + shown(tok) + " is too large", name);
      }
      if (rest < val.size()) {
        std::string next = val.substr(rest, word_end(val, rest) - rest);
        for (const Unit& u : kUnits)
          if (next == u.name)
            return fail(vcol, vcol + int(val.size()),
                        name + ": write the unit right after the number, as in '" + tok + next +
                            "'",
                        name);
      }
      if (!check_range(k, double(v.bytes), false, tok, vcol, end)) return false;
      break;
    }
    case Type::Enum: {
      std::vector<std::string> choices = split_choices(k.values);
      if (std::find(choices.begin(), choices.end(), tok) == choices.end()) {
        std::string msg = name + ": unknown value '" + shown(tok) + "' (expected " +
                          or_list(choices) + ")";
        std::string guess = closest(tok, choices);
        if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
        return fail(vcol, end, msg, name);
      }
      v.s = tok;
      break;
    }
    default:
      break;
  }
  if (rest < val.size()) return junk(k, val, rest, vcol);
  return true;
}

// checkpoint none | sqrt | every K | layers i,j,... | budget SIZE
bool Parser::parse_checkpoint(const Spec& k, const std::string& val, int vcol, Value& v) {
  const std::string name = full_name(k);
  const size_t w = word_end(val, 0);
  const std::string mode = val.substr(0, w);
  const size_t a = skip_space(val, w);  // the argument
  const int acol = vcol + int(a);
  v.s = mode;
  if (mode == "none" || mode == "sqrt") {
    if (a < val.size()) return junk(k, val, a, vcol);
    return true;
  }
  if (mode == "every") {
    if (a == val.size())
      return fail(vcol, vcol + int(w), name + " every needs a count, as in 'every 2'", name);
    const size_t e = word_end(val, a);
    const std::string tok = val.substr(a, e - a);
    const int end = vcol + int(e);
    bool overflow = false;
    if (!parse_int(tok, v.i, overflow))
      return fail(acol, end,
                  name + ": expected an integer after 'every', got '" + shown(tok) + "'", name);
    if (overflow || v.i < 1 || v.i > int64_t(kIntMax))
      return fail(acol, end, name + " every must be at least 1, got " + shown(tok), name);
    const size_t rest = skip_space(val, e);
    if (rest < val.size()) return junk(k, val, rest, vcol);
    return true;
  }
  if (mode == "layers") {
    if (a == val.size())
      return fail(vcol, vcol + int(w),
                  name + " layers needs layer indices, as in 'layers 0,2'", name);
    // Whether indices exist depends on model.layers: see cross_checks().
    size_t start = a;
    while (true) {
      size_t comma = val.find(',', start);
      size_t stop = comma == std::string::npos ? val.size() : comma;
      size_t b = skip_space(val, start);
      std::string item = rtrim(val.substr(b, stop > b ? stop - b : 0));
      const int icol = vcol + int(b), iend = icol + int(item.size());
      if (item.empty())
        return fail(vcol + int(start), vcol + int(stop) + 1,
                    name + ": empty entry in the layer list", name);
      // An item is one block "i" or a segment of blocks "i-j".
      const size_t dash = item.find('-', 1);
      const std::string first = dash == std::string::npos ? item : rtrim(item.substr(0, dash));
      const std::string last = dash == std::string::npos ? item : item.substr(skip_space(item, dash + 1));
      int64_t idx[2] = {0, 0};
      for (int part = 0; part < 2; ++part) {
        const std::string& t = part ? last : first;
        bool overflow = false;
        if (!parse_int(t, idx[part], overflow))
          return fail(icol, iend,
                      name + ": expected a layer index or a range like 0-3, got '" + shown(item) + "'",
                      name);
        if (idx[part] < 0)
          return fail(icol, iend, name + ": layer indices start at 0, got " + shown(item), name);
        if (overflow || idx[part] > int64_t(kIntMax))
          return fail(icol, iend, name + ": layer index " + shown(item) + " is too large", name);
      }
      if (idx[1] < idx[0])
        return fail(icol, iend, name + ": range " + shown(item) + " runs backwards", name);
      if (!v.segments.empty() && idx[0] <= v.segments.back().second)
        return fail(icol, iend,
                    name + ": segments must be in increasing order without overlap, got '" +
                        shown(item) + "' after '" + std::to_string(v.segments.back().second) + "'",
                    name);
      v.segments.push_back({int(idx[0]), int(idx[1])});
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return true;
  }
  if (mode == "budget") {
    if (a == val.size())
      return fail(vcol, vcol + int(w), name + " budget needs a size, as in 'budget 512MB'",
                  name);
    const size_t e = word_end(val, a);
    const std::string tok = val.substr(a, e - a);
    const int end = vcol + int(e);
    std::string unit;
    switch (parse_size(tok, v.bytes, unit)) {
      case SizeStatus::Ok:
        break;
      case SizeStatus::BadUnit:
        return fail(acol, end,
                    name + ": unknown size unit '" + shown(unit) + "' (expected " + unit_list() +
                        ")",
                    name);
      default:
        return fail(acol, end,
                    name + ": expected a size after 'budget', like 512MB, got '" + shown(tok) +
                        "'",
                    name);
    }
    if (v.bytes == 0)
      return fail(acol, end, name + " budget must be at least 1B, got " + shown(tok), name);
    const size_t rest = skip_space(val, e);
    if (rest < val.size()) return junk(k, val, rest, vcol);
    return true;
  }
  std::vector<std::string> modes = split_choices(k.values);
  std::string msg = name + ": unknown value '" + shown(mode) +
                    "' (expected none, sqrt, every K, layers LIST or budget SIZE)";
  std::string guess = closest(mode, modes);
  if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
  return fail(vcol, vcol + int(w), msg, name);
}

void Parser::parse_override(const std::string& ov, int n) {
  cur_file_ = kOverrideFile;
  cur_line_ = n;
  overriding_ = true;
  const size_t eq = ov.find('=');
  const size_t dot = ov.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq || dot == 0 ||
      dot + 1 == eq) {
    fail(1, int(ov.size()) + 1, "--set expects section.key=value, got '" + shown(ov) + "'");
    return;
  }
  const std::string sec = ov.substr(0, dot);
  int section = kUnknownSection;
  std::vector<std::string> names(std::begin(kSections), std::end(kSections));
  for (size_t s = 0; s < names.size(); ++s)
    if (sec == names[s]) section = int(s);
  if (section == kUnknownSection) {
    std::string msg = "unknown section '" + shown(sec) + "'";
    std::string guess = closest(sec, names);
    if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
    fail(1, int(dot) + 1, msg);
    return;
  }
  // No comments here: the whole rest is the value, as the shell passed it.
  const size_t vstart = skip_space(ov, eq + 1);
  // "section.key = value" is fine too: the shell hands it over as one word.
  parse_key(section, rtrim(ov.substr(dot + 1, eq - dot - 1)), int(dot) + 2,
            rtrim(ov.substr(vstart)), int(vstart) + 1);
}

void Parser::cross_checks() {
  const Config& c = c_;
  // Reports at the first of `keys` that was set (the likeliest to fix).
  auto report = [&](const std::vector<const char*>& keys, const std::string& msg) {
    for (const char* k : keys) {
      if (const SourceLoc* loc = where(k)) {
        report_at(*loc, msg, k);
        return;
      }
    }
  };
  const auto written = [this](const char* key, double v) { return this->written(key, v); };
  for (const RuleProblem& p : cross_key_problems(c, written)) report(p.keys, p.message);
}

void Parser::not_built_checks() {
  for (const NotBuilt& nb : kNotBuilt) {
    const SourceLoc* loc = where(nb.key);
    // Defaults are always built, so a feature in use was set somewhere.
    if (loc && nb.used(c_))
      report_at(*loc,
                std::string(nb.key) + " " + shown(raw_[nb.key]) + " is not built yet: " + nb.so_far,
                nb.key);
  }
}

void Parser::finish() {
  // File lines first, then overrides, each in line order: the first
  // diagnostic is the first problem a reader meets.
  std::stable_sort(r_.diagnostics.begin(), r_.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     bool ao = a.file == kOverrideFile, bo = b.file == kOverrideFile;
                     if (ao != bo) return bo;
                     return a.line < b.line;
                   });
}

}  // namespace

ParseResult parse_config(const std::string& text, const std::string& file,
                         const std::vector<std::string>& overrides) {
  ParseResult r;
  Parser p(file, r);
  p.parse_text(text);
  for (size_t i = 0; i < overrides.size(); ++i) p.parse_override(overrides[i], int(i) + 1);
  // Cross-key rules read final values; after a bad line those are partly
  // defaults, and a complaint about them would mislead.
  if (r.ok()) p.cross_checks();
  p.not_built_checks();
  p.finish();
  return r;
}

}  // namespace ts
