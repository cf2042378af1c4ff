// Tests of the *.train parser: the bad-config table in test/fixtures/bad-configs
// (shared with the Node addon's tests, so its format is fixed), good configs,
// overrides, locations, the key table, and garbage input. Run from the repo root.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "config/config.h"
#include "plan/planner.h"

namespace fs = std::filesystem;
using namespace ts;

using ts::test::expect;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A key's location, or an empty one (line 0) when it was not set.
SourceLoc loc_of(const Config& c, const std::string& key) {
  auto it = c.where.find(key);
  return it == c.where.end() ? SourceLoc{} : it->second;
}

const Diagnostic* first_error(const ParseResult& r) {
  for (const Diagnostic& d : r.diagnostics)
    if (d.severity == "error") return &d;
  return nullptr;
}

std::string all_diagnostics(const ParseResult& r) {
  std::string s;
  for (const Diagnostic& d : r.diagnostics) s += "\n    " + d.format();
  return s.empty() ? " (none)" : s;
}

// Every diagnostic points inside its line, and no line has two.
void check_diagnostic_shape(const ParseResult& r, const std::string& what) {
  std::set<std::pair<std::string, int>> lines;
  for (const Diagnostic& d : r.diagnostics) {
    expect(d.line >= 1 && d.col >= 1 && d.end_col > d.col && !d.message.empty(),
           what + ": malformed diagnostic " + d.format() + " end_col " + std::to_string(d.end_col));
    expect(lines.insert({d.file, d.line}).second,
           what + ": two diagnostics on one line:" + all_diagnostics(r));
  }
}

// ---------------------------------------------------------------------------
// The bad-config table: each file's first line is
//   # expect: LINE:COL: error: MESSAGE-SUBSTRING

void test_bad_config_table() {
  const fs::path dir = "test/fixtures/bad-configs";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".train") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  expect(!ec, "cannot list " + dir.string() + " (run from the repository root)");
  expect(files.size() >= 24, "bad-config table has " + std::to_string(files.size()) +
                                 " fixtures, expected at least 24");

  for (const fs::path& p : files) {
    const std::string text = read_file(p);
    std::string head = text.substr(0, text.find('\n'));
    if (!head.empty() && head.back() == '\r') head.pop_back();
    const std::string prefix = "# expect: ";
    int line = 0, col = 0, used = 0;
    if (head.compare(0, prefix.size(), prefix) != 0 ||
        std::sscanf(head.c_str() + prefix.size(), "%d:%d: error: %n", &line, &col, &used) < 2 ||
        used == 0) {
      expect(false, p.string() + ": first line must be '# expect: LINE:COL: error: MESSAGE'");
      continue;
    }
    const std::string message = head.substr(prefix.size() + size_t(used));

    ParseResult r = parse_config(text, p.string());
    // As the trainer's --check does: a valid config can still ask for a
    // checkpoint budget that no plan fits.
    Diagnostic plan_error;
    if (r.ok() && checkpoint_diagnostic(r.config, plan_error)) r.diagnostics.push_back(plan_error);
    const Diagnostic* d = first_error(r);
    const std::string want =
        std::to_string(line) + ":" + std::to_string(col) + ": error: " + message;
    if (!d) {
      expect(false, p.string() + ": expected " + want + ", got no error");
      continue;
    }
    expect(d->file == p.string() && d->line == line && d->col == col &&
               contains(d->message, message),
           p.string() + ":\n    expected " + want + "\n    got" + all_diagnostics(r));
    expect(!r.ok(), p.string() + ": ok() is true despite an error");
    check_diagnostic_shape(r, p.string());
  }
}

// ---------------------------------------------------------------------------
// Good configs

const char* kExample =
    "# TrainScope config: a small GPT on the synthetic task\n"
    "[model]\n"
    "type gpt\n"
    "vocab 64          # comment after a value\n"
    "context 64\n"
    "layers 4\n"
    "width 128\n"
    "heads 4\n"
    "\n"
    "[data]\n"
    "synthetic         # or: text PATH  /  tokens PATH\n"
    "val_fraction 0.1\n"
    "\n"
    "[train]\n"
    "steps 300\n"
    "batch 8\n"
    "lr 3e-3\n"
    "schedule cosine\n"
    "warmup 20\n"
    "\n"
    "[parallel]\n"
    "ranks 1\n"
    "bucket 4MB\n";

