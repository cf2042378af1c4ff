#include "plan/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/bytes.h"
#include "base/json.h"
#include "plan/memory_model.h"

namespace ts {

ChainCosts chain_costs(const Config& cfg, int eb) {
  const MemoryPrediction none = predict_memory(cfg, Segments{}, eb);
  ChainCosts c;
  c.embed = none.layers.front().act_full;
  c.head = none.layers.back().act_full;
  c.boundary = none.layers.front().act_full;  // a block's output is the size of the embedding's
  for (int l = 0; l < cfg.model.layers; ++l) {
    c.full.push_back(none.layers[size_t(l) + 1].act_full);
    c.fwd_cost.push_back(block_forward_flops(cfg));
  }
  c.step_cost = step_flops(cfg);
  return c;
}

namespace {

// Peak of a segment [s, e] given the bytes stored before it (beyond the
// embedding output): its blocks' forward one by one (holding the previous
// block's output), then the recompute of all of them at once, less the last
// output, which backward does not need.
uint64_t segment_peak(const ChainCosts& c, uint64_t stored_before, int s, int e) {
  uint64_t peak = 0, sum = 0;
  for (int l = s; l <= e; ++l) {
    const uint64_t fwd = c.embed + stored_before + (l > s ? c.boundary : 0) + c.full[l];
    peak = std::max(peak, fwd);
    sum += c.full[l];
  }
  return std::max(peak, c.embed + stored_before + sum - c.boundary);
}

double segment_cost(const ChainCosts& c, int s, int e) {
  double t = 0;
  for (int l = s; l <= e; ++l) t += c.fwd_cost[l];
  return t;
}

}  // namespace

uint64_t peak_activation(const ChainCosts& c, const Segments& segs) {
  const int L = int(c.full.size());
  uint64_t stored = 0, peak = 0;
  size_t k = 0;
  for (int l = 0; l < L;) {
    if (k < segs.size() && segs[k].first == l) {
      const int e = segs[k].second;
      peak = std::max(peak, segment_peak(c, stored, l, e));
      stored += c.boundary;
      l = e + 1;
      ++k;
    } else {
      stored += c.full[l];
      ++l;
    }
  }
  return std::max(peak, c.embed + stored + c.head);
}

double recompute_cost(const ChainCosts& c, const Segments& segs) {
  double t = 0;
  for (const auto& s : segs) t += segment_cost(c, s.first, s.second);
  return t;
}

namespace {

// One Pareto-optimal way to cover blocks [0, i): bytes stored so far, the
// objective so far, and how to rebuild the plan.
struct State {
  uint64_t stored;
  double cost;       // recompute FLOPs (plan_budget) or running peak (min_peak)
  int prev_state;    // index into the previous position's list
  int prev_pos;
  int seg_first;     // -1 when the step to here kept a block
};

void pareto_insert(std::vector<State>& v, const State& s) {
  for (const State& o : v)
    if (o.stored <= s.stored && o.cost <= s.cost) return;  // dominated
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const State& o) { return s.stored <= o.stored && s.cost <= o.cost; }),
          v.end());
  v.push_back(s);
}

// Shared chain DP. With budget > 0, minimises recompute under the budget;
// with budget == 0, minimises the peak itself (cost = running peak).
bool chain_dp(const ChainCosts& c, uint64_t budget, Segments& out, double& best_cost) {
  const int L = int(c.full.size());
  const bool min_peak = budget == 0;
  std::vector<std::vector<State>> at(size_t(L) + 1);
  at[0].push_back({0, 0.0, -1, -1, -1});
  for (int i = 0; i < L; ++i) {
    for (int si = 0; si < int(at[i].size()); ++si) {
      const State cur = at[i][si];
      // Keep block i.
      pareto_insert(at[i + 1], {cur.stored + c.full[i], cur.cost, si, i, -1});
      // A segment [i, e].
      for (int e = i; e < L; ++e) {
        const uint64_t pk = segment_peak(c, cur.stored, i, e);
        if (!min_peak && pk > budget) break;  // longer segments only grow
        const double cost = min_peak ? std::max(cur.cost, double(pk)) : cur.cost + segment_cost(c, i, e);
        pareto_insert(at[e + 1], {cur.stored + c.boundary, cost, si, i, i});
      }
    }
  }
  int best = -1;
  best_cost = INFINITY;
  for (int si = 0; si < int(at[L].size()); ++si) {
    const State& s = at[L][si];
    const uint64_t end = c.embed + s.stored + c.head;
    if (!min_peak && end > budget) continue;
    const double cost = min_peak ? std::max(s.cost, double(end)) : s.cost;
    if (cost < best_cost) {
      best_cost = cost;
      best = si;
    }
  }
  if (best < 0) return false;
  out.clear();
  for (int pos = L, si = best; pos > 0;) {
    const State& s = at[pos][si];
    if (s.seg_first >= 0) out.push_back({s.seg_first, pos - 1});
    si = s.prev_state;
    pos = s.prev_pos;
  }
  std::reverse(out.begin(), out.end());
  return true;
}

}  // namespace

