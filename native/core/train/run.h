// The training run's state and its stages, shared by trainer.cpp (the
// loop, one step, the records and the end) and setup.cpp (everything before
// step 1). Internal to train/: the rest of the code calls run_training().
#pragma once
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/events.h"
#include "dist/comm.h"
#include "model/alloc.h"
#include "model/backend.h"
#include "plan/memory_model.h"
#include "train/data.h"
#include "train/profiler.h"
#include "train/records.h"
#include "train/step_state.h"
#include "train/trainer.h"

namespace ts {

// The signal (SIGINT, SIGTERM) that asked the run to stop, or 0.
extern volatile std::sig_atomic_t g_signal;

// The phases of one optimizer step, in ms, summed over its micro-batches.
struct PhaseTimes {
  double data = 0, fwd = 0, bwd = 0, optim = 0, comm = 0;
};

class Run {
 public:
  Run(const Config& cfg, const RunOptions& opt) : cfg_(cfg), opt_(opt) {}
  int go();
  // After go(), on every rank: settles a data-parallel run (a rank that
  // failed alone ends the job; the others stop their threads). Returns the
  // exit code.
  int settle(int rc);

 private:
  // Set-up (setup.cpp). Each returns -1 to go on, else the exit code.
  int set_up();
  int open_outputs();
  int choose_device();
  void note_oversubscribed_threads();
  int open_data();
  int build_model();
  int check_memory();
  int check_configs_match();
  int start_parallel();  // docs/distributed.md
  int vote(bool ok);
  // One step (trainer.cpp): -1 to go on, else the exit code (the run's records written).
  int step(int64_t step, Profiler& prof);
  int micro_batches(int64_t step, Profiler& prof, PhaseTimes& ph, double& loss, double& g_small_sq);
  void sync_step(double& loss, double& g_small_sq, int K);
  std::string comm_step(int64_t step, bool sampled, double t_start, double t_wait0, double t_wait1,
                        double t_end);
  // false when a stop signal ended it early (no record, no value).
  bool evaluate(int64_t step, double& val);
  bool eval_stop_agreed();
  bool save_snapshot(int64_t step, std::string& err);  // false + err naming the file
  std::string stream_error();
  bool stop_requested() const { return world_.size > 1 ? stop_signal_ != 0 : g_signal != 0; }
  // Records and the end of the run (trainer.cpp).
  void fail(const Where& w, const std::string& message);
  int fail_before_start(const Where& w, const std::string& message, int exit_code);
  int fail_during_run(const Where& w, const std::string& message, bool local);
  void write_run_record();
  void write_layer_records();
  void measure_end_of_forward();
  // Writes the trace, the summary and the stream's end; false when one of
  // them could not be written (reported).
  bool finish(const char* status);
  std::string summary_json(const char* status, double& ms, double& tps) const;
  bool close_stream();
  // The abort path (world_abort's hook, docs/distributed.md): the records a
  // job ended by MPI_Abort still gets, kept ready after every step.
  void keep_abort_records();
  void write_abort_records(const std::string& message);
  void print_summary(const char* status, double ms, double tps) const;

  const Config& cfg_;
  RunOptions opt_;  // a copy: the output paths depend on the rank
  RunClock clk_;
  EventWriter ev_;
  TraceBuilder trace_;
  int threads_ = 1;
  DeviceInfo device_;
  const CudaBackend* cuda_ = nullptr;  // when the GPU trains
  MemoryPrediction pred_;              // for the device that trains
  // The model's memory (host, or the GPU's through the CUDA backend) and,
  // for GPU runs, the host memory of the token batches.
  std::unique_ptr<Allocator> alloc_, host_alloc_;
  std::unique_ptr<TrainModel> model_;
  std::unique_ptr<Dataset> data_;
  Buffer<int32_t> inputs_, targets_;
  static constexpr size_t kStepWindow = 1000;
  std::vector<double> step_ms_;
  double first_step_ms_ = 0;
  std::vector<uint64_t> act_end_of_forward_;  // per layer, measured on the first step
  NoiseScale noise_;
  LossScaler scaler_{cfg_.train.precision == "fp16"};
  Progress progress_;
  // Data parallelism (docs/distributed.md).
  World world_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<GradReducer> reducer_;
  Watchdog watchdog_;
  std::unique_ptr<TraceSink> sink_;
  std::vector<double> clock_offsets_{0.0};
  bool voted_ = false;          // this rank took part in the start-up vote
  bool agreed_ = false;         // every rank started
  bool local_failure_ = false;  // this rank failed alone: the job must end
  int stop_signal_ = 0;         // a signal some rank got (agreed every step)
  int64_t first_step_ = 1;      // > 1 when resumed
  int64_t last_saved_ = 0;
  std::string resumed_from_;
  bool stream_error_reported_ = false;
  // The summary the abort path writes (status failed, as of the last step
  // on disk) and that step; the main thread refreshes them, the aborting
  // thread reads them.
  std::mutex abort_mu_;
  std::string abort_summary_;
  int64_t abort_step_ = 0;
};

}  // namespace ts
