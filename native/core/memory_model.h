// The analytic memory model: what a config will allocate, per layer and
// category, computed from the config alone (no model is built). The trainer
// reports it beside the allocator's measurements; the editor shows it before
// anything runs. It must agree with the allocator exactly for parameters,
// gradients and optimizer state, and within 1% for activations (5% under
// any checkpoint plan).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace ts {

using Segments = std::vector<std::pair<int, int>>;

struct LayerBytes {
  std::string name;     // "embed", "block.0", ..., "head"
  uint64_t params = 0;  // elements
  uint64_t param = 0, grad = 0, optim = 0;  // bytes
  uint64_t act = 0;       // activation bytes the layer holds at the end of the forward pass
  uint64_t act_full = 0;  // all its activations (live at once in its forward or recompute)
  uint64_t workspace = 0; // its largest backward scratch
  bool checkpointed = false;   // recomputes its forward in backward
  bool segment_start = false;  // first block of a checkpoint segment
};

struct MemoryPrediction {
  std::vector<LayerBytes> layers;
  uint64_t param = 0, grad = 0, optim = 0;  // totals
  uint64_t act_end_of_forward = 0;  // activations live when the forward pass ends
  uint64_t peak_act = 0;        // the step's peak of live activation bytes
  uint64_t peak_workspace = 0;  // largest workspace live at once (in backward)
  uint64_t peak = 0;            // the whole step's peak: states + activations + workspace
  uint64_t params_total = 0;    // elements
  Segments segments;            // the checkpoint plan the prediction assumes
  std::string checkpoint;       // ... in config-language form ("none", "layers 0-2,3-5")
  double recompute_flops = 0;   // extra forward FLOPs per step of that plan
  double step_flops = 0;        // FLOPs of a step without recompute
  std::string error;            // why the config's checkpoint setting could not be planned
};

// Under the config's own checkpoint setting (resolved by the planner).
MemoryPrediction predict_memory(const Config& c, int elem_bytes = 4);
// Under an explicit plan.
MemoryPrediction predict_memory(const Config& c, const Segments& segments, int elem_bytes = 4);

// As JSON, for the run record and the addon.
std::string memory_prediction_to_json(const MemoryPrediction& p);

}  // namespace ts
