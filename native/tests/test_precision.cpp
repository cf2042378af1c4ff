// Mixed precision (convergence on the example is in test_training, beside
// the fp32 run it compares with): activations take half the bytes, as the memory model predicts under
// every checkpoint plan; checkpointing stays bitwise exact in 16 bits; fp16
// survives an overflow (the step is skipped, the loss scale halved, and
// training goes on).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
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

static void overflow() {
  const std::string events = build_file("test_precision_overflow.jsonl");
  int rc = -1;
  const ExampleRun run = train_example(
      {"train.precision=fp16", "train.steps=30", "train.warmup=2", "train.threads=2"}, events, false, 5);
  const std::vector<double>& l = run.losses;
  rc = run.exit_code;
  std::ifstream f(events);
  std::string line;
  double scale_before = 0, scale_after = 0;
  bool skipped5 = false, others_applied = true;
  while (std::getline(f, line)) {
    if (line.find("\"type\":\"step\"") == std::string::npos) continue;
    const int step = std::atoi(line.c_str() + line.find("\"step\":") + 7);
    const size_t at = line.find("\"loss_scale\":");
    const double scale = at == std::string::npos ? 0 : std::atof(line.c_str() + at + 13);
    const bool skipped = line.find("\"skipped\":true") != std::string::npos;
    if (step == 4) scale_before = scale;
    if (step == 6) scale_after = scale;
    if (step == 5) skipped5 = skipped;
    else if (skipped) others_applied = false;
  }
  expect(rc == 0 && l.size() == 30, "fp16 run with an injected overflow at step 5 completes 30 steps");
  expect(skipped5 && others_applied, "step 5 is skipped, no other step is");
  expect(scale_before == 65536 && scale_after == 32768, "the loss scale starts at 2^16 and halves after the overflow");
  expect(!l.empty() && l.back() < l.front() - 1.0, "training goes on: the loss keeps falling after the skip");
}

static void memory_and_exactness() {
  Config cfg = small_model_config();
  uint64_t fp32_peak = 0;
  for (const char* prec : {"fp32", "bf16", "fp16"}) {
    cfg.train.precision = prec;
    const StepResult base = one_step(cfg, {});
    if (std::string(prec) == "fp32") fp32_peak = base.peak_act;
    const BudgetPlan budget = plan_budget(chain_costs(cfg, 4), (min_peak_activation(chain_costs(cfg, 4)) * 3) / 2);
    const std::vector<std::pair<std::string, Segments>> plans = {
        {"none", {}}, {"sqrt", segments_every(6, sqrt_segment_size(6))}, {"every 2", segments_every(6, 2)},
        {"layers 1-3", {{1, 3}}}, {"budget", budget.segments}};
    for (const auto& [name, segs] : plans) {
      const StepResult r = one_step(cfg, segs);
      const MemoryPrediction p = predict_memory(cfg, segs);
      const double rel = std::fabs(double(r.peak_act) - double(p.peak_act)) / double(p.peak_act);
      bool layers_ok = true;
      for (size_t l = 0; l < p.layers.size(); ++l) layers_ok &= r.act_end_of_forward[l] == p.layers[l].act;
      bool same = r.loss == base.loss;
      for (size_t l = 0; same && l < r.grads.size(); ++l)
        same = std::memcmp(r.grads[l].data(), base.grads[l].data(), r.grads[l].size() * 4) == 0;
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s %-10s peak activations %.3f MB measured, %.3f MB predicted; per layer %s; bitwise as none: %s",
                    prec, name.c_str(), r.peak_act / 1e6, p.peak_act / 1e6, layers_ok ? "exact" : "OFF",
                    same ? "yes" : "NO");
      expect(rel <= 0.05 && layers_ok && same, buf);
    }
    if (std::string(prec) != "fp32") {
      const double ratio = double(base.peak_act) / double(fp32_peak);
      char buf[120];
      std::snprintf(buf, sizeof buf, "%s activations are %.3f of fp32's (at most 0.55)", prec, ratio);
      expect(ratio <= 0.55, buf);
    }
  }
}

int main() {
  memory_and_exactness();
  overflow();
  return report("test_precision");
}
