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

// The same two answers from the general dynamic program, whatever the
// chain. plan_budget and min_peak_activation use it for uneven chains and
// search a chain of identical blocks (every GPT config) by its shape, in
// O(L log L) a budget; the tests hold the two against each other.
BudgetPlan plan_budget_general(const ChainCosts& c, uint64_t budget);
uint64_t min_peak_activation_general(const ChainCosts& c);

// The segments a config asks for (none / sqrt / every K / layers ... /
// budget SIZE). false + err (naming the budget that would fit) when a
// budget cannot be met.
bool resolve_checkpoint(const Config& cfg, int elem_bytes, Segments& out, std::string& err);

class ChainPlanner;

// The memory model under the config's own checkpoint setting, resolved
// above; when it cannot be met, the prediction without recompute with
// `error` set. Here, not in the memory model, so the memory model never
// calls back up into the planner.
MemoryPrediction predict_memory(const Config& c, int elem_bytes = 4, const std::string& device = "");

// A size in the config language at least `bytes`: rounded UP to tenths of
// MB/KB or hundredths of GB/TB ("11.6MB" for 11550720), so a budget written
// from it never falls below what it stands for. `denoted` is the byte count
// the parser reads back from the text.
std::string size_text_at_least(uint64_t bytes, uint64_t* denoted = nullptr);

// The plan with the least recompute whose WHOLE predicted peak (states,
// activations and workspace) fits in `budget` bytes: the memory a run may
// use, as trainscope.memoryBudget says. plan_budget budgets activations
// alone, so the rest of the peak is taken off first; the workspace peak
// moves a little with the plan, so a plan that overshoots lowers the
// activation budget by the overshoot and is asked again (a few rounds; the
// first usually lands). When none fits, `smallest` is the least whole peak
// any schedule or the least-activation plan reaches.
struct TotalFit {
  bool fits = false;
  Segments segments;
  uint64_t smallest = 0;
};
TotalFit fit_total_budget(const Config& cfg, uint64_t budget);

// One config's chain, planned once: its costs, its least activation peak
// and each budget's plan are computed on first use and reused by every
// later question (the editor's one analysis asks the same budget plan for
// the diagnostic, the prediction and the report).
class ChainPlanner {
 public:
  explicit ChainPlanner(const Config& cfg, int elem_bytes = 4) : cfg_(cfg), eb_(elem_bytes) {}
  const ChainCosts& costs();
  uint64_t min_peak();
  BudgetPlan budget(uint64_t bytes);
  bool resolve(Segments& out, std::string& err);
  TotalFit fit_total(uint64_t budget);

 private:
  const Config& cfg_;
  int eb_;
  bool have_costs_ = false, have_min_ = false;
  ChainCosts costs_;
  uint64_t min_ = 0;
  std::vector<std::pair<uint64_t, BudgetPlan>> plans_;
};

}  // namespace ts

namespace ts {

// Everything the editor offers about a config, from the same models the
// trainer runs: the prediction under the config's own settings; every
// checkpoint schedule (none, sqrt, each every K, the budget plan) with its
// peak activation memory and recompute; each precision; and accumulating K
// micro-batches of batch/K (same global batch). The config's own
// checkpoint budget, if it has one, gets its plan; when no plan fits it,
// the two ways out: the least budget any plan fits, written in the config
// language ("raise"), and the least-activation plan itself ("least").
// memory_budget > 0: also the plan whose whole peak fits it (fit_total_budget).
// JSON.
std::string plan_report_json(const Config& cfg, uint64_t memory_budget = 0);

// The report above and, from the same planning, the error of a checkpoint
// budget no plan fits ("" when none): the editor's analysis asks for both.
struct PlanReport {
  std::string json;
  std::string checkpoint_error;
};
PlanReport plan_report(const Config& cfg, uint64_t memory_budget = 0);

// The same report as tables for a terminal (trainscope-train --plan):
// the rows the JSON holds, sizes in bytes_text, recompute in percent.
std::string plan_report_text(const Config& cfg, uint64_t memory_budget = 0);

}  // namespace ts

namespace ts {

// A checkpoint budget that no plan fits, as a diagnostic at the key's value
// (what the trainer would refuse at start), for `--check` and the editor.
// false when there is nothing to report.
bool checkpoint_diagnostic(const Config& cfg, Diagnostic& out);
// That diagnostic for an error already found (plan_report's).
Diagnostic checkpoint_diagnostic_for(const Config& cfg, const std::string& message);

}  // namespace ts
