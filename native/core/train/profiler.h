// The run's clock and the per-layer profiler. Spans are recorded only on
// sampled steps: a span costs two clock reads and a couple of string
// appends, but thousands a step would still show up in the step time of a
// small model. Recompute time is measured on every step (a handful of clock
// reads), since backward is reported without it.
#pragma once
#include <chrono>
#include <cstdint>
#include <vector>

#include "base/events.h"
#include "dist/comm.h"
#include "model/alloc.h"
#include "model/model.h"

namespace ts {

using Clock = std::chrono::steady_clock;

// Microseconds since the run started; data-parallel runs shift `start`
// onto rank 0's origin.
struct RunClock {
  Clock::time_point start = Clock::now();
  double us() const {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
};

class Profiler : public LayerObserver {
 public:
  Profiler(const RunClock& clk, const std::vector<LayerInfo>& layers, EventWriter& ev,
           TraceSink& trace, Allocator& alloc);
  void set_step(int64_t step, bool sampled);
  // Recompute time of the step so far.
  double recompute_ms() const { return recompute_us_ / 1e3; }
  // GPU runs: the backend reports each span from its CUDA events (span()),
  // so begin()/end(), called when the work is queued, time nothing.
  void set_timed_by_device(bool on) { timed_by_device_ = on; }
  bool sampled() const { return sampled_; }
  void begin(int layer, Phase phase) override;
  void end(int layer, Phase phase) override;
  double now_us() const override { return clk_.us(); }
  void span(int layer, Phase phase, double t0, double t1) override;

 private:
  static constexpr int kNumPhases = 5;  // fwd, bwd, optim, recompute, comm (model.h's Phase)
  const RunClock& clk_;
  const std::vector<LayerInfo>& layers_;
  EventWriter& ev_;
  TraceSink& trace_;
  Allocator& alloc_;
  std::vector<double> t0_;
  int64_t step_ = 0;
  bool sampled_ = false;
  bool timed_by_device_ = false;
  double recompute_us_ = 0;
};

}  // namespace ts