ParseResult parse_ok(const std::string& text, const std::string& what,
                     const std::vector<std::string>& overrides = {},
                     const std::string& file = "configs/run.train") {
  ParseResult r = parse_config(text, file, overrides);
  expect(r.ok(), what + ": unexpected diagnostics:" + all_diagnostics(r));
  return r;
}

void test_example() {
  ParseResult r = parse_ok(kExample, "example");
  const Config& c = r.config;
  expect(c.file == "configs/run.train", "example: file");
  expect(c.model.vocab == 64 && c.model.context == 64 && c.model.layers == 4 &&
             c.model.width == 128 && c.model.heads == 4,
         "example: model values");
  expect(c.data.source == "synthetic" && c.data.path.empty() && c.data.val_fraction == 0.1,
         "example: data values");
  expect(c.train.steps == 300 && c.train.batch == 8 && c.train.lr == 3e-3 &&
             c.train.schedule == "cosine" && c.train.warmup == 20,
         "example: train values");
  expect(c.parallel.ranks == 1 && c.parallel.bucket == 4000000, "example: parallel values");
  // Keys left out keep their defaults.
  expect(c.train.beta2 == 0.95 && c.train.eval_batches == 4 && c.data.seed == 1234,
         "example: defaults");
}

void test_values() {
  ParseResult r = parse_ok(
      "[parallel]\nbucket 512MB\n[train]\nlr 3e-4\nmin_lr 1.5e-5\nweight_decay .1\n"
      "beta1 0\n",
      "values");
  expect(r.config.parallel.bucket == 512000000ull, "512MB = 512e6 bytes");
  expect(r.config.train.lr == 3e-4, "lr 3e-4");
  expect(r.config.train.min_lr == 1.5e-5, "min_lr 1.5e-5");
  expect(r.config.train.weight_decay == 0.1, "weight_decay .1");
  expect(r.config.train.beta1 == 0.0, "beta1 0");

  struct {
    const char* text;
    uint64_t bytes;
  } sizes[] = {
      {"2GiB", 1ull << 31}, {"1.5KiB", 1536},      {"1000", 1000},     {"1KB", 1000},
      {"3TB", 3000000000000ull}, {"1TiB", 1ull << 40}, {"64MiB", 64ull << 20}, {"1.1MB", 1100000},
  };
  for (const auto& s : sizes) {
    ParseResult rs = parse_ok(std::string("[parallel]\nbucket ") + s.text + "\n", s.text);
    expect(rs.config.parallel.bucket == s.bytes,
           std::string("bucket ") + s.text + " = " + std::to_string(rs.config.parallel.bucket));
  }

  // 64-bit seeds survive.
  ParseResult rseed = parse_ok("[train]\nseed 9223372036854775807\n", "big seed");
  expect(rseed.config.train.seed == 9223372036854775807ull, "seed int64 max");
}

void test_comments_and_layout() {
  ParseResult r = parse_ok(
      "# header comment\n"
      "\n"
      "[model]   # a comment after a header\n"
      "   layers 2   # indented key\n"
      "\twidth 64\t# tab before the comment\n"
      "[data]\n"
      "text data#1.txt # '#' inside a value needs no escape\n"
      "[model]\n"
      "heads 2  # a section may appear twice\n",
      "layout");
  expect(r.config.model.layers == 2 && r.config.model.width == 64 && r.config.model.heads == 2,
         "layout: model values");
  expect(r.config.data.source == "text" && r.config.data.path == "configs/data#1.txt",
         "layout: path with '#' = " + r.config.data.path);

  // CRLF and a UTF-8 byte-order mark read the same as LF.
  std::string crlf = kExample;
  for (size_t i = 0; (i = crlf.find('\n', i)) != std::string::npos; i += 2) crlf.insert(i, "\r");
  ParseResult lf = parse_ok(kExample, "lf");
  ParseResult rn = parse_ok(crlf, "crlf");
  ParseResult bom = parse_ok("\xEF\xBB\xBF" + crlf, "bom");
  expect(config_to_json(lf.config) == config_to_json(rn.config), "CRLF parses like LF");
  expect(config_to_json(lf.config) == config_to_json(bom.config), "BOM parses like no BOM");
  expect(loc_of(rn.config, "train.lr").end_col == 8, "CRLF: '\\r' is not part of the value");
  expect(loc_of(bom.config, "model.type").col == 1, "BOM: columns start after it");

  // Empty text: all defaults.
  ParseResult empty = parse_ok("", "empty");
  expect(config_to_json(empty.config) == config_to_json(Config{}), "empty config = defaults");
  expect(empty.config.where.empty(), "empty config sets no keys");
}

