// The *.train config language: sections, `key value` lines, `#` comments,
// numbers with units. Grammar and every key: docs/config.md.
//
// One parser serves the trainer CLI and the editor (through the Node addon),
// so the errors a user sees while typing are the ones the trainer would give.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ts {

// 1-based line and column; end_col is one past the last character of the
// offending token (so an editor can underline it). line 0 = not from a file.
struct Diagnostic {
  std::string file;
  int line = 0;
  int col = 0;
  int end_col = 0;
  std::string severity = "error";  // "error" | "warning"
  std::string message;
  std::string key;  // "section.key" the diagnostic is about, "" when none
  // "file:line:col: error: message" (the trainer's stderr form).
  std::string format() const;
};

// Where a key got its value: a line of the file, or a --set override.
struct SourceLoc {
  std::string file;  // config file, or "--set" for a command-line override
  int line = 0;      // 0 = the key was not set (default value)
  int col = 0;       // column of the key
  int value_col = 0; // column of the value
  int end_col = 0;   // one past the value
};

struct ModelConfig {
  std::string type = "gpt";
  int vocab = 256;
  int context = 64;
  int layers = 4;
  int width = 128;
  int heads = 4;
};

struct DataConfig {
  std::string source = "synthetic";  // synthetic | text | tokens
  std::string path;                  // for text / tokens, resolved against the config's folder
  double val_fraction = 0.1;         // held-out share of the token stream
  uint64_t seed = 1234;              // synthetic task generator
};

struct TrainConfig {
  int steps = 200;
  int batch = 8;
  double lr = 1e-3;
  double min_lr = 0.0;
  int warmup = 0;
  std::string schedule = "cosine";   // constant | cosine | onecycle
  double weight_decay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double grad_clip = 1.0;            // global-norm clip; 0 = off
  uint64_t seed = 42;                // init and batch order
  int threads = 0;                   // 0 = all cores
  int eval_every = 0;                // 0 = no validation
  int eval_batches = 4;
  int profile_every = 10;            // span sampling period (steps); 0 = first step only
  std::string precision = "fp32";    // fp32 | bf16 | fp16
  std::string checkpoint = "none";   // none | sqrt | every | layers | budget
  int checkpoint_every = 0;          // checkpoint every K
  // checkpoint layers a-b,c,...: each item is one segment of blocks (first,
  // last inclusive) whose activations are recomputed in backward from the
  // segment's stored input; blocks in no segment keep their activations.
  std::vector<std::pair<int, int>> checkpoint_segments;
  uint64_t checkpoint_budget = 0;    // checkpoint budget SIZE (bytes)
  int accumulate = 1;
  std::string device = "cpu";        // cpu | cuda | auto
  std::string attention = "materialized";  // materialized | fused (GPU, mixed precision)
  int save_every = 0;
};

struct ParallelConfig {
  int ranks = 1;
  uint64_t bucket = 4ull << 20;      // bytes
  std::string backend = "mpi";       // mpi | nccl
};

struct Config {
  std::string file;  // path the config was read from
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
  ParallelConfig parallel;
  // "section.key" -> where it was set; keys absent here took their default.
  std::map<std::string, SourceLoc> where;
};

// One line of the file as the parser read it: a `[section]` header or a key
// line (keys it rejected included). 1-based byte columns, end one past. The
// editor finds keys and values here, where the trainer found them, instead
// of lexing the text a second time.
struct OutlineLine {
  int line = 0;
  bool header = false;
  std::string section;  // the header's name; a key line's section ("" before any header)
  std::string key;      // key lines only
  int col = 0;          // the key's first byte; a header's '['
  int end_col = 0;      // past the key; past a header's ']' (or the line's end without one)
  int value_col = 0;    // the value without a trailing comment or blanks; for a
  int value_end = 0;    // key without a value both are end_col
};

// The parser reports at most this many problems, then one saying it stopped.
constexpr size_t kMaxDiagnostics = 100;

struct ParseResult {
  Config config;
  std::vector<Diagnostic> diagnostics;
  std::vector<OutlineLine> outline;  // the file's header and key lines, in order
  bool ok() const;  // no diagnostic of severity "error"
};

// Parses config text. `file` names it in diagnostics and anchors relative
// data paths. `overrides` are "section.key=value" strings (the CLI's --set),
// applied after the file and checked by the same rules. Cross-key checks
// (heads divides width, ...) run last, on the final values.
ParseResult parse_config(const std::string& text, const std::string& file,
                         const std::vector<std::string>& overrides = {});

// Reads `path` then parse_config; a missing/unreadable file is a diagnostic.
ParseResult load_config(const std::string& path,
                        const std::vector<std::string>& overrides = {});

// A size written as the config language writes one ("24GB", "16GiB",
// "1000" bytes), for command-line options that take sizes
// (--memory-budget). false + err when it is not one.
bool parse_size_text(const std::string& text, uint64_t& bytes, std::string& err);

// The resolved config as a JSON object (every key, defaults included),
// echoed into the run record.
std::string config_to_json(const Config& c);

// One entry of the key table: the single source for parsing, docs, hovers
// and completion.
struct KeyInfo {
  const char* section;
  const char* key;
  const char* type;        // "int" | "number" | "size" | "enum" | "path" | "flag" (takes no
                           // value: data.synthetic) | "word" (train.checkpoint: a mode word
                           // from `values`, then its argument)
  const char* values;      // enum choices "a|b|c", "" otherwise
  const char* default_value;
  const char* doc;         // one sentence for hovers
};
const std::vector<KeyInfo>& key_table();
// The accepted range of an int, number or size key ("train.batch"), from
// the key table; false for keys without one.
bool key_range(const std::string& name, double& lo, double& hi);

// Whether attention can run fused (train.attention fused;
// native/cuda/flash_attention.cuh): under mixed precision, heads of 32 or
// 64, a context in whole 64-token tiles. Here, below the memory model, so
// the parser can reject a config that asks for it on another shape; the
// memory model and the CUDA backend ask the same rule.
// A block then keeps each query's log-sum-exp (B x NH x T floats) instead
// of the B x NH x T x T probabilities.
inline bool flash_attention_fits(bool lowp, uint64_t T, uint64_t C, uint64_t NH) {
  const uint64_t hs = NH ? C / NH : 0;
  return lowp && NH && C % NH == 0 && (hs == 32 || hs == 64) && T % 64 == 0;
}

}  // namespace ts
