// Activation checkpointing: every plan gives bitwise the losses and
// gradients of keeping everything; the measured activation memory matches
// the memory model under every plan; the budget planner is exact (equal to
// brute force over every plan) and refuses budgets nothing fits.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/rng.h"
#include "config/config.h"
#include "model/alloc.h"
#include "model/model.h"
#include "plan/memory_model.h"
#include "plan/planner.h"
#include "support.h"
#include "train/trainer.h"

using namespace ts;
using namespace ts::test;

static void equivalence_and_memory() {
  Config cfg = small_model_config();
  const StepResult base = one_step(cfg, {});
  const std::vector<std::pair<std::string, Segments>> plans = {
      {"sqrt", segments_every(6, sqrt_segment_size(6))},
      {"every 1", segments_every(6, 1)},
      {"every 4", segments_every(6, 4)},
      {"every 6", segments_every(6, 6)},
      {"layers 0-1,3", {{0, 1}, {3, 3}}},
      {"layers 5", {{5, 5}}},
      {"layers 2-4", {{2, 4}}},
  };
  for (const auto& [name, segs] : plans) {
    const StepResult r = one_step(cfg, segs);
    expect(r.loss == base.loss, name + ": loss bitwise equal to no checkpointing");
    bool same = r.grads.size() == base.grads.size();
    for (size_t l = 0; same && l < r.grads.size(); ++l)
      same = std::memcmp(r.grads[l].data(), base.grads[l].data(), r.grads[l].size() * 4) == 0;
    expect(same, name + ": every gradient bitwise equal to no checkpointing");
    const MemoryPrediction p = predict_memory(cfg, segs);
    const double rel = std::fabs(double(r.peak_act) - double(p.peak_act)) / double(p.peak_act);
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s: peak activations measured %.3f MB, predicted %.3f MB (none: %.3f MB)",
                  name.c_str(), r.peak_act / 1e6, p.peak_act / 1e6, base.peak_act / 1e6);
    expect(rel <= 0.05, buf);
    bool layers_ok = true;
    for (size_t l = 0; l < p.layers.size(); ++l) layers_ok &= r.act_end_of_forward[l] == p.layers[l].act;
    expect(layers_ok, name + ": per-layer activations held after forward match the model");
    expect(r.peak_act < base.peak_act, name + ": uses less activation memory than none");
    std::printf("ok   %-14s peak act %.3f MB (predicted %.3f, none %.3f), recompute %.0f%% of a step\n",
                name.c_str(), r.peak_act / 1e6, p.peak_act / 1e6, base.peak_act / 1e6,
                100 * p.recompute_flops / p.step_flops);
  }
}

// Every plan of L blocks: each block kept, or starting a segment, or
// continuing the segment of the block before it.
static void all_plans(int L, const std::function<void(const Segments&)>& f) {
  std::vector<int> state(L, 0);  // 0 kept, 1 starts, 2 continues
  while (true) {
    bool valid = true;
    for (int l = 0; l < L; ++l)
      if (state[l] == 2 && (l == 0 || state[l - 1] == 0)) valid = false;
    if (valid) {
      Segments s;
      for (int l = 0; l < L; ++l) {
        if (state[l] == 1) s.push_back({l, l});
        else if (state[l] == 2) s.back().second = l;
      }
      f(s);
    }
    int i = 0;
    while (i < L && state[i] == 2) state[i++] = 0;
    if (i == L) return;
    ++state[i];
  }
}

static void planner_vs_brute_force() {
  Rng r(77);
  int cases = 0;
  for (int L = 1; L <= 12; ++L) {
    for (int variant = 0; variant < (L <= 8 ? 3 : 1); ++variant) {
      ChainCosts c;
      c.boundary = 100;
      c.embed = 100;
      c.head = 300 + r.below(500);
      for (int l = 0; l < L; ++l) {
        // Variant 0: identical blocks (a GPT); others: uneven chains.
        c.full.push_back(variant == 0 ? 1000 : 200 + r.below(2000));
        c.fwd_cost.push_back(variant == 0 ? 10.0 : 1.0 + double(r.below(50)));
      }
      uint64_t brute_min = UINT64_MAX, brute_max = 0;
      all_plans(L, [&](const Segments& s) {
        const uint64_t pk = peak_activation(c, s);
        brute_min = std::min(brute_min, pk);
        brute_max = std::max(brute_max, pk);
      });
      expect(min_peak_activation(c) == brute_min,
             "L=" + std::to_string(L) + ": smallest peak equals brute force");
      for (int b = 0; b < 6; ++b) {
        const uint64_t budget = brute_min + (brute_max - brute_min) * b / 5;
        double best = INFINITY;
        all_plans(L, [&](const Segments& s) {
          if (peak_activation(c, s) <= budget) best = std::min(best, recompute_cost(c, s));
        });
        const BudgetPlan p = plan_budget(c, budget);
        expect(p.fits && p.recompute == best && p.peak_act <= budget,
               "L=" + std::to_string(L) + " budget " + std::to_string(budget) +
                   ": planner recompute " + std::to_string(p.recompute) + " = brute force " +
                   std::to_string(best));
        ++cases;
      }
      const BudgetPlan no = plan_budget(c, brute_min - 1);
      expect(!no.fits && no.min_budget == brute_min,
             "L=" + std::to_string(L) + ": an impossible budget is refused with the minimum that fits");
    }
  }
  std::printf("ok   budget planner equals brute force on %d (chain, budget) cases, L = 1..12\n", cases);
}

static void trainer_runs_plans() {
  for (const char* plan : {"sqrt", "every 2", "layers 1-2", "budget 30MB"}) {
    std::vector<double> base, ck;
    for (int i = 0; i < 2; ++i) {
      const ExampleRun run = train_example({"train.steps=4", "train.warmup=1", "train.threads=2",
                                            std::string("train.checkpoint=") + (i ? plan : "none")});
      expect(run.exit_code == 0, std::string("trainer runs checkpoint ") + (i ? plan : "none"));
      (i ? ck : base) = run.losses;
    }
    expect(base.size() == 4 && base == ck,
           std::string("trainer with checkpoint ") + plan + ": the same losses as none, bit for bit");
  }
}

// A budget the editor writes back into the config: rounded up in the unit
// it is shown in, and read back by the parser as at least the bytes asked.
static void budget_sizes() {
  const std::pair<uint64_t, const char*> cases[] = {
      {11550720, "11.6MB"}, {11600000, "11.6MB"}, {1234567890, "1.24GB"},
      {2000000000, "2GB"},  {1501, "1.6KB"},     {999, "999B"}};
  for (const auto& [bytes, want] : cases) {
    uint64_t denoted = 0;
    const std::string text = size_text_at_least(bytes, &denoted);
    expect(text == want, std::to_string(bytes) + " B is written " + want + " (got " + text + ")");
    const ParseResult r = parse_config("", "t.train", {"train.checkpoint=budget " + text});
    expect(r.ok() && r.config.train.checkpoint_budget == denoted && denoted >= bytes,
           "budget " + text + " reads back as " + std::to_string(denoted) + " >= " + std::to_string(bytes));
  }
}

int main() {
  budget_sizes();
  equivalence_and_memory();
  planner_vs_brute_force();
  trainer_runs_plans();
  return report("test_checkpoint");
}