void test_where() {
  ParseResult r = parse_ok(kExample, "where");
  const auto& w = r.config.where;
  SourceLoc vocab = loc_of(r.config, "model.vocab");
  expect(vocab.file == "configs/run.train" && vocab.line == 4 && vocab.col == 1 &&
             vocab.value_col == 7 && vocab.end_col == 9,
         "where model.vocab = 4:1 value 7..9");
  SourceLoc lr = loc_of(r.config, "train.lr");
  expect(lr.line == 17 && lr.value_col == 4 && lr.end_col == 8, "where train.lr");
  SourceLoc syn = loc_of(r.config, "data.synthetic");
  expect(syn.line == 11 && syn.col == 1, "where data.synthetic");
  expect(w.count("train.beta1") == 0, "unset key absent from where");
  expect(w.size() == 15, "where has 15 keys, got " + std::to_string(w.size()));
}

void test_paths() {
  struct {
    const char* file;
    const char* line;
    const char* path;
  } cases[] = {
      {"configs/run.train", "text data/a.txt", "configs/data/a.txt"},
      {"configs/run.train", "tokens /abs/train.bin", "/abs/train.bin"},
      {"configs/run.train", "text \"my corpus.txt\"  # quoted", "configs/my corpus.txt"},
      {"configs/run.train", "text \"a # b.txt\"", "configs/a # b.txt"},
      {"configs/run.train", "text C:\\data\\a.txt", "C:\\data\\a.txt"},
      {"run.train", "text data/a.txt", "data/a.txt"},
      {"/home/u/x/run.train", "tokens ../t.bin", "/home/u/x/../t.bin"},
      {"C:\\cfg\\run.train", "text a.txt", "C:\\cfg\\a.txt"},
  };
  for (const auto& c : cases) {
    ParseResult r = parse_ok(std::string("[data]\n") + c.line + "\n", c.line, {}, c.file);
    expect(r.config.data.path == c.path,
           std::string(c.line) + " in " + c.file + ": path " + r.config.data.path);
  }
  ParseResult t = parse_ok("[data]\ntokens x.bin\n", "tokens");
  expect(t.config.data.source == "tokens", "tokens source");
}

void test_overrides() {
  const std::string file = "[train]\nsteps 100\nlr 1e-3\n";
  ParseResult r = parse_ok(file, "override", {"train.steps=20", "model.layers = 2"});
  expect(r.config.train.steps == 20, "override wins over the file");
  expect(r.config.model.layers == 2, "override with spaces around the value");
  const SourceLoc s = loc_of(r.config, "train.steps");
  expect(s.file == "--set" && s.line == 1 && s.col == 7 && s.value_col == 13 && s.end_col == 15,
         "override location");
  expect(loc_of(r.config, "model.layers").line == 2, "second override is line 2");

  // Later overrides replace earlier ones.
  ParseResult twice = parse_ok(file, "twice", {"train.steps=20", "train.steps=30"});
  expect(twice.config.train.steps == 30, "last override wins");

  // Overriding the data source replaces the file's.
  ParseResult src = parse_ok("[data]\nsynthetic\n", "source", {"data.text=corpus.txt"});
  expect(src.config.data.source == "text" && src.config.data.path == "configs/corpus.txt" &&
             src.config.where.count("data.synthetic") == 0,
         "override data source");

  struct {
    std::vector<std::string> overrides;
    int line, col;
    const char* message;
  } bad[] = {
      {{"train.steps=20", "train.lr=fast"}, 2, 10, "train.lr: expected a number, got 'fast'"},
      {{"steps20"}, 1, 1, "--set expects section.key=value, got 'steps20'"},
      {{"steps=20"}, 1, 1, "--set expects section.key=value, got 'steps=20'"},
      {{"trian.steps=3"}, 1, 1, "unknown section 'trian' (did you mean 'train'?)"},
      {{"train.stesp=3"}, 1, 7, "unknown key 'stesp' in [train] (did you mean 'steps'?)"},
      {{"model.lr=3"}, 1, 7, "'lr' belongs in [train], not [model]"},
      {{"train.steps="}, 1, 7, "train.steps needs a value"},
      {{"train.device=cuda", "parallel.ranks=2"}, 2, 16, "parallel.ranks 2 is not built yet: with train.device cuda"},
      {{"train.warmup=100"}, 1, 14, "train.warmup 100 must be less than train.steps 100"},
  };
  for (const auto& b : bad) {
    ParseResult rb = parse_config(file, "configs/run.train", b.overrides);
    const Diagnostic* d = first_error(rb);
    expect(d && d->file == "--set" && d->line == b.line && d->col == b.col &&
               contains(d->message, b.message),
           "override " + b.overrides.back() + ": expected --set:" + std::to_string(b.line) + ":" +
               std::to_string(b.col) + ": " + b.message + ", got" + all_diagnostics(rb));
  }

  // A bad override does not hide bad file lines, and file lines come first.
  ParseResult both = parse_config("[train]\nsteps x\n", "a.train", {"train.lr=y"});
  expect(both.diagnostics.size() == 2 && both.diagnostics[0].file == "a.train" &&
             both.diagnostics[1].file == "--set",
         "file and override errors, file first:" + all_diagnostics(both));
}

