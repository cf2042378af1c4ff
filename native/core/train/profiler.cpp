#include "train/profiler.h"

#include "train/records.h"

namespace ts {

Profiler::Profiler(const RunClock& clk, const std::vector<LayerInfo>& layers, EventWriter& ev,
                   TraceSink& trace, Allocator& alloc)
    : clk_(clk), layers_(layers), ev_(ev), trace_(trace), alloc_(alloc),
      t0_(layers.size() * kNumPhases, 0.0) {}

void Profiler::set_step(int64_t step, bool sampled) {
  step_ = step;
  sampled_ = sampled;
  recompute_us_ = 0;
}

void Profiler::begin(int layer, Phase phase) {
  if (timed_by_device_) return;
  if (sampled_ || phase == Phase::recompute) t0_[size_t(layer) * kNumPhases + int(phase)] = clk_.us();
}

void Profiler::end(int layer, Phase phase) {
  if (timed_by_device_ || (!sampled_ && phase != Phase::recompute)) return;
  span(layer, phase, t0_[size_t(layer) * kNumPhases + int(phase)], clk_.us());
}

void Profiler::span(int layer, Phase phase, double t0, double t1) {
  if (phase == Phase::recompute) recompute_us_ += t1 - t0;
  if (!sampled_) return;
  const std::string& name = layers_[layer].name;
  ev_.record(span_record(trace_.rank(), step_, layer, name, phase_name(phase), t0, t1));
  trace_.span({trace_.rank(), 1, name + " " + phase_name(phase), phase_name(phase), t0, t1, step_, layer});
  trace_.counter({trace_.rank(), "memory (MB)", t1,
                  {{"act", alloc_.category(Cat::act).live / 1e6},
                   {"workspace", alloc_.category(Cat::workspace).live / 1e6}}});
}

}  // namespace ts
