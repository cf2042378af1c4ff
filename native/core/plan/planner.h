// The activation-checkpoint planner: which blocks recompute their forward in
// backward, what that costs and how much activation memory it saves. The
// trainer runs the plan; the editor (through the addon) shows the same
// numbers before anything runs.
//
// A plan is a list of segments of consecutive blocks. A segment keeps only
// its input (the previous layer's output) and its last block's output; in
// backward it recomputes its blocks' forward just before their backward.
// Blocks outside every segment keep all their activations.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "plan/flops.h"
#include "plan/memory_model.h"
#include "plan/segments.h"

namespace ts {

// What the planner needs per block: bytes of all its activations, bytes of
// its output (a segment's stored boundary) and its forward cost; plus the
// embedding and head activations, which are always kept.
struct ChainCosts {
  std::vector<uint64_t> full;     // per block: every activation its backward needs
  std::vector<double> fwd_cost;   // per block: forward FLOPs (recompute cost)
  uint64_t boundary = 0;          // one block output (B*T*C elements)
  uint64_t embed = 0, head = 0;   // activation bytes of the embedding and head layers
  double step_cost = 0;           // FLOPs of a whole training step without recompute
};

ChainCosts chain_costs(const Config& cfg, int elem_bytes);

// Predicted peak of live activation bytes during a step under a plan:
// the end of the forward pass, a segment's forward, or its recompute.
uint64_t peak_activation(const ChainCosts& c, const Segments& s);
// Recompute FLOPs of a plan.
double recompute_cost(const ChainCosts& c, const Segments& s);

struct BudgetPlan {
  bool fits = false;
  Segments segments;
  uint64_t peak_act = 0;
  double recompute = 0;
  uint64_t min_budget = 0;  // the smallest activation budget any plan fits in
};
// The plan with the least recompute whose peak activation memory fits in
// budget bytes: exact, by dynamic programming over the chain (Pareto sets of
// stored bytes and cost per position). When none fits, fits = false and
// min_budget says what would.
BudgetPlan plan_budget(const ChainCosts& c, uint64_t budget);
// The smallest peak activation memory any plan reaches.
uint64_t min_peak_activation(const ChainCosts& c);

// The segments a config asks for (none / sqrt / every K / layers ... /
// budget SIZE). false + err (naming the budget that would fit) when a
// budget cannot be met.
bool resolve_checkpoint(const Config& cfg, int elem_bytes, Segments& out, std::string& err);

// The memory model under the config's own checkpoint setting, resolved
// above; when it cannot be met, the prediction without recompute with
// `error` set. Here, not in the memory model, so the memory model never
// calls back up into the planner.
MemoryPrediction predict_memory(const Config& c, int elem_bytes = 4, const std::string& device = "");

}  // namespace ts

namespace ts {

// Everything the editor offers about a config, from the same models the
// trainer runs: the prediction under the config's own settings; every
// checkpoint schedule (none, sqrt, each every K, the budget plan) with its
// peak activation memory and recompute; each precision; and accumulating K
// micro-batches of batch/K (same global batch). budget = 0: the config's own
// checkpoint budget if it has one, else no budget plan. JSON.
std::string plan_report_json(const Config& cfg, uint64_t budget);

}  // namespace ts

namespace ts {

// A checkpoint budget that no plan fits, as a diagnostic at the key's value
// (what the trainer would refuse at start), for `--check` and the editor.
// false when there is nothing to report.
bool checkpoint_diagnostic(const Config& cfg, Diagnostic& out);

}  // namespace ts
