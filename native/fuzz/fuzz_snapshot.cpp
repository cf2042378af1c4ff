// libFuzzer target: the saved state --resume reads (train/snapshot.h),
// through load_snapshot and the trainer's restore_state, into a tiny fp16
// model (so the loss scaler's state is read too).
//
// Structure-aware: a mutated byte almost always fails a checksum, which
// would leave everything past the checksums unfuzzed. So the custom
// mutator turns an input that is not a snapshot into the valid one this
// target writes at start-up, mutates it, and then (three times in four)
// reseals it: recomputes every section's FNV-1a and the header's, as a
// writer that is not this trainer would. The unsealed quarter keeps the
// checksum refusals covered.
//
// What counts as a failure: a crash, a sanitizer report, a hang, an error
// that does not name the file, or a snapshot accepted with a negative step.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/alloc.h"
#include "model/backend.h"
#include "model/lowp.h"
#include "plan/planner.h"
#include "harness.h"
#include "train/snapshot.h"
#include "train/step_state.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

[[noreturn]] void broken(const char* what) { ts::fuzz::broken("fuzz_snapshot", what); }

// The file layout of train/snapshot.h.
constexpr char kMagic[8] = {'T', 'S', 'C', 'K', 'P', 'T', '\r', '\n'};
constexpr size_t kHeaderBytes = 48, kNameBytes = 48, kEntryBytes = 72;

struct Target {
  ts::Config cfg;
  std::unique_ptr<ts::Allocator> alloc;
  std::unique_ptr<ts::TrainModel> model;
  std::string path;
  std::string seed;  // a valid snapshot of the model
};

Target& target() {
  static Target* t = [] {
    auto* t = new Target;
    const ts::ParseResult r = ts::parse_config(
        "[model]\nvocab 8\ncontext 2\nlayers 1\nwidth 4\nheads 1\n[train]\nbatch 1\nsteps 100\nprecision fp16\n",
        "fuzz.train");
    if (!r.ok()) broken("the target's own config is refused");
    t->cfg = r.config;
    const ts::MemoryPrediction pred = ts::predict_memory(t->cfg);
    t->alloc.reset(new ts::Allocator(t->cfg.model.layers + 2));
    t->model = ts::make_cpu_model(t->cfg.model, t->cfg.train.batch, *t->alloc, t->cfg.train.seed, pred.segments,
                                  ts::precision_from_name(t->cfg.train.precision));
    t->path = ts::fuzz::scratch_file("fuzz_snapshot", "snapshot.bin");
    ts::Progress p;
    p.steps_done = 7;
    p.tokens_done = 14;
    p.first_loss = 2.1;
    p.last_loss = 1.9;
    const ts::LossScaler scaler(true);
    std::string err;
    if (!ts::save_snapshot(t->path, t->cfg, *t->model, 7, ts::snapshot_state(7, t->cfg, 1, p, ts::NoiseScale(), scaler),
                           err))
      broken("cannot write the seed snapshot");
    std::ifstream in(t->path, std::ios::binary);
    t->seed.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return t;
  }();
  return *t;
}

uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Recomputes the checksums of whatever sections lie inside the input, then
// the header's (computed with its own field zero).
void reseal(uint8_t* data, size_t size) {
  if (size < kHeaderBytes || std::memcmp(data, kMagic, 8) != 0) return;
  uint32_t n;
  std::memcpy(&n, data + 36, 4);
  if (n > (size - kHeaderBytes) / kEntryBytes) return;
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t* e = data + kHeaderBytes + size_t(i) * kEntryBytes;
    const uint64_t off = get64(e + kNameBytes), bytes = get64(e + kNameBytes + 8);
    if (off > size || bytes > size - off) continue;
    const uint64_t h = ts::fnv1a64(data + off, size_t(bytes));
    std::memcpy(e + kNameBytes + 16, &h, 8);
  }
  std::memset(data + 40, 0, 8);
  const uint64_t h = ts::fnv1a64(data, kHeaderBytes + size_t(n) * kEntryBytes);
  std::memcpy(data + 40, &h, 8);
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  const std::string& good = target().seed;
  if ((size < 8 || std::memcmp(data, kMagic, 8) != 0) && seed % 8 != 0 && good.size() <= max_size) {
    std::memcpy(data, good.data(), good.size());
    size = good.size();
  }
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 4 != 0) reseal(data, size);
  return size;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Target& t = target();
  ts::fuzz::write_file("fuzz_snapshot", t.path, data, size);
  int64_t step = -1;
  std::map<std::string, std::string> state;
  std::vector<std::string> warnings;
  std::string err;
  if (!ts::load_snapshot(t.path, t.cfg, *t.model, step, state, warnings, err)) {
    if (err.find(t.path) == std::string::npos) broken("a snapshot error that does not name the file");
    return 0;
  }
  if (step < 0) broken("a snapshot accepted with a negative step");
  ts::Progress p;
  ts::NoiseScale noise;
  ts::LossScaler scaler(true);
  if (!ts::restore_state(state, step, p, noise, scaler, err)) {
    if (err.find("state key '") == std::string::npos) broken("a state error that does not name the key");
    return 0;
  }
  if (!(scaler.scale() > 0) || p.optimizer_steps < 0 || p.skipped_steps < 0) broken("a restored state out of range");
  return 0;
}
