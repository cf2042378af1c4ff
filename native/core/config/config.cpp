// The *.train parser. Table-driven: kSpecs lists every key once (type, range,
// default, setter, hover text), and parsing, key_table(), the did-you-mean
// suggestions and the docs (docs/config.md) all follow it.
#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <locale>
#include <set>
#include <sstream>
#include <utility>

#include "base/json.h"

namespace ts {

std::string Diagnostic::format() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(col);
  return s + ": " + severity + ": " + message;
}

bool ParseResult::ok() const {
  for (const Diagnostic& d : diagnostics)
    if (d.severity == "error") return false;
  return true;
}

namespace {

// ---------------------------------------------------------------------------
// The key table

enum class Type { Int, Number, Size, Enum, Path, Flag, Checkpoint };

const char* type_name(Type t) {
  switch (t) {
    case Type::Int: return "int";
    case Type::Number: return "number";
    case Type::Size: return "size";
    case Type::Enum: return "enum";
    case Type::Path: return "path";
    case Type::Flag: return "flag";
    case Type::Checkpoint: return "word";
  }
  return "word";
}

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

const Spec kSpecs[] = {
    // [model]
    {"model", "type", Type::Enum, "gpt", "gpt", 0, 0, false, false,
     [](Config& c, const Value& v) { c.model.type = v.s; },
     "Model architecture: gpt is a decoder-only transformer."},
    {"model", "vocab", Type::Int, "", "256", 2, 1048576, false, false,
     [](Config& c, const Value& v) { c.model.vocab = int(v.i); },
     "Number of distinct tokens; text data needs 256 (one token per byte)."},
    {"model", "context", Type::Int, "", "64", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.model.context = int(v.i); },
     "Sequence length: how many tokens the model sees at once."},
    {"model", "layers", Type::Int, "", "4", 1, 1024, false, false,
     [](Config& c, const Value& v) { c.model.layers = int(v.i); },
     "Number of transformer blocks."},
    {"model", "width", Type::Int, "", "128", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.model.width = int(v.i); },
     "Width of the residual stream (embedding size); must be divisible by heads."},
    {"model", "heads", Type::Int, "", "4", 1, 1024, false, false,
     [](Config& c, const Value& v) { c.model.heads = int(v.i); },
     "Attention heads per block; each head gets width/heads channels."},

    // [data]: synthetic, text and tokens each pick the data source.
    {"data", "synthetic", Type::Flag, "", "", 0, 0, false, false,
     [](Config& c, const Value&) {
       c.data.source = "synthetic";
       c.data.path.clear();
     },
     "Train on the built-in synthetic task (the default data source); takes no value."},
    {"data", "text", Type::Path, "", "", 0, 0, false, false,
     [](Config& c, const Value& v) {
       c.data.source = "text";
       c.data.path = v.s;
     },
     "Train on the bytes of a file, one token per byte (path relative to this config)."},
    {"data", "tokens", Type::Path, "", "", 0, 0, false, false,
     [](Config& c, const Value& v) {
       c.data.source = "tokens";
       c.data.path = v.s;
     },
     "Train on an llm.c .bin token file (path relative to this config)."},
    {"data", "val_fraction", Type::Number, "", "0.1", 0, 0.9, false, false,
     [](Config& c, const Value& v) { c.data.val_fraction = v.d; },
     "Share of the token stream held out for validation; 0 = no held-out split."},
    {"data", "seed", Type::Int, "", "1234", 0, kSeedMax, false, false,
     [](Config& c, const Value& v) { c.data.seed = uint64_t(v.i); },
     "Seed of the synthetic task generator."},

    // [train]
    {"train", "steps", Type::Int, "", "200", 1, 1e9, false, false,
     [](Config& c, const Value& v) { c.train.steps = int(v.i); },
     "Number of optimizer steps to run."},
    {"train", "batch", Type::Int, "", "8", 1, 1e6, false, false,
     [](Config& c, const Value& v) { c.train.batch = int(v.i); },
     "Sequences per forward pass (a micro-batch), each context tokens long; a step takes accumulate of them."},
    {"train", "lr", Type::Number, "", "1e-3", 0, 10, true, false,
     [](Config& c, const Value& v) { c.train.lr = v.d; },
     "Peak learning rate, reached at the end of warmup."},
    {"train", "min_lr", Type::Number, "", "0", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.min_lr = v.d; },
     "Learning rate the schedule decays to; at most lr."},
    {"train", "warmup", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.warmup = int(v.i); },
     "Steps of linear warmup from 0 to lr; less than steps."},
    {"train", "schedule", Type::Enum, "constant|cosine|onecycle", "cosine", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.schedule = v.s; },
     "Learning-rate shape after warmup: constant, cosine decay to min_lr, or onecycle."},
    {"train", "weight_decay", Type::Number, "", "0", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.weight_decay = v.d; },
     "Decoupled (AdamW) weight decay; 0 = off."},
    {"train", "beta1", Type::Number, "", "0.9", 0, 1, false, true,
     [](Config& c, const Value& v) { c.train.beta1 = v.d; },
     "Adam decay rate of the gradient mean."},
    {"train", "beta2", Type::Number, "", "0.95", 0, 1, false, true,
     [](Config& c, const Value& v) { c.train.beta2 = v.d; },
     "Adam decay rate of the squared-gradient mean."},
    {"train", "eps", Type::Number, "", "1e-8", 0, kNoMax, true, false,
     [](Config& c, const Value& v) { c.train.eps = v.d; },
     "Adam epsilon, added to the denominator for stability."},
    {"train", "grad_clip", Type::Number, "", "1", 0, kNoMax, false, false,
     [](Config& c, const Value& v) { c.train.grad_clip = v.d; },
     "Clip the global gradient norm to this value; 0 = off."},
    {"train", "seed", Type::Int, "", "42", 0, kSeedMax, false, false,
     [](Config& c, const Value& v) { c.train.seed = uint64_t(v.i); },
     "Seed of the weight init and the batch order."},
    {"train", "threads", Type::Int, "", "0", 0, 1024, false, false,
     [](Config& c, const Value& v) { c.train.threads = int(v.i); },
     "CPU threads to use; 0 = all cores."},
    {"train", "eval_every", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.eval_every = int(v.i); },
     "Measure the validation loss every N steps; 0 = never."},
    {"train", "eval_batches", Type::Int, "", "4", 1, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.eval_batches = int(v.i); },
     "Batches averaged per validation measurement."},
    {"train", "profile_every", Type::Int, "", "10", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.profile_every = int(v.i); },
     "Record a detailed timing of one step every N steps; 0 = the first step only."},
    {"train", "precision", Type::Enum, "fp32|bf16|fp16", "fp32", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.precision = v.s; },
     "Number format of weights and activations during the step."},
    {"train", "checkpoint", Type::Checkpoint, "none|sqrt|every|layers|budget", "none", 0, 0, false,
     false,
     [](Config& c, const Value& v) {
       c.train.checkpoint = v.s;
       c.train.checkpoint_every = v.s == "every" ? int(v.i) : 0;
       c.train.checkpoint_segments =
           v.s == "layers" ? v.segments : std::vector<std::pair<int, int>>{};
       c.train.checkpoint_budget = v.s == "budget" ? v.bytes : 0;
     },
     "Activation checkpointing (recompute instead of store): none, sqrt, every K, layers 0-3,4-7 "
     "or budget SIZE."},
    {"train", "accumulate", Type::Int, "", "1", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.train.accumulate = int(v.i); },
     "Micro-batches whose gradients are summed per optimizer step."},
    {"train", "device", Type::Enum, "cpu|cuda|auto", "cpu", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.device = v.s; },
     "Where the math runs: cpu; cuda (the first GPU, an error when none is usable); auto (the GPU when one is usable, else the cpu, saying why in the run record)."},
    {"train", "attention", Type::Enum, "materialized|fused", "materialized", 0, 0, false, false,
     [](Config& c, const Value& v) { c.train.attention = v.s; },
     "How the GPU computes attention: materialized (each head's T x T probabilities kept for backward; the fastest) or fused (one kernel that keeps only each query's log-sum-exp, far less memory; backward recomputes the probabilities). fused needs the GPU, precision bf16 or fp16, heads of 32 or 64 (width / heads) and a context that is a multiple of 64."},
    {"train", "save_every", Type::Int, "", "0", 0, kIntMax, false, false,
     [](Config& c, const Value& v) { c.train.save_every = int(v.i); },
     "Write the weights and optimizer state to disk every N steps; 0 = never."},

    // [parallel]
    {"parallel", "ranks", Type::Int, "", "1", 1, 65536, false, false,
     [](Config& c, const Value& v) { c.parallel.ranks = int(v.i); },
     "Number of data-parallel processes."},
    {"parallel", "bucket", Type::Size, "", "4MiB", 1000, kSizeMax, false, false,
     [](Config& c, const Value& v) { c.parallel.bucket = v.bytes; },
     "Gradient bytes gathered before each all-reduce starts."},
    {"parallel", "backend", Type::Enum, "mpi|nccl", "mpi", 0, 0, false, false,
     [](Config& c, const Value& v) { c.parallel.backend = v.s; },
     "Communication library between ranks."},
};