void test_errors_keep_going() {
  ParseResult r = parse_config(
      "[model]\nlayers x\nwidth 130\nheads 4\n[train]\nsteps 1.5\ndevice cuda\nlr 2\n[parallel]\nranks 2\n",
      "a.train");
  // Per-line errors on lines 2 and 6 plus the not-built one on line 10; the
  // width/heads rule is skipped because values are partly defaults.
  expect(r.diagnostics.size() == 3, "keeps going after errors:" + all_diagnostics(r));
  if (r.diagnostics.size() == 3) {
    expect(r.diagnostics[0].line == 2 && r.diagnostics[1].line == 6 &&
               r.diagnostics[2].line == 10,
           "error lines in order:" + all_diagnostics(r));
    expect(r.diagnostics[0].key == "model.layers", "diagnostic key");
  }
  expect(r.config.train.lr == 2, "good lines still apply after bad ones");

  Diagnostic d;
  d.file = "a.train";
  d.line = 3;
  d.col = 7;
  d.message = "train.steps: expected an integer, got '1.5'";
  expect(d.format() == "a.train:3:7: error: train.steps: expected an integer, got '1.5'",
         "format: " + d.format());
  d.severity = "warning";
  expect(d.format() == "a.train:3:7: warning: train.steps: expected an integer, got '1.5'",
         "format warning");

  // Cross-key errors point at the value and name the key.
  ParseResult x = parse_config("[model]\nwidth 130\nheads 4\n", "a.train");
  expect(x.diagnostics.size() == 1 && x.diagnostics[0].key == "model.heads" &&
             x.diagnostics[0].col == 7 && x.diagnostics[0].end_col == 8,
         "cross-key location:" + all_diagnostics(x));
}

void test_checkpoint_forms() {
  struct {
    const char* value;
    const char* json;
  } forms[] = {
      {"none", "\"checkpoint\":\"none\""},
      {"sqrt", "\"checkpoint\":\"sqrt\""},
      {"every 2", "\"checkpoint\":\"every 2\""},
      {"layers 1,3", "\"checkpoint\":\"layers 1,3\""},
      {"layers 0-1,3", "\"checkpoint\":\"layers 0-1,3\""},
      {"layers 0, 2 ,3", "\"checkpoint\":\"layers 0,2,3\""},
      {"budget 512MiB", "\"checkpoint\":\"budget 536870912\""},
  };
  for (const auto& f : forms) {
    ParseResult r = parse_config(std::string("[train]\ncheckpoint ") + f.value + "\n", "a.train");
    expect(r.ok(), std::string("checkpoint ") + f.value + ":" + all_diagnostics(r));
    std::string json = config_to_json(r.config);
    expect(contains(json, f.json), std::string("checkpoint ") + f.value + " json: " + json);
  }
  ParseResult every = parse_config("[train]\ncheckpoint every 3\n", "a.train");
  expect(every.config.train.checkpoint == "every" && every.config.train.checkpoint_every == 3,
         "checkpoint every fills checkpoint_every");
  ParseResult layers = parse_config("[train]\ncheckpoint layers 0,2\n", "a.train");
  expect(layers.config.train.checkpoint_segments == std::vector<std::pair<int, int>>{{0, 0}, {2, 2}},
         "checkpoint layers fills checkpoint_segments");
  ParseResult ranges = parse_config("[model]\nlayers 8\n[train]\ncheckpoint layers 0-2, 3-5,7\n", "a.train");
  expect(ranges.config.train.checkpoint_segments ==
             std::vector<std::pair<int, int>>{{0, 2}, {3, 5}, {7, 7}},
         "checkpoint layers takes ranges as segments");
  ParseResult budget = parse_config("[train]\ncheckpoint budget 2GB\n", "a.train");
  expect(budget.config.train.checkpoint_budget == 2000000000ull,
         "checkpoint budget fills checkpoint_budget");
}

