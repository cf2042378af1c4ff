// Training end to end through run_training, as the CLI runs it: the bundled
// example learns (its loss falls far below ln(vocab)), in bf16 and fp16 as
// in fp32; a seed gives bitwise-identical losses run after run; gradient
// accumulation matches the equivalent big batch.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "support.h"
#include "train/trainer.h"

using namespace ts;
using namespace ts::test;

int main() {
  // The example as shipped. Threshold: the synthetic task's best possible
  // loss is ~0.50 and ln(64) = 4.16; the example reaches ~0.56 in 300 steps.
  const std::string events = build_file("test_training_events.jsonl");
  const ExampleRun example = train_example({}, events);
  const int rc = example.exit_code;
  const std::vector<double>& full = example.losses;
  expect(rc == 0, "the example trains (exit 0)");
  expect(full.size() == 300, "300 steps recorded, got " + std::to_string(full.size()));
  if (!full.empty()) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "loss falls from %.3f to %.3f, below 1.0", full.front(), full.back());
    expect(full.front() > 3.5 && full.back() < 1.0, buf);
  }
  std::ifstream f(events);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string ev = ss.str();
  const size_t at = ev.rfind("\"final_val_loss\":");
  const double val = at == std::string::npos ? NAN : std::atof(ev.c_str() + at + 17);
  expect(val < 1.0, "held-out loss below 1.0 (" + std::to_string(val) + ")");

  // Mixed precision reaches the same loss on the example, within 2%.
  for (const char* p : {"bf16", "fp16"}) {
    const std::vector<double> low = train_example({std::string("train.precision=") + p}).losses;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s reaches loss %.4f after %zu steps, fp32 %.4f (within 2%%)", p,
                  low.empty() ? NAN : low.back(), low.size(), full.empty() ? NAN : full.back());
    expect(!full.empty() && low.size() == full.size() &&
               std::fabs(low.back() - full.back()) <= 0.02 * full.back(),
           buf);
  }

  // Determinism: same seed, same losses, to the last bit, also with two threads.
  const std::vector<std::string> short_run = {"train.steps=25", "train.warmup=5", "train.threads=2"};
  const std::vector<double> a = train_example(short_run).losses, b = train_example(short_run).losses;
  bool same = a.size() == 25 && a == b;
  expect(same, "the same seed gives bitwise-identical losses over 25 steps");
  std::vector<std::string> other = short_run;
  other.push_back("train.seed=43");
  const std::vector<double> c = train_example(other).losses;
  expect(c.size() == 25 && c != a, "another seed gives other losses");

  // Gradient accumulation: K micro-batches of b sequences train like one
  // batch of K*b (same data, mean gradient), up to float rounding.
  for (int K : {2, 4}) {
    const ExampleRun one = train_example(
        {"train.steps=10", "train.warmup=2", "train.batch=" + std::to_string(4 * K)}, "", true);
    const ExampleRun many = train_example({"train.steps=10", "train.warmup=2", "train.batch=4",
                                           "train.accumulate=" + std::to_string(K)}, "", true);
    const std::vector<double>& big = one.losses;
    const std::vector<double>& acc = many.losses;
    const std::vector<float>& pa = one.params;
    const std::vector<float>& pb = many.params;
    double worst_loss = 0, diff2 = 0, norm2 = 0;
    for (size_t i = 0; i < big.size() && i < acc.size(); ++i)
      worst_loss = std::max(worst_loss, std::fabs(big[i] - acc[i]) / std::fabs(big[i]));
    // Relative difference of the parameter vectors, |a - b| / |a|: the sums
    // run in another order, and AdamW's normalised update magnifies float
    // rounding in parameters whose gradient is near zero.
    for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) {
      diff2 += (double(pa[i]) - pb[i]) * (double(pa[i]) - pb[i]);
      norm2 += double(pa[i]) * pa[i];
    }
    const double worst_param = std::sqrt(diff2 / norm2);
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "accumulate %d x batch 4 matches batch %d over 10 steps: loss rel diff %.1e, "
                  "parameters rel diff %.1e",
                  K, 4 * K, worst_loss, worst_param);
    expect(big.size() == 10 && acc.size() == 10 && pa.size() == pb.size() && worst_loss < 1e-5 &&
               worst_param < 1e-5,
           buf);
  }
  return report("test_training");
}