const char* const kSections[] = {"model", "data", "train", "parallel"};

// Names other trainers use, so a config ported from them gets a precise hint.
struct Alias {
  const char* alias;
  const char* section;
  const char* key;
};
const Alias kAliases[] = {
    {"learning_rate", "train", "lr"},   {"n_layer", "model", "layers"},
    {"n_layers", "model", "layers"},    {"num_layers", "model", "layers"},
    {"d_model", "model", "width"},      {"n_embd", "model", "width"},
    {"hidden", "model", "width"},       {"n_head", "model", "heads"},
    {"num_heads", "model", "heads"},    {"block_size", "model", "context"},
    {"seq_len", "model", "context"},    {"batch_size", "train", "batch"},
    {"vocab_size", "model", "vocab"},   {"max_steps", "train", "steps"},
    {"iters", "train", "steps"},        {"world_size", "parallel", "ranks"},
    {"nprocs", "parallel", "ranks"},    {"warmup_steps", "train", "warmup"},
    {"max_grad_norm", "train", "grad_clip"},
};

// Features the config language names but the trainer does not implement yet.
// Setting one is an error, never silently ignored; as each feature lands, its
// entry goes.
struct NotBuilt {
  const char* key;
  bool (*used)(const Config&);
  const char* so_far;
};
const NotBuilt kNotBuilt[] = {
    {"parallel.ranks", [](const Config& c) { return c.train.device == "cuda" && c.parallel.ranks > 1; },
     "with train.device cuda (data-parallel training on GPUs, NCCL all-reducing device gradients, "
     "comes later; auto trains several ranks on the cpu)"},
};

