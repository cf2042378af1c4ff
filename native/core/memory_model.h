// The analytic memory model: what a config will allocate, per layer and
// category, computed from the config alone (no model is built). The trainer
// reports it beside the allocator's measurements; the editor shows it before
// anything runs. It must agree with the allocator exactly for parameters,
// gradients and optimizer state, and within 1% for activations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

namespace ts {

struct LayerBytes {
  std::string name;   // "embed", "block.0", ..., "head"
  uint64_t params = 0;  // elements
  uint64_t param = 0, grad = 0, optim = 0, act = 0, workspace = 0;  // bytes
};

struct MemoryPrediction {
  std::vector<LayerBytes> layers;
  uint64_t param = 0, grad = 0, optim = 0;  // totals
  uint64_t peak_act = 0;        // activations live at the end of the forward pass
  uint64_t peak_workspace = 0;  // largest workspace live at once (in backward)
  uint64_t peak = 0;            // the whole step's peak: states + activations + workspace
  uint64_t params_total = 0;    // elements
};

// elem_bytes: bytes per element of the model's float type (4 for fp32).
MemoryPrediction predict_memory(const Config& c, int elem_bytes = 4);

// As JSON, for the run record and the addon.
std::string memory_prediction_to_json(const MemoryPrediction& p);

}  // namespace ts
