// The parser's text helpers: character classes and trimming, the quoting of
// user text in messages, edit distance and the did-you-mean choice, lists
// and numbers as messages write them, and number, integer and size parsing
// (units B, KB, MiB, ...), and config-relative paths. Internal to config/;
// they know nothing of the key table beyond its size limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ts {
namespace cfg {

bool is_space(char c);
size_t skip_space(const std::string& s, size_t i);
size_t word_end(const std::string& s, size_t i);
std::string rtrim(std::string s);
bool is_digit(char c);
bool is_identifier(const std::string& s);
std::string lower(std::string s);
// User text quoted in a message: at most 40 bytes, no control bytes.
std::string shown(const std::string& s);

int edit_distance(const std::string& a, const std::string& b);
// Distance of `word` to `candidate` when close enough to suggest, else -1.
int closeness(const std::string& word, const std::string& candidate);
// The closest candidate to `word`, or "" when none is close.
std::string closest(const std::string& word, const std::vector<std::string>& candidates);

// "a|b|c" -> {a, b, c}.
std::vector<std::string> split_choices(const char* values);
// "a", "a or b", "a, b or c".
std::string or_list(const std::vector<std::string>& items);
// Numbers in messages: integers without an exponent, others in %g form.
std::string number_text(double v);

struct Unit {
  const char* name;
  double scale;
};
extern const Unit kUnits[9];

// A byte count in the largest unit that divides it exactly ("4MiB", "1KB").
std::string size_text(uint64_t bytes);
size_t number_prefix(const std::string& s, bool allow_sign);
bool to_double(const std::string& s, double& v);
bool parse_int(const std::string& s, int64_t& v, bool& overflow);

enum class SizeStatus { Ok, NotSize, BadUnit, Fraction, TooLarge };

SizeStatus parse_size(const std::string& s, uint64_t& bytes, std::string& unit);
std::string unit_list();
std::string unit_suggestion(const std::string& unit);

bool is_absolute_path(const std::string& p);
std::string resolve_path(const std::string& config_file, const std::string& p);

}  // namespace cfg
}  // namespace ts