std::string full_name(const Spec& k) { return std::string(k.section) + "." + k.key; }

// ---------------------------------------------------------------------------
// Text helpers

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

struct Unit {
  const char* name;
  double scale;
};
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

enum class SizeStatus { Ok, NotSize, BadUnit, Fraction, TooLarge };

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

// The checkpoint value in config-language form.
std::string checkpoint_text(const TrainConfig& t) {
  if (t.checkpoint == "every") return "every " + std::to_string(t.checkpoint_every);
  if (t.checkpoint == "budget") return "budget " + std::to_string(t.checkpoint_budget);
  if (t.checkpoint == "layers") {
    std::string s = "layers ";
    for (size_t i = 0; i < t.checkpoint_segments.size(); ++i) {
      const auto& seg = t.checkpoint_segments[i];
      s += (i ? "," : "") + std::to_string(seg.first);
      if (seg.second != seg.first) s += "-" + std::to_string(seg.second);
    }
    return s;
  }
  return t.checkpoint;
}

// ---------------------------------------------------------------------------
// The parser

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
  std::map<std::string, int> seen_;        // key -> first line in the file (duplicates)
  std::map<std::string, std::string> raw_; // key -> value as written (messages)
  std::set<std::pair<std::string, int>> lines_with_diag_;
};