void test_json() {
  Config c;
  std::string json = config_to_json(c);
  expect(json.front() == '{' && json.back() == '}', "json is an object: " + json);
  int depth = 0;
  bool in_string = false, balanced = true;
  for (size_t i = 0; i < json.size(); ++i) {
    char ch = json[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '{') {
      ++depth;
    } else if (ch == '}') {
      if (--depth < 0) balanced = false;
    }
  }
  expect(balanced && depth == 0 && !in_string, "json braces and quotes balance: " + json);
  for (const char* part :
       {"\"model\":{", "\"data\":{", "\"train\":{", "\"parallel\":{", "\"vocab\":256",
        "\"source\":\"synthetic\"", "\"lr\":0.001", "\"schedule\":\"cosine\"",
        "\"checkpoint\":\"none\"", "\"bucket\":4194304", "\"backend\":\"mpi\"", "\"seed\":42",
        "\"seed\":1234", "\"val_fraction\":0.1"})
    expect(contains(json, part), std::string("json contains ") + part + ": " + json);
  // Every non-data key of the table appears in the JSON.
  for (const KeyInfo& k : key_table())
    if (std::string(k.section) != "data")
      expect(contains(json, "\"" + std::string(k.key) + "\":"),
             std::string("json has key ") + k.key);

}

void test_key_table() {
  const std::vector<KeyInfo>& table = key_table();
  expect(table.size() == 36, "key table has 36 keys, got " + std::to_string(table.size()));
  const std::string defaults = config_to_json(Config{});
  const std::string docs = read_file("docs/config.md");
  expect(!docs.empty(), "docs/config.md is readable");
  std::set<std::string> names;
  for (const KeyInfo& k : table) {
    const std::string name = std::string(k.section) + "." + k.key;
    expect(names.insert(name).second, "duplicate key " + name);
    const std::string type = k.type;
    expect(type == "int" || type == "number" || type == "size" || type == "enum" ||
               type == "path" || type == "flag" || type == "word",
           name + ": type " + type);
    expect((type == "enum" || type == "word") == (k.values[0] != 0), name + ": values");
    expect(std::string(k.doc).size() > 10, name + ": doc");
    // The documented default is the struct's default.
    if (k.default_value[0]) {
      ParseResult r = parse_config("", "a.train", {name + "=" + k.default_value});
      expect(r.ok() && config_to_json(r.config) == defaults,
             name + ": default '" + k.default_value + "' differs from Config's" +
                 all_diagnostics(r));
    }
    // Every enum choice parses; unbuilt ones say so.
    std::string values = k.values;
    if (type == "enum") {
      std::stringstream ss(values);
      std::string choice;
      while (std::getline(ss, choice, '|')) {
        // A choice that needs other settings gets them too.
        std::vector<std::string> ov = {name + "=" + choice};
        if (ov[0] == "train.attention=fused") ov = {"train.device=cuda", "train.precision=bf16", ov[0]};
        ParseResult r = parse_config("", "a.train", ov);
        const Diagnostic* d = first_error(r);
        expect(!d || contains(d->message, "is not built yet"),
               name + " " + choice + ":" + all_diagnostics(r));
      }
    }
    // docs/config.md documents every key with the same hover sentence.
    expect(contains(docs, "| `" + std::string(k.key) + "` |"),
           "docs/config.md lacks a row for " + name);
    expect(contains(docs, k.doc), "docs/config.md lacks the doc of " + name + ": " + k.doc);
  }
}

