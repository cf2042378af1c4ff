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

// fp16 conversions against IEEE binary16 computed from its definition
// (value = m * 2^-24 or (1024 + m) * 2^(e-25)), every one of the 65,536
// halves: each converts back to itself; the midpoint between two neighbours
// rounds to the even one and a float ulp either side of it to the nearer.
// The integer version (what builds without _Float16 use) and the one the
// build uses must both hold, and agree bit for bit.
static double fp16_value(uint32_t h) {
  const uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const double mag = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), int(e) - 25);
  return (h & 0x8000) ? -mag : mag;
}

static void fp16_conversions() {
  int wrong_back = 0, wrong_round = 0, disagree = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint32_t e = (h >> 10) & 0x1f;
    if (e == 0x1f) continue;
    const float v = float(fp16_value(h));
    const bool back = fp16_to_float_soft(uint16_t(h)) == v && fp16_to_float(uint16_t(h)) == v &&
                      std::signbit(fp16_to_float_soft(uint16_t(h))) == bool(h & 0x8000) &&
                      float_to_fp16_soft(v) == h && float_to_fp16(v) == h;
    if (!back) ++wrong_back;
    // The neighbour one step away from zero (0x7bff's is infinity).
    const uint32_t next = h + 1;
    const double mid = (std::fabs(fp16_value(h)) + ((next & 0x7fff) == 0x7c00 ? 65536.0 : std::fabs(fp16_value(next)))) / 2;
    const float fmid = float((h & 0x8000) ? -mid : mid);
    const uint16_t even = uint16_t((h & 1) ? next : h);
    const uint16_t below = uint16_t(h), above = uint16_t(next);
    for (auto conv : {float_to_fp16_soft, float_to_fp16}) {
      if (conv(fmid) != even || conv(std::nextafter(fmid, 0.0f)) != below ||
          conv(std::nextafter(fmid, fmid * 2)) != above)
        ++wrong_round;
    }
    for (float probe : {v, fmid, std::nextafter(fmid, 0.0f), std::nextafter(fmid, fmid * 2), v * 1.0001f})
      if (float_to_fp16_soft(probe) != float_to_fp16(probe)) ++disagree;
  }
  expect(wrong_back == 0, "every half converts to its value and back (" + std::to_string(wrong_back) + " wrong)");
  expect(wrong_round == 0, "midpoints round to even, a ulp off them to the nearer (" + std::to_string(wrong_round) + " wrong)");
  expect(disagree == 0, "the integer conversion and the build's agree bit for bit");
  const float inf = INFINITY;
  expect(float_to_fp16_soft(65504.0f) == 0x7bff && float_to_fp16_soft(65519.996f) == 0x7bff &&
             float_to_fp16_soft(65520.0f) == 0x7c00 && float_to_fp16_soft(1e30f) == 0x7c00 &&
             float_to_fp16_soft(-inf) == 0xfc00 && float_to_fp16(70000.0f) == 0x7c00,
         "overflow goes to infinity from 65520 up (what loss scaling detects)");
  expect(float_to_fp16_soft(0x1p-25f) == 0 && float_to_fp16_soft(std::nextafter(0x1p-25f, 1.0f)) == 1 &&
             float_to_fp16_soft(1e-30f) == 0 && float_to_fp16_soft(-0.0f) == 0x8000,
         "underflow: 2^-25 ties to zero, anything above it to the smallest subnormal");
  const uint16_t qnan = float_to_fp16_soft(NAN), snan_back = 0x7c01;
  expect((qnan & 0x7c00) == 0x7c00 && (qnan & 0x3ff) != 0 && std::isnan(fp16_to_float_soft(snan_back)) &&
             std::isnan(fp16_to_float(snan_back)) && fp16_to_float_soft(0x7c00) == inf,
         "NaN stays NaN both ways, infinity stays infinity");
}

int main() {
  fp16_conversions();
  memory_and_exactness();
  overflow();
  return report("test_precision");
}