namespace {

// A chain of identical blocks (every GPT config): the plans worth weighing
// have a shape, so the planner searches that shape instead of the DP's
// Pareto sets (cubic and worse in the blocks; minutes at 1,024 layers).
//
// Under peak_activation's model a kept block adds its bytes F to what is
// stored and has no peak of its own beyond the end of forward, so moving a
// kept block after every segment lowers what the segments see and leaves
// the end of forward unchanged; and swapping two neighbouring segments so
// the longer goes first never raises the peak (the longer one then sees B
// bytes less, the shorter no more than the longer saw). So some optimal
// plan is: segments longest first, then kept blocks. With k kept blocks and
// m segments, segment j sees j*B stored bytes and may be at most cap(j)
// long, and the end of forward needs embed + m*B + k*F + head <= budget.
// Every question then costs O(L) per budget: min_peak by binary search,
// the least recompute by the most kept blocks.
class UniformChain {
 public:
  explicit UniformChain(const ChainCosts& c)
      : c_(c), L_(int(c.full.size())), F_(c.full.empty() ? 0 : c.full[0]), B_(c.boundary) {}

  static bool applies(const ChainCosts& c) {
    for (size_t l = 1; l < c.full.size(); ++l)
      if (c.full[l] != c.full[0] || c.fwd_cost[l] != c.fwd_cost[0]) return false;
    return true;
  }

  // Peak of a segment of n blocks after `stored` bytes: segment_peak's
  // arithmetic for identical blocks, term for term.
  uint64_t segment_peak(uint64_t stored, int n) const {
    const uint64_t fwd = c_.embed + stored + (n > 1 ? B_ : 0) + F_;
    const uint64_t rec = c_.embed + stored + uint64_t(n) * F_ - B_;
    return std::max(fwd, rec);
  }

