// The checkpoint planner at scale: the search of a chain of identical
// blocks (every GPT config) against the general dynamic program on chains
// the DP still handles, the configs that overflowed the planner's
// arithmetic, and 1,024 layers in bounded time (the editor plans on every
// edit; the time itself is benchmarked by npm run bench).
#include <chrono>
#include <cstdio>
#include <string>

#include "base/rng.h"
#include "config/config.h"
#include "plan/planner.h"
#include "support.h"

using namespace ts;
using ts::test::expect;
using ts::test::failures;

static void uniform_equals_general() {
  Rng r(2026);
  int cases = 0, mismatches = 0;
  for (int L = 1; L <= 40; L += (L < 16 ? 1 : 6)) {
    for (int variant = 0; variant < 4; ++variant) {
      ChainCosts c;
      c.boundary = 20 + r.below(600);
      c.embed = variant % 2 ? c.boundary : c.boundary + r.below(400);
      c.head = 100 + r.below(3000);
      const uint64_t full = 50 + r.below(4000);  // below the boundary too
      for (int l = 0; l < L; ++l) {
        c.full.push_back(full);
        c.fwd_cost.push_back(7.0);
      }
      const uint64_t lo = min_peak_activation_general(c);
      const bool min_ok = min_peak_activation(c) == lo;
      if (!min_ok) ++mismatches;
      expect(min_ok, "L=" + std::to_string(L) + " variant " + std::to_string(variant) +
                         ": uniform least peak " + std::to_string(min_peak_activation(c)) + " = DP " +
                         std::to_string(lo));
      const uint64_t hi = peak_activation(c, {});
      for (int b = 0; b <= 8; ++b) {
        const uint64_t budget = lo + (hi - lo) * uint64_t(b) / 8;
        const BudgetPlan u = plan_budget(c, budget), g = plan_budget_general(c, budget);
        const bool same = u.fits == g.fits && u.recompute == g.recompute && u.peak_act <= budget &&
                          peak_activation(c, u.segments) == u.peak_act;
        if (!same) {
          ++mismatches;
          std::printf("FAIL L=%d budget %llu: uniform recompute %g (peak %llu), DP %g\n", L,
                      (unsigned long long)budget, u.recompute, (unsigned long long)u.peak_act, g.recompute);
        }
        ++cases;
      }
      const BudgetPlan no = plan_budget(c, lo - 1);
      expect(!no.fits && no.min_budget == lo, "L=" + std::to_string(L) + ": a budget below the least is refused");
    }
  }
  if (mismatches) ++failures;
  std::printf("%s uniform-chain planner equals the DP on %d (chain, budget) cases, L = 1..40\n",
              mismatches ? "FAIL" : "ok  ", cases);
}

static Config parsed(const std::string& text) {
  const ParseResult r = parse_config(text, "t.train");
  expect(r.ok(), "the test config parses");
  return r.config;
}

// batch x accumulate >= 2^31 overflowed int and divided by zero (SIGFPE in
// the editor's extension host).
static void huge_global_batch() {
  const Config cfg = parsed(
      "[model]\nvocab 64\ncontext 1\nlayers 1\nwidth 4\nheads 1\n[train]\nbatch 32768\naccumulate 32768\n");
  const std::string report = plan_report_json(cfg, 0);
  expect(report.find("\"accumulate\":32768,\"batch\":32768") != std::string::npos,
         "the report of batch 32768 x accumulate 32768 lists the config's own split");
  const Config big = parsed(
      "[model]\nvocab 64\ncontext 1\nlayers 1\nwidth 4\nheads 1\n[train]\nbatch 1000000\naccumulate 65536\n");
  const std::string r2 = plan_report_json(big, 0);
  expect(r2.find("\"accumulate\":65536,\"batch\":1000000") != std::string::npos &&
             r2.find("\"accumulate\":1,") == std::string::npos,
         "batch 1e6 x accumulate 65536: only splits within both keys' ranges are listed");
}

static void layers_1024_in_bounded_time() {
  const Config cfg = parsed(
      "[model]\nvocab 256\ncontext 64\nlayers 1024\nwidth 64\nheads 4\n[train]\nbatch 4\ncheckpoint budget 1GB\n");
  const auto t0 = std::chrono::steady_clock::now();
  const PlanReport r = plan_report(cfg, 2000000000);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  expect(r.checkpoint_error.empty() && r.json.find("\"budget\":{") != std::string::npos,
         "1,024 layers with a budget: planned");
  // A bound for hangs, far above the benchmarked time.
  expect(s < 5.0, "1,024 layers: the whole report in " + std::to_string(s) + " s (bound 5 s)");
  const Config tight = parsed(
      "[model]\nvocab 256\ncontext 64\nlayers 1024\nwidth 64\nheads 4\n[train]\nbatch 4\ncheckpoint budget 1KB\n");
  const PlanReport t = plan_report(tight, 0);
  expect(t.checkpoint_error.find("is too small") != std::string::npos &&
             t.json.find("\"raise\":{") != std::string::npos,
         "1,024 layers with a budget no plan fits: the error and the raised budget's plan");
}

int main() {
  uniform_equals_general();
  huge_global_batch();
  layers_1024_in_bounded_time();
  std::printf(failures ? "%d planner checks failed\n" : "all planner checks passed\n", failures);
  return failures ? 1 : 0;
}
