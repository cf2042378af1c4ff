// The analytic memory model against the tracking allocator, over a spread of
// shapes: parameters, gradients and optimizer state must agree exactly,
// activations within 1%, per layer and in total; the step's peak too.
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/rng.h"
#include "check.h"
#include "model/alloc.h"
#include "model/model.h"
#include "plan/memory_model.h"
#include "plan/planner.h"

using namespace ts;
using ts::test::expect;

static void expect_equal(const char* what, const std::string& layer, uint64_t measured,
                         uint64_t predicted) {
  expect(measured == predicted, test::fmt("%s %s: measured %llu, predicted %llu", layer.c_str(), what,
                                          (unsigned long long)measured, (unsigned long long)predicted));
}

static void expect_close(const char* what, const std::string& layer, uint64_t measured,
                         uint64_t predicted, double tol) {
  const double rel = std::fabs(double(measured) - double(predicted)) / std::max(1.0, double(predicted));
  expect(rel <= tol, test::fmt("%s %s: measured %llu, predicted %llu (%.2f%% off)", layer.c_str(), what,
                              (unsigned long long)measured, (unsigned long long)predicted, rel * 100));
}

static void check(int V, int T, int L, int C, int NH, int B) {
  Config cfg;
  cfg.model.vocab = V;
  cfg.model.context = T;
  cfg.model.layers = L;
  cfg.model.width = C;
  cfg.model.heads = NH;
  cfg.train.batch = B;
  const MemoryPrediction pred = predict_memory(cfg);

  // What the trainer does in a step: token buffers, forward, backward.
  Allocator alloc(L + 2);
  GPT<float> model(cfg.model, B, alloc, 1);
  Buffer<int32_t> in(alloc, size_t(B) * T, 0, Cat::workspace), tg(alloc, size_t(B) * T, 0, Cat::workspace);
  Rng r(5);
  for (size_t i = 0; i < in.size(); ++i) in.data()[i] = int32_t(r.below(V));
  for (size_t i = 0; i < tg.size(); ++i) tg.data()[i] = int32_t(r.below(V));
  model.forward(in.data(), tg.data());
  model.backward();

  const int failures_before = test::failures;
  expect_equal("params", "total", model.num_params(), pred.params_total);
  for (int l = 0; l < L + 2; ++l) {
    const LayerBytes& p = pred.layers[l];
    const std::string& name = model.layers()[l].name;
    expect(p.name == name,
           test::fmt("layer %d named %s by the model, %s by the memory model", l, name.c_str(), p.name.c_str()));
    expect_equal("param", name, alloc.layer(l, Cat::param).peak, p.param);
    expect_equal("grad", name, alloc.layer(l, Cat::grad).peak, p.grad);
    expect_equal("optim", name, alloc.layer(l, Cat::optim).peak, p.optim);
    expect_close("act", name, alloc.layer(l, Cat::act).peak, p.act, 0.01);
    expect_close("workspace", name, alloc.layer(l, Cat::workspace).peak, p.workspace, 0.01);
  }
  expect_equal("param", "total", alloc.category(Cat::param).peak, pred.param);
  expect_equal("grad", "total", alloc.category(Cat::grad).peak, pred.grad);
  expect_equal("optim", "total", alloc.category(Cat::optim).peak, pred.optim);
  expect_close("peak act", "total", alloc.category(Cat::act).peak, pred.peak_act, 0.01);
  expect_close("peak workspace", "total", alloc.category(Cat::workspace).peak, pred.peak_workspace, 0.01);
  expect_close("step peak", "total", alloc.total().peak, pred.peak, 0.01);
  // After backward only the states and token buffers stay live.
  expect_equal("act live after backward", "total", alloc.category(Cat::act).live, 0);
  std::printf("%s V=%d T=%d L=%d C=%d NH=%d B=%d: peak %.2f MB (act %.2f MB)\n",
              test::failures == failures_before ? "ok  " : "FAIL", V, T, L, C, NH, B,
              alloc.total().peak / 1e6, alloc.category(Cat::act).peak / 1e6);
}

int main() {
  // Per check only the failures; each shape gets its line below.
  test::quiet_unless_verbose();
  check(64, 16, 2, 32, 4, 2);
  check(256, 128, 6, 256, 8, 8);  // examples/bench-gpt.train
  check(1000, 7, 1, 24, 3, 3);    // odd sizes
  check(50, 33, 5, 64, 1, 1);     // one head
  check(8, 4, 1, 8, 2, 5);
  return test::report("test_memory");
}
