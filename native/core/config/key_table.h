// The key table's types, shared by the table (key_table.cpp) and the parser
// (config.cpp): a key's Spec (type, range, default, setter, hover text), the
// parsed Value a setter takes, the sections, the aliases other trainers use
// and the features not built yet. Internal to config/: callers outside it
// read the table through key_table() in config/config.h.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"

namespace ts {
namespace cfg {

enum class Type { Int, Number, Size, Enum, Path, Flag, Checkpoint };

const char* type_name(Type t);

// A parsed value; the key's type says which members are filled.
struct Value {
  int64_t i = 0;           // int; checkpoint every K
  double d = 0;            // number
  uint64_t bytes = 0;      // size; checkpoint budget
  std::string s;           // enum choice; resolved path; checkpoint mode
  std::vector<std::pair<int, int>> segments;  // checkpoint layers: [first, last] per item
};

// Bounds at or above kIntMax are storage limits, not advice, so messages and
// docs state only the lower bound for them.
constexpr double kIntMax = 2147483647.0;
// Seeds are uint64 in Config but capped at int64 so every consumer (JSON,
// JavaScript BigInt, Python) reads them back unchanged.
constexpr double kSeedMax = 9223372036854775807.0;
constexpr double kNoMax = HUGE_VAL;
// Sizes travel as JSON numbers; above 2^53 they would stop round-tripping.
constexpr double kSizeMax = 9007199254740992.0;

struct Spec {
  const char* section;
  const char* key;
  Type type;
  const char* values;   // enum choices "a|b|c"
  const char* def;      // the default, written as in a config file
  double lo, hi;        // accepted range of int, number and size keys
  bool lo_open, hi_open;
  void (*set)(Config&, const Value&);
  const char* doc;      // one sentence: the editor hover
};

// Names other trainers use, so a config ported from them gets a precise hint.
struct Alias {
  const char* alias;
  const char* section;
  const char* key;
};

// Features the config language names but the trainer does not implement yet.
// Setting one is an error, never silently ignored; as each feature lands, its
// entry goes.
struct NotBuilt {
  const char* key;
  bool (*used)(const Config&);
  const char* so_far;
};

// A table defined in key_table.cpp, read with range-for or by index.
template <typename T>
struct Table {
  const T* items;
  size_t count;
  const T* begin() const { return items; }
  const T* end() const { return items + count; }
  const T& operator[](size_t i) const { return items[i]; }
};

extern const Table<Spec> kSpecs;           // every key, in docs order
extern const Table<const char*> kSections;  // the section names, by index
extern const Table<Alias> kAliases;
extern const Table<NotBuilt> kNotBuilt;

// "section.key".
std::string full_name(const Spec& k);

}  // namespace cfg
}  // namespace ts