bool Parser::fail(int col, int end_col, const std::string& msg, const std::string& key) {
  // One diagnostic per line: the first problem is the one worth fixing, and
  // later ones on the same line are often its echoes.
  if (!lines_with_diag_.insert({cur_file_, cur_line_}).second) return false;
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
    fail(bcol, int(line.size()) + 1, "section header is missing its closing ']'");
    return;
  }
  std::string name = line.substr(open + 1, close - open - 1);
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
  auto report = [&](std::initializer_list<const char*> keys, const std::string& msg) {
    for (const char* k : keys) {
      if (const SourceLoc* loc = where(k)) {
        report_at(*loc, msg, k);
        return;
      }
    }
  };
  if (c.model.width % c.model.heads != 0)
    report({"model.heads", "model.width"},
           "model.width " + std::to_string(c.model.width) + " is not divisible by model.heads " +
               std::to_string(c.model.heads));
  if (c.data.source == "text" && c.model.vocab < 256)
    report({"model.vocab", "data.text"},
           "model.vocab " + std::to_string(c.model.vocab) +
               " is too small for text data: byte tokens need vocab 256 or more");
  if (c.data.source == "synthetic" && c.model.vocab < 4)
    report({"model.vocab", "data.synthetic"},
           "model.vocab " + std::to_string(c.model.vocab) +
               " is too small for the synthetic task: it needs vocab 4 or more");
  if (c.train.min_lr > c.train.lr)
    report({"train.min_lr", "train.lr"},
           "train.min_lr " + written("train.min_lr", c.train.min_lr) +
               " is larger than train.lr " + written("train.lr", c.train.lr));
  if (c.train.attention == "fused") {
    const int hs = c.model.heads ? c.model.width / c.model.heads : 0;
    if (c.train.device == "cpu")
      report({"train.attention", "train.device"},
             "train.attention fused runs on the GPU: set train.device cuda (or auto)");
    else if (!flash_attention_fits(c.train.precision != "fp32", uint64_t(c.model.context),
                                  uint64_t(c.model.width), uint64_t(c.model.heads)))
      report({"train.attention"},
             "train.attention fused needs train.precision bf16 or fp16 (it is " + c.train.precision +
                 "), heads of 32 or 64 (model.width / model.heads is " + std::to_string(hs) +
                 ") and model.context a multiple of 64 (it is " + std::to_string(c.model.context) + ")");
  }
  if (c.train.warmup >= c.train.steps)
    report({"train.warmup", "train.steps"},
           "train.warmup " + std::to_string(c.train.warmup) + " must be less than train.steps " +
               std::to_string(c.train.steps));
  for (const auto& seg : c.train.checkpoint_segments) {
    const int layer = seg.second;
    if (layer >= c.model.layers) {
      report({"train.checkpoint"},
             "train.checkpoint layer " + std::to_string(layer) +
                 " is out of range: model.layers is " + std::to_string(c.model.layers) +
                 ", so indices go from 0 to " + std::to_string(c.model.layers - 1));
      break;
    }
  }
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

ParseResult load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  std::string text;
  int err = 0;
  if (!f) {
    err = errno;
  } else {
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    // A directory opens but fails to read (EISDIR).
    if (std::ferror(f)) err = errno ? errno : EIO;
    std::fclose(f);
  }
  if (err) {
    ParseResult r;
    r.config.file = path;
    Diagnostic d;
    d.file = path;
    d.line = 1;
    d.col = 1;
    d.end_col = 2;
    d.message = std::string("cannot read config: ") + std::strerror(err);
    r.diagnostics.push_back(d);
    return r;
  }
  return parse_config(text, path, overrides);
}

std::string config_to_json(const Config& c) {
  std::string out;
  Json j(out);
  j.begin_object();
  j.key("model").begin_object();
  j.field("type", c.model.type).field("vocab", c.model.vocab).field("context", c.model.context);
  j.field("layers", c.model.layers).field("width", c.model.width).field("heads", c.model.heads);
  j.end_object();
  j.key("data").begin_object();
  j.field("source", c.data.source).field("path", c.data.path);
  j.field("val_fraction", c.data.val_fraction).field("seed", c.data.seed);
  j.end_object();
  const TrainConfig& t = c.train;
  j.key("train").begin_object();
  j.field("steps", t.steps).field("batch", t.batch).field("lr", t.lr).field("min_lr", t.min_lr);
  j.field("warmup", t.warmup).field("schedule", t.schedule);
  j.field("weight_decay", t.weight_decay).field("beta1", t.beta1).field("beta2", t.beta2);
  j.field("eps", t.eps).field("grad_clip", t.grad_clip).field("seed", t.seed);
  j.field("threads", t.threads).field("eval_every", t.eval_every);
  j.field("eval_batches", t.eval_batches).field("profile_every", t.profile_every);
  j.field("precision", t.precision).field("checkpoint", checkpoint_text(t));
  j.field("accumulate", t.accumulate).field("device", t.device).field("attention", t.attention);
  j.field("save_every", t.save_every);
  j.end_object();
  j.key("parallel").begin_object();
  j.field("ranks", c.parallel.ranks).field("bucket", c.parallel.bucket);
  j.field("backend", c.parallel.backend);
  j.end_object();
  j.end_object();
  return out;
}

const std::vector<KeyInfo>& key_table() {
  static const std::vector<KeyInfo> table = [] {
    std::vector<KeyInfo> t;
    for (const Spec& s : kSpecs)
      t.push_back({s.section, s.key, type_name(s.type), s.values, s.def, s.doc});
    return t;
  }();
  return table;
}

}  // namespace ts