  // The longest segment that fits `budget` after j segments (0 = none).
  int cap(int j, uint64_t budget) const {
    const uint64_t stored = uint64_t(j) * B_;
    if (segment_peak(stored, 1) > budget) return 0;
    if (L_ < 2 || segment_peak(stored, 2) > budget) return 1;
    int lo = 2, hi = L_;  // segment_peak grows with n
    while (lo < hi) {
      const int mid = lo + (hi - lo + 1) / 2;
      if (segment_peak(stored, mid) <= budget) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // The plan with the most kept blocks under `budget` (the least
  // recompute), fewest segments among those; false when none fits.
  // want_k >= 0 asks for exactly that many kept blocks.
  bool plan(uint64_t budget, Segments& out, int want_k = -1) const {
    std::vector<int64_t> reach(size_t(L_) + 1, 0);  // reach[m]: blocks m segments can cover
    int usable = 0;
    for (int j = 0; j < L_; ++j) {
      const int cj = cap(j, budget);
      if (cj == 0) break;
      reach[size_t(j) + 1] = reach[size_t(j)] + cj;
      usable = j + 1;
    }
    for (int k = want_k >= 0 ? want_k : L_; k >= 0; --k) {
      const int rest = L_ - k;
      // Segments the end of forward allows beside k kept blocks.
      const uint64_t base = c_.embed + uint64_t(k) * F_ + c_.head;
      if (base > budget) {
        if (want_k >= 0) return false;
        continue;
      }
      const int64_t by_end = B_ > 0 ? int64_t((budget - base) / B_) : int64_t(L_);
      const int m_max = int(std::min<int64_t>({int64_t(rest), by_end, int64_t(usable)}));
      if (reach[size_t(m_max)] >= rest) {
        out.clear();
        int m = 0;
        while (reach[size_t(m)] < rest) ++m;
        int first = 0;
        for (int j = 0; j < m; ++j) {
          const int n = int(std::min<int64_t>(reach[size_t(j) + 1] - reach[size_t(j)], rest - reach[size_t(j)]));
          out.push_back({first, first + n - 1});
          first += n;
        }
        return true;
      }
      if (want_k >= 0) return false;
    }
    return false;
  }

  uint64_t min_peak() const {
    Segments s;
    uint64_t lo = 0, hi = peak_activation(c_, {});
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (plan(mid, s)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  // The least-recompute plan under `budget`, then the lowest peak among
  // plans with as many kept blocks.
  bool best(uint64_t budget, Segments& out) const {
    if (!plan(budget, out)) return false;
    int k = L_;
    for (const auto& seg : out) k -= seg.second - seg.first + 1;
    uint64_t lo = 0, hi = budget;
    Segments s;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (plan(mid, s, k)) hi = mid;
      else lo = mid + 1;
    }
    return plan(lo, out, k);
  }

 private:
  const ChainCosts& c_;
  int L_;
  uint64_t F_, B_;
};

}  // namespace

uint64_t min_peak_activation_general(const ChainCosts& c) {
  Segments s;
  double peak = 0;
  chain_dp(c, 0, s, peak);
  return uint64_t(peak);
}

uint64_t min_peak_activation(const ChainCosts& c) {
  return UniformChain::applies(c) ? UniformChain(c).min_peak() : min_peak_activation_general(c);
}

namespace {

BudgetPlan plan_budget_above(const ChainCosts& c, uint64_t budget, uint64_t min_budget, bool general) {
  BudgetPlan p;
  p.min_budget = min_budget;
  if (budget >= p.min_budget) {
    if (!general && UniformChain::applies(c)) {
      p.fits = UniformChain(c).best(budget, p.segments);
    } else {
      double cost = 0;
      p.fits = chain_dp(c, budget, p.segments, cost);
    }
  }
  if (p.fits) {
    p.peak_act = peak_activation(c, p.segments);
    p.recompute = recompute_cost(c, p.segments);
  }
  return p;
}

}  // namespace

BudgetPlan plan_budget(const ChainCosts& c, uint64_t budget) {
  return plan_budget_above(c, budget, min_peak_activation(c), false);
}

BudgetPlan plan_budget_general(const ChainCosts& c, uint64_t budget) {
  return plan_budget_above(c, budget, min_peak_activation_general(c), true);
}

std::string size_text_at_least(uint64_t bytes, uint64_t* denoted) {
  struct Unit {
    uint64_t scale;
    uint64_t step;  // the rounding unit: a tenth (MB, KB) or a hundredth (GB, TB)
    int digits;
    const char* name;
  };
  static const Unit kUnits[] = {{1000000000000ull, 10000000000ull, 2, "TB"},
                                {1000000000ull, 10000000ull, 2, "GB"},
                                {1000000ull, 100000ull, 1, "MB"},
                                {1000ull, 100ull, 1, "KB"}};
  for (const Unit& u : kUnits) {
    if (bytes < u.scale) continue;
    const uint64_t n = bytes / u.step + (bytes % u.step != 0);  // steps, rounded up
    if (denoted) *denoted = n * u.step;
    const uint64_t per = u.scale / u.step;
    std::string text = std::to_string(n / per);
    std::string frac = std::to_string(n % per);
    frac.insert(0, size_t(u.digits) - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();  // "2GB", not "2.00GB"
    if (!frac.empty()) text += "." + frac;
    return text + u.name;
  }
  if (denoted) *denoted = bytes;
  return std::to_string(bytes) + "B";
}

TotalFit ChainPlanner::fit_total(uint64_t budget) {
  constexpr int kRounds = 4;
  const Config& cfg = cfg_;
  const int eb = eb_;
  const int L = cfg.model.layers;
  const MemoryPrediction none = predict_memory(cfg, Segments{}, eb);
  TotalFit fit;
  // What the peak holds beside activations, under no checkpointing.
  double act = double(budget) - double(none.peak - none.peak_act);
  for (int round = 0; round < kRounds && act >= 1; ++round) {
    const BudgetPlan bp = this->budget(uint64_t(act));
    if (!bp.fits) break;
    const uint64_t peak = predict_memory(cfg, bp.segments, eb).peak;
    if (peak <= budget) {
      fit.fits = true;
      fit.segments = bp.segments;
      return fit;
    }
    act -= double(peak - budget);
  }
  // The smallest whole peak: a fixed schedule's, or the least-activation plan's.
  fit.smallest = none.peak;
  fit.smallest = std::min(fit.smallest, predict_memory(cfg, segments_every(L, sqrt_segment_size(L)), eb).peak);
  for (int e = 1; e <= L; ++e) fit.smallest = std::min(fit.smallest, predict_memory(cfg, segments_every(L, e), eb).peak);
  const BudgetPlan least = this->budget(min_peak());
  if (least.fits) fit.smallest = std::min(fit.smallest, predict_memory(cfg, least.segments, eb).peak);
  return fit;
}

TotalFit fit_total_budget(const Config& cfg, uint64_t budget) { return ChainPlanner(cfg).fit_total(budget); }

const ChainCosts& ChainPlanner::costs() {
  if (!have_costs_) {
    costs_ = chain_costs(cfg_, eb_);
    have_costs_ = true;
  }
  return costs_;
}

uint64_t ChainPlanner::min_peak() {
  if (!have_min_) {
    min_ = min_peak_activation(costs());
    have_min_ = true;
  }
  return min_;
}

BudgetPlan ChainPlanner::budget(uint64_t bytes) {
  for (const auto& [b, plan] : plans_)
    if (b == bytes) return plan;
  plans_.push_back({bytes, plan_budget_above(costs(), bytes, min_peak(), false)});
  return plans_.back().second;
}

bool ChainPlanner::resolve(Segments& out, std::string& err) {
  const TrainConfig& t = cfg_.train;
  const int L = cfg_.model.layers;
  out.clear();
  if (t.checkpoint == "sqrt") out = segments_every(L, sqrt_segment_size(L));
  else if (t.checkpoint == "every") out = segments_every(L, t.checkpoint_every);
  else if (t.checkpoint == "layers") out = t.checkpoint_segments;
  else if (t.checkpoint == "budget") {
    const BudgetPlan p = budget(t.checkpoint_budget);
    if (!p.fits) {
      err = "train.checkpoint budget " + bytes_text(t.checkpoint_budget) +
            " is too small: the smallest activation peak any checkpoint plan reaches is " +
            bytes_text(p.min_budget) + " (use budget " + size_text_at_least(p.min_budget) +
            " or more, or a smaller batch/context)";
      return false;
    }
    out = p.segments;
  }
  return true;
}

bool resolve_checkpoint(const Config& cfg, int eb, Segments& out, std::string& err) {
  return ChainPlanner(cfg, eb).resolve(out, err);
}

MemoryPrediction predict_memory(const Config& cfg, int eb, const std::string& device) {
  Segments segs;
  std::string err;
  if (!resolve_checkpoint(cfg, eb, segs, err)) {
    MemoryPrediction p = predict_memory(cfg, Segments{}, eb, device);
    p.error = err;
    return p;
  }
  return predict_memory(cfg, segs, eb, device);
}

}  // namespace ts

namespace ts {

namespace {

// One line of the report: a checkpoint plan, or the config under another
// precision, attention layout or accumulation, with what it is predicted
// to cost. Only the figures the report shows are kept (not the per-layer
// prediction: 1,026 schedules of 1,026 layers would be 100 MB).
struct PlanRow {
  std::string name;
  Segments segments;
  uint64_t peak_act = 0, peak = 0;
  double recompute_flops = 0, recompute_fraction = 0;
  int64_t accumulate = 0, batch = 0;
};

PlanRow row_of(const std::string& name, const Segments& segs, const MemoryPrediction& p) {
  PlanRow r;
  r.name = name;
  r.segments = segs;
  r.peak_act = p.peak_act;
  r.peak = p.peak;
  r.recompute_flops = p.recompute_flops;
  r.recompute_fraction = p.step_flops > 0 ? p.recompute_flops / p.step_flops : 0.0;
  return r;
}

PlanRow schedule_row(const Config& cfg, const std::string& name, const Segments& segs) {
  return row_of(name, segs, predict_memory(cfg, segs));
}

// Everything the report says, computed once; plan_report writes it as JSON
// and plan_report_text as tables.
struct PlanData {
  MemoryPrediction own;
  std::vector<PlanRow> schedules;
  uint64_t min_peak_act = 0;
  bool has_budget = false;
  uint64_t budget_bytes = 0;
  BudgetPlan budget;
  std::vector<PlanRow> budget_plan, raise_plan, least_plan;  // 0 or 1 row each
  std::string raise_size;
  uint64_t raise_bytes = 0;
  bool has_fit = false;
  uint64_t fit_bytes = 0;
  TotalFit fit;
  std::vector<PlanRow> fit_plan;
  std::vector<PlanRow> precisions, attention, accumulate;
  std::string checkpoint_error;
};

PlanData plan_data(const Config& cfg, uint64_t memory_budget) {
  const int eb = 4;
  const int L = cfg.model.layers;
  ChainPlanner planner(cfg, eb);
  PlanData d;
  Segments own_segments;
  const bool resolved = planner.resolve(own_segments, d.checkpoint_error);
  d.own = predict_memory(cfg, resolved ? own_segments : Segments{}, eb);
  d.own.error = d.checkpoint_error;

  d.schedules.push_back(schedule_row(cfg, "none", {}));
  d.schedules.push_back(schedule_row(cfg, "sqrt", segments_every(L, sqrt_segment_size(L))));
  for (int e = 1; e <= L; ++e) d.schedules.push_back(schedule_row(cfg, "every " + std::to_string(e), segments_every(L, e)));
  d.min_peak_act = planner.min_peak();

  if (cfg.train.checkpoint == "budget") {
    d.has_budget = true;
    d.budget_bytes = cfg.train.checkpoint_budget;
    d.budget = planner.budget(d.budget_bytes);
    if (d.budget.fits) {
      d.budget_plan.push_back(schedule_row(cfg, "budget", d.budget.segments));
    } else {
      d.raise_size = size_text_at_least(d.budget.min_budget, &d.raise_bytes);
      const BudgetPlan rp = planner.budget(d.raise_bytes);
      if (rp.fits) d.raise_plan.push_back(schedule_row(cfg, "budget", rp.segments));
      const BudgetPlan lp = planner.budget(d.budget.min_budget);
      if (lp.fits) d.least_plan.push_back(schedule_row(cfg, "least", lp.segments));
    }
  }
  if (memory_budget > 0) {
    d.has_fit = true;
    d.fit_bytes = memory_budget;
    d.fit = planner.fit_total(memory_budget);
    if (d.fit.fits) d.fit_plan.push_back(schedule_row(cfg, "fit", d.fit.segments));
  }

  // Precision and accumulation, each under the config's own checkpoint plan
  // held fixed (a budget is not re-planned), so the numbers are their effect.
  for (const char* prec : {"fp32", "bf16", "fp16"}) {
    Config c = cfg;
    c.train.precision = prec;
    d.precisions.push_back(row_of(prec, d.own.segments, predict_memory(c, d.own.segments, eb)));
  }
  // train.attention, where the config can train on a GPU: both layouts as
  // the CUDA backend allocates them (fused only where the shape allows).
  if (cfg.train.device != "cpu") {
    for (const char* att : {"materialized", "fused"}) {
      Config c = cfg;
      c.train.attention = att;
      if (c.train.attention == "fused" &&
          !flash_attention_fits(c.train.precision != "fp32", uint64_t(c.model.context),
                               uint64_t(c.model.width), uint64_t(c.model.heads)))
        continue;
      d.attention.push_back(row_of(att, d.own.segments, predict_memory(c, d.own.segments, eb, "cuda")));
    }
  }
  // 64-bit: batch x accumulate reaches 6.5e10 within the keys' ranges.
  // Only splits both keys accept are listed.
  double lo = 0, max_batch = 0, max_accumulate = 0;
  key_range("train.batch", lo, max_batch);
  key_range("train.accumulate", lo, max_accumulate);
  const int64_t global = int64_t(cfg.train.batch) * cfg.train.accumulate;
  for (int64_t K = 1; K <= global && double(K) <= max_accumulate; K *= 2) {
    if (global % K || double(global / K) > max_batch) continue;
    Config c = cfg;
    c.train.batch = int(global / K);
    c.train.accumulate = int(K);
    PlanRow r = row_of("accumulate " + std::to_string(K), d.own.segments, predict_memory(c, d.own.segments, eb));
    r.accumulate = K;
    r.batch = c.train.batch;
    d.accumulate.push_back(r);
  }
  return d;
}

void schedule_json(Json& j, const PlanRow& r) {
  j.begin_object();
  j.field("name", r.name).field("checkpoint", segments_text(r.segments));
  j.key("segments").begin_array();
  for (const auto& s : r.segments) j.begin_array().value(s.first).value(s.second).end_array();
  j.end_array();
  j.field("peak_act_bytes", r.peak_act).field("peak_bytes", r.peak);
  j.field("recompute_flops", r.recompute_flops);
  j.field("recompute_fraction", r.recompute_fraction);
  j.end_object();
}

// Columns padded to their widest cell; the first left-aligned, the rest right.
std::string table_text(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) {
      if (w.size() <= c) w.push_back(0);
      w[c] = std::max(w[c], r[c].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(w[c] - r[c].size(), ' ');
      line += "  " + (c == 0 ? r[c] + pad : pad + r[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// A plan's segments in the config language, or their count where that
// would not fit a terminal's line (`every 1` of 1,024 layers); --json has them all.
std::string segments_cell(const Segments& segs) {
  const std::string text = segments_text(segs);
  return text.size() <= 40 ? text : std::to_string(segs.size()) + " segments";
}

std::string percent_text(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f%%", fraction * 100);
  return buf;
}

}  // namespace

PlanReport plan_report(const Config& cfg, uint64_t memory_budget) {
  const PlanData d = plan_data(cfg, memory_budget);
  PlanReport report;
  report.checkpoint_error = d.checkpoint_error;
  Json j(report.json);
  j.begin_object();
  j.key("prediction").raw(memory_prediction_to_json(d.own));
  j.key("schedules").begin_array();
  for (const PlanRow& r : d.schedules) schedule_json(j, r);
  j.end_array();
  j.field("min_peak_act_bytes", d.min_peak_act);
  if (d.has_budget) {
    j.key("budget").begin_object();
    j.field("bytes", d.budget_bytes).field("fits", d.budget.fits).field("min_budget", d.budget.min_budget);
    for (const PlanRow& r : d.budget_plan) schedule_json(j.key("plan"), r);
    for (const PlanRow& r : d.raise_plan) {
      j.key("raise").begin_object().field("size", d.raise_size).field("bytes", d.raise_bytes).key("plan");
      schedule_json(j, r);
      j.end_object();
    }
    for (const PlanRow& r : d.least_plan) schedule_json(j.key("least"), r);
    j.end_object();
  }
  if (d.has_fit) {
    j.key("fit").begin_object().field("bytes", d.fit_bytes).field("fits", d.fit.fits);
    for (const PlanRow& r : d.fit_plan) schedule_json(j.key("plan"), r);
    if (!d.fit.fits) j.field("smallest", d.fit.smallest);
    j.end_object();
  }
  j.key("precisions").begin_array();
  for (const PlanRow& r : d.precisions)
    j.begin_object().field("precision", r.name).field("peak_act_bytes", r.peak_act).field("peak_bytes", r.peak).end_object();
  j.end_array();
  if (cfg.train.device != "cpu") {
    j.key("attention").begin_array();
    for (const PlanRow& r : d.attention)
      j.begin_object().field("attention", r.name).field("peak_act_bytes", r.peak_act).field("peak_bytes", r.peak).end_object();
    j.end_array();
  }
  j.key("accumulate").begin_array();
  for (const PlanRow& r : d.accumulate) {
    j.begin_object().field("accumulate", r.accumulate).field("batch", r.batch);
    j.field("peak_act_bytes", r.peak_act).field("peak_bytes", r.peak).end_object();
  }
  j.end_array();
  j.end_object();
  return report;
}

std::string plan_report_text(const Config& cfg, uint64_t memory_budget) {
  const PlanData d = plan_data(cfg, memory_budget);
  std::string out = "predicted peak " + bytes_text(double(d.own.peak)) + " under train.checkpoint " + d.own.checkpoint +
                    ":\n  params " + bytes_text(double(d.own.param)) + ", grads " + bytes_text(double(d.own.grad)) +
                    ", optimizer " + bytes_text(double(d.own.optim)) + ", activations " +
                    bytes_text(double(d.own.peak_act)) + ", workspace " + bytes_text(double(d.own.peak_workspace)) +
                    (d.own.comm ? ", comm " + bytes_text(double(d.own.comm)) : std::string()) + "\n";
  if (!d.checkpoint_error.empty()) out += "train.checkpoint: " + d.checkpoint_error + "\n";
  auto schedule_rows = [&](const std::vector<const PlanRow*>& rows) {
    std::vector<std::vector<std::string>> t = {{"schedule", "segments", "activations", "peak", "recompute"}};
    for (const PlanRow* r : rows)
      t.push_back({r->name, segments_cell(r->segments), bytes_text(double(r->peak_act)), bytes_text(double(r->peak)),
                   percent_text(r->recompute_fraction)});
    return table_text(t);
  };
  std::vector<const PlanRow*> sched;
  for (const PlanRow& r : d.schedules) sched.push_back(&r);
  for (const PlanRow& r : d.budget_plan) sched.push_back(&r);
  for (const PlanRow& r : d.raise_plan) sched.push_back(&r);
  for (const PlanRow& r : d.least_plan) sched.push_back(&r);
  for (const PlanRow& r : d.fit_plan) sched.push_back(&r);
  out += "\ncheckpoint schedules (train.checkpoint; recompute: the extra forward FLOPs, as a share of a step's):\n" + schedule_rows(sched);
  out += "  least activation memory any plan reaches: " + bytes_text(double(d.min_peak_act)) + "\n";
  if (d.has_budget && !d.budget.fits)
    out += "  budget " + bytes_text(double(d.budget_bytes)) + " fits no plan" +
           (d.raise_plan.empty() ? std::string() : ": raise it to " + d.raise_size) + "\n";
  if (d.has_fit && !d.fit.fits)
    out += "  no plan fits a peak of " + bytes_text(double(d.fit_bytes)) + " (the smallest is " +
           bytes_text(double(d.fit.smallest)) + ")\n";
  auto variant_rows = [&](const char* head, const std::vector<PlanRow>& rows, bool batch) {
    std::vector<std::vector<std::string>> t = {{head, "activations", "peak"}};
    if (batch) t[0].insert(t[0].begin() + 1, "batch");
    for (const PlanRow& r : rows) {
      std::vector<std::string> line = {batch ? std::to_string(r.accumulate) : r.name, bytes_text(double(r.peak_act)),
                                       bytes_text(double(r.peak))};
      if (batch) line.insert(line.begin() + 1, std::to_string(r.batch));
      t.push_back(line);
    }
    return table_text(t);
  };
  out += "\nprecision (train.precision):\n" + variant_rows("precision", d.precisions, false);
  if (!d.attention.empty()) out += "\nattention on the GPU (train.attention):\n" + variant_rows("attention", d.attention, false);
  out += "\naccumulation, same global batch (train.accumulate, train.batch):\n" + variant_rows("accumulate", d.accumulate, true);
  return out;
}

std::string plan_report_json(const Config& cfg, uint64_t memory_budget) { return plan_report(cfg, memory_budget).json; }

}  // namespace ts

namespace ts {

bool checkpoint_diagnostic(const Config& cfg, Diagnostic& out) {
  Segments segs;
  std::string err;
  if (resolve_checkpoint(cfg, 4, segs, err)) return false;
  out = checkpoint_diagnostic_for(cfg, err);
  return true;
}

Diagnostic checkpoint_diagnostic_for(const Config& cfg, const std::string& message) {
  Diagnostic out;
  out.file = cfg.file;
  out.line = 1;
  out.col = 1;
  out.end_col = 1;
  auto it = cfg.where.find("train.checkpoint");
  if (it != cfg.where.end() && it->second.line > 0) {
    out.file = it->second.file;
    out.line = it->second.line;
    out.col = it->second.value_col;
    out.end_col = it->second.end_col;
  }
  out.message = message;
  out.key = "train.checkpoint";
  return out;
}

}  // namespace ts
