// Every record the trainer writes to its event stream (docs/events.md), one
// function per record type: the C++ mirror of common/events/schema.ts, so
// a field changes in these two places and docs/events.md. Each function
// returns the record as one line of JSON without the newline; the trainer
// hands it to its EventWriter. The trainer gathers the figures, these
// functions only spell them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "dist/comm.h"
#include "model/alloc.h"
#include "model/backend.h"
#include "plan/memory_model.h"
#include "train/data.h"

namespace ts {

// Where an error points: a config key's value (file, line, column), or
// nowhere in particular (line 0) for failures that no key explains.
struct Where {
  std::string file;
  int line = 0, col = 0;
  std::string key;
};
Where where_of(const Config& cfg, const std::string& key);
// "file:line:col: error: " when w points at a key, else "trainscope-train: error: ".
std::string error_prefix(const Where& w);

// "run": the first record, written once by rank 0.
struct RunFacts {
  const Config* cfg = nullptr;
  const DeviceInfo* device = nullptr;
  const World* world = nullptr;
  const Dataset* data = nullptr;
  const std::vector<LayerInfo>* layers = nullptr;
  const MemoryPrediction* pred = nullptr;
  uint64_t params = 0;
  int threads = 0;
  std::vector<double> clock_offsets_us;
  std::string comm_backend;  // ranks > 1
  uint64_t buckets = 0;      // ranks > 1
  std::string resumed_from;  // "" unless --resume
  int64_t resumed_step = 0;
};
std::string run_record(const RunFacts& f);

// "layer": one per layer after the first step, measured beside predicted.
struct LayerBytesMeasured {
  uint64_t param = 0, grad = 0, optim = 0, act = 0, act_peak = 0, workspace = 0, comm = 0;
};
std::string layer_record(int index, const LayerInfo& layer, const LayerBytesMeasured& measured,
                         const LayerBytes& predicted);

// "span": one layer's phase on a sampled step.
std::string span_record(int rank, int64_t step, int layer, const std::string& name, const char* phase,
                        double t0, double t1);

// "step": one per optimizer step (per rank when ranks > 1).
struct StepFacts {
  int64_t step = 0;
  int rank = -1;  // written when ranks > 1
  double loss = 0, t0 = 0, t1 = 0, lr = 0, grad_norm = 0, ms = 0, tokens_per_s = 0;
  int accumulate = 1;  // written when > 1
  bool loss_scaled = false;  // fp16: loss_scale and skipped are written
  double loss_scale = 1;
  bool skipped = false;
  bool noise_ready = false;
  double noise_scale = 0;
  int suggested_accumulate = 0;
  double data_ms = 0, fwd_ms = 0, bwd_ms = 0, optim_ms = 0;
  bool has_comm = false;  // ranks > 1: phases.comm and the comm object
  double comm_ms = 0;
  bool has_recompute = false;  // a checkpointed run: phases.recompute
  double recompute_ms = 0;
  std::string comm_json;  // step_comm_json(), or ""
  uint64_t live_bytes = 0, peak_bytes = 0;
};
std::string step_record(const StepFacts& f);

// "comm": one bucket's all-reduce; and the step record's "comm" object
// (communication time, the part no compute covered, overlap).
std::string comm_record(int rank, int ranks, const CommRecord& c);
std::string step_comm_json(double total_us, double exposed_us);

// "eval": the validation loss after a step.
std::string eval_record(int64_t step, double val_loss);

// "save": a snapshot written (train.save_every).
std::string save_record(int64_t step, const std::string& path, uint64_t bytes, double ms);

// "error": what failed, and where when a config key explains it; step 0 =
// before or between steps.
std::string error_record(const std::string& message, const Where& w, int64_t step);

// "summary": the last record of every stream.
struct SummaryFacts {
  const char* status = "completed";
  int64_t steps = 0;
  uint64_t tokens = 0;
  bool loss_scaled = false;
  int64_t skipped_steps = 0;
  double loss_scale = 1;
  double first_loss = 0, final_loss = 0;  // written when steps > 0
  double final_val_loss = 0;              // written unless NaN
  double ms_per_step = 0, tokens_per_s = 0, wall_s = 0;
  const Allocator* alloc = nullptr;
  const MemoryPrediction* pred = nullptr;
  uint64_t rss_peak_bytes = 0;
};
std::string summary_record(const SummaryFacts& f);
// The summary of a run that failed before its first step.
std::string failed_summary_record(double wall_s);

}  // namespace ts