void test_load_config() {
  ParseResult missing = load_config("no/such/dir/run.train");
  const Diagnostic* d = first_error(missing);
  expect(d && d->file == "no/such/dir/run.train" && d->line == 1 && d->col == 1 &&
             contains(d->message, "cannot read config: ") &&
             contains(d->message, "No such file"),
         "load_config of a missing file:" + all_diagnostics(missing));

  ParseResult dir = load_config("test");
  expect(!dir.ok() && contains(dir.diagnostics[0].message, "cannot read config: "),
         "load_config of a directory:" + all_diagnostics(dir));

  const fs::path tmp = fs::temp_directory_path() / "trainscope_test_config.train";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << kExample << "[data]\n";  // a second [data] is fine; no duplicate keys
  }
  ParseResult r = load_config(tmp.string(), {"train.steps=50"});
  expect(r.ok() && r.config.train.steps == 50 && r.config.file == tmp.string(),
         "load_config of a file:" + all_diagnostics(r));
  fs::remove(tmp);
}

// ---------------------------------------------------------------------------
// Garbage in: never crash, never throw, diagnostics stay well-formed.

uint64_t g_rng = 0x9E3779B97F4A7C15ull;
uint32_t next_random() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return uint32_t(g_rng);
}

void check_garbage(const std::string& text, const std::vector<std::string>& overrides,
                   const std::string& what) {
  ParseResult r = parse_config(text, "g.train", overrides);
  check_diagnostic_shape(r, what);
  if (r.ok()) {
    const Config& c = r.config;
    expect(c.model.width % c.model.heads == 0 && c.train.warmup < c.train.steps &&
               c.train.min_lr <= c.train.lr && std::isfinite(c.train.lr) &&
               c.parallel.bucket >= 1000,
           what + ": accepted an invalid config: " + config_to_json(c));
  }
  config_to_json(r.config);  // whatever was accepted must serialise
}

void test_garbage() {
  check_garbage(std::string("\0\0[\0]\n\0 \0\n", 11), {}, "NUL bytes");
  check_garbage("[train]\nlr 1e999\nsteps 1e999\nmin_lr -1e999\n", {}, "huge numbers");
  check_garbage("[parallel]\nbucket 1e999TiB\n", {}, "huge size");
  check_garbage("[model]\nvocab -99999999999999999999999999999\n", {}, "huge negative");
  check_garbage(std::string(1 << 20, 'x'), {}, "long key");
  check_garbage("[train]\nlr " + std::string(1 << 20, '9') + "\n", {}, "long number");
  check_garbage("[" + std::string(1 << 20, 't') + "]\n", {}, "long section");
  check_garbage("[[[[]]]]\n]\n[\n\"\n\"\"\n#\n[data]\ntext \"\ntext \"\"\n", {}, "brackets/quotes");
  check_garbage("[train]\ncheckpoint layers ,,,\ncheckpoint\n", {}, "checkpoint junk");
  check_garbage("[train]\ncheckpoint layers 99999999999999999999\n", {}, "huge layer");
  check_garbage("", {"", "=", ".", "a.=", ".b=", "train.=1", "train.lr=\xff\xfe"}, "overrides");

  const std::string base = kExample;
  const char alphabet[] = "[]#\"=.,: \t\r\n0123456789eE-+abcdefghijklmnopqrstuvwxyzMBGKi\x00\xff";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text = base;
    int edits = 1 + int(next_random() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t pos = next_random() % (text.size() + 1);
      char ch = alphabet[next_random() % (sizeof alphabet - 1)];
      switch (next_random() % 3) {
        case 0: if (pos < text.size()) text[pos] = ch; break;
        case 1: text.insert(pos, 1, ch); break;
        case 2: if (pos < text.size()) text.erase(pos, 1); break;
      }
    }
    check_garbage(text, {}, "mutation " + std::to_string(iter));
  }
  for (int iter = 0; iter < 300; ++iter) {
    std::string bytes(next_random() % 200, '\0');
    for (char& ch : bytes) ch = char(next_random());
    check_garbage(bytes, {bytes}, "random bytes " + std::to_string(iter));
  }
}

}  // namespace

int main() {
  test::quiet_unless_verbose();
  test_bad_config_table();
  test_example();
  test_values();
  test_comments_and_layout();
  test_where();
  test_paths();
  test_overrides();
  test_errors_keep_going();
  test_checkpoint_forms();
  test_json();
  test_key_table();
  test_load_config();
  test_garbage();
  return test::report("test_config");
}
