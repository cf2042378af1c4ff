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

#include "config/config.h"
#include "plan/segments.h"

namespace ts {

struct LayerBytes {
  std::string name;     // "embed", "block.0", ..., "head"
  uint64_t params = 0;  // elements
  uint64_t param = 0, grad = 0, optim = 0;  // bytes
  uint64_t act = 0;       // activation bytes the layer holds at the end of the forward pass
  uint64_t act_full = 0;  // all its activations (live at once in its forward or recompute)
  uint64_t workspace = 0; // its largest backward scratch
  uint64_t comm = 0;      // communication buffers charged to it (layer 0: the all-reduce's staging)
  bool checkpointed = false;   // recomputes its forward in backward
  bool segment_start = false;  // first block of a checkpoint segment
};

struct MemoryPrediction {
  std::vector<LayerBytes> layers;
  uint64_t param = 0, grad = 0, optim = 0;  // totals
  uint64_t act_end_of_forward = 0;  // activations live when the forward pass ends
  uint64_t peak_act = 0;        // the step's peak of live activation bytes
  uint64_t peak_workspace = 0;  // largest workspace live at once (in backward)
  uint64_t comm = 0;            // communication buffers, live the whole run (ranks > 1)
  uint64_t peak = 0;            // the whole step's peak: states + comm + activations + workspace
  uint64_t params_total = 0;    // elements
  Segments segments;            // the checkpoint plan the prediction assumes
  std::string checkpoint;       // ... in config-language form ("none", "layers 0-2,3-5")
  double recompute_flops = 0;   // extra forward FLOPs per step of that plan
  double step_flops = 0;        // FLOPs of a step without recompute
  std::string error;            // why the config's checkpoint setting could not be planned
};

// `device` is the backend whose allocations are predicted: "cpu" or "cuda"
// (the CUDA backend keeps the same activations but other scratch: 16-bit
// weight copies, cuBLAS's workspace, whole-batch attention tiles, padded
// logits). "" = from the config: cuda when train.device is cuda, else cpu
// (the trainer passes the device it chose, also for `auto`).
//
// Under an explicit plan; under the config's own train.checkpoint setting
// it is the planner's predict_memory (plan/planner.h), which resolves the
// plan first.
MemoryPrediction predict_memory(const Config& c, const Segments& segments, int elem_bytes = 4,
                                const std::string& device = "");

// What the CUDA backend allocates beyond the CPU's layout, shared by the
// memory model and the backend (native/cuda/gpt_cuda.cu) so they agree.
struct CudaFootprint {
  static constexpr uint64_t kBlasWorkspace = uint64_t(32) << 20;  // cuBLAS's workspace
  static constexpr uint64_t kColChunks = 32;      // column-sum partials: chunks x widest row
  static constexpr uint64_t kSumSqBlocks = 256;   // gradient-norm partials per layer
  // The logits' row stride: the vocabulary rounded up to 64.
  static uint64_t padded_vocab(uint64_t V) { return (V + 63) / 64 * 64; }
  // Distinct tokens of a batch, at most: sizes the embedding backward's
  // token grouping, so its scratch does not depend on the data.
  static uint64_t max_distinct(uint64_t V, uint64_t N) { return V < N ? V : N; }
  // Whether attention runs fused is the config's shape rule,
  // flash_attention_fits (config/config.h).
};

// As JSON, for the run record and the addon.
std::string memory_prediction_to_json(const MemoryPrediction& p);

}  // namespace ts
