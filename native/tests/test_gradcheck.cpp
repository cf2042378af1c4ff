// Finite-difference gradient checks, in double precision, of every layer
// kernel and of the whole GPT model: the analytic backward pass must match
// central differences of the forward pass.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "base/rng.h"
#include "check.h"
#include "model/alloc.h"
#include "model/kernels.h"
#include "model/model.h"

using namespace ts;
using ts::test::expect;
using Vec = std::vector<double>;

static Vec randn(size_t n, Rng& r, double sd = 1.0) {
  Vec v(n);
  for (auto& x : v) x = r.normal() * sd;
  return v;
}

// Compares analytic gradient `g` of `loss` w.r.t. `x` with central
// differences at every element (or `stride`-spaced ones for big tensors).
static void check(const std::string& name, Vec& x, const Vec& g,
                  const std::function<double()>& loss, double tol = 1e-6, size_t stride = 1) {
  const double h = 1e-5;
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const double keep = x[i];
    x[i] = keep + h;
    const double lp = loss();
    x[i] = keep - h;
    const double lm = loss();
    x[i] = keep;
    const double fd = (lp - lm) / (2 * h);
    const double err = std::fabs(fd - g[i]) / std::max(1e-3, std::fabs(fd) + std::fabs(g[i]));
    if (err > worst) {
      worst = err;
      worst_i = i;
    }
  }
  expect(worst <= tol, test::fmt("%-34s max rel err %.2e (at %zu)", name.c_str(), worst, worst_i));
}

// L = sum(out * R): a scalar whose gradient w.r.t. out is R.
static double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

static void layernorm_check(Rng& r) {
  const int N = 3, C = 7;
  Vec x = randn(N * C, r), w = randn(C, r), b = randn(C, r), R = randn(N * C, r);
  Vec out(N * C), mean(N), rstd(N);
  auto loss = [&] {
    k::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    return dot(out, R);
  };
  loss();
  Vec dx(N * C, 0), dw(C, 0), db(C, 0);
  k::layernorm_backward(dx.data(), dw.data(), db.data(), R.data(), x.data(), w.data(),
                        mean.data(), rstd.data(), N, C);
  check("layernorm d(input)", x, dx, loss);
  check("layernorm d(weight)", w, dw, loss);
  check("layernorm d(bias)", b, db, loss);
}

static void matmul_check(Rng& r) {
  const int N = 4, C = 5, OC = 6;
  Vec x = randn(N * C, r), W = randn(OC * C, r), b = randn(OC, r), res = randn(N * OC, r),
      R = randn(N * OC, r);
  Vec out(N * OC);
  auto loss = [&] {
    k::matmul_forward(out.data(), x.data(), W.data(), b.data(), N, C, OC, res.data());
    return dot(out, R);
  };
  Vec dx(N * C), dW(OC * C, 0), db(OC, 0);
  k::matmul_backward(dx.data(), dW.data(), db.data(), R.data(), x.data(), W.data(), N, C, OC);
  check("matmul d(input)", x, dx, loss);
  check("matmul d(weight)", W, dW, loss);
  check("matmul d(bias)", b, db, loss);
  check("matmul d(residual)", res, R, loss);
}

static void gelu_check(Rng& r) {
  const size_t n = 40;
  Vec x = randn(n, r, 2.0), R = randn(n, r), out(n), dx(n);
  auto loss = [&] {
    k::gelu_forward(out.data(), x.data(), n);
    return dot(out, R);
  };
  k::gelu_backward(dx.data(), x.data(), R.data(), n);
  check("gelu d(input)", x, dx, loss);
}

static void attention_check(Rng& r) {
  const int B = 2, T = 5, C = 8, NH = 2;
  Vec qkv = randn(size_t(B) * T * 3 * C, r), R = randn(size_t(B) * T * C, r);
  Vec out(size_t(B) * T * C), att(size_t(B) * NH * T * T);
  auto loss = [&] {
    k::attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
    return dot(out, R);
  };
  loss();
  Vec dqkv(qkv.size()), scratch(size_t(T) * T);
  k::attention_backward(dqkv.data(), scratch.data(), R.data(), qkv.data(), att.data(), B, T, C,
                        NH);
  check("attention d(qkv)", qkv, dqkv, loss);
  // Causality: output at t must not depend on inputs after t.
  Vec before = out;
  qkv[size_t(T - 1) * 3 * C + 2 * C] += 1.0;  // v of the last position, batch 0
  loss();
  bool causal = true;
  for (int t = 0; t < T - 1; ++t)
    for (int c = 0; c < C; ++c)
      if (out[size_t(t) * C + c] != before[size_t(t) * C + c]) causal = false;
  expect(causal, "attention is causal");
}

static void crossentropy_check(Rng& r) {
  const int N = 4, V = 9;
  Vec logits = randn(size_t(N) * V, r, 2.0), probs(logits.size()), losses(N);
  std::vector<int32_t> tgt = {0, 3, 8, 3};
  // In place, as the model runs it: the probabilities overwrite the logits.
  auto loss = [&] {
    probs = logits;
    return k::crossentropy_forward(probs.data(), losses.data(), probs.data(), tgt.data(), N, V);
  };
  loss();
  Vec d = probs;
  k::crossentropy_backward(d.data(), tgt.data(), 1.0 / N, N, V);
  check("crossentropy d(logits)", logits, d, loss);
}

static void encoder_check(Rng& r) {
  const int B = 2, T = 3, C = 4, V = 5;
  Vec wte = randn(size_t(V) * C, r), wpe = randn(size_t(T) * C, r), R = randn(size_t(B) * T * C, r);
  std::vector<int32_t> tok = {1, 4, 1, 0, 1, 2};  // repeated tokens accumulate
  Vec out(size_t(B) * T * C);
  auto loss = [&] {
    k::encoder_forward(out.data(), tok.data(), wte.data(), wpe.data(), B, T, C);
    return dot(out, R);
  };
  Vec dwte(wte.size(), 0), dwpe(wpe.size(), 0);
  k::encoder_backward(dwte.data(), dwpe.data(), R.data(), tok.data(), B, T, C);
  check("embedding d(wte)", wte, dwte, loss);
  check("embedding d(wpe)", wpe, dwpe, loss);
}

// The whole model: every parameter tensor of every layer against central
// differences of the mean cross-entropy.
static void model_check() {
  ModelConfig mc;
  mc.vocab = 11;
  mc.context = 6;
  mc.layers = 2;
  mc.width = 8;
  mc.heads = 2;
  const int B = 2;
  Allocator alloc(mc.layers + 2);
  GPT<double> model(mc, B, alloc, 7);
  // Larger-than-GPT-2 weights so that every path carries signal.
  Rng r(3);
  for (int l = 0; l < model.num_layers(); ++l)
    for (size_t i = 0; i < model.layer_params(l); ++i) model.params(l)[i] += r.normal() * 0.3;
  std::vector<int32_t> in(B * mc.context), tgt(B * mc.context);
  for (auto& t : in) t = int32_t(r.below(mc.vocab));
  for (auto& t : tgt) t = int32_t(r.below(mc.vocab));
  model.zero_grad();
  model.forward(in.data(), tgt.data());
  model.backward();
  auto loss = [&] {
    const double l = model.forward(in.data(), tgt.data());
    model.release_activations();
    return l;
  };
  for (const TensorInfo& t : model.tensors()) {
    Vec x(model.params(t.layer) + t.offset, model.params(t.layer) + t.offset + t.count);
    Vec g(model.grads(t.layer) + t.offset, model.grads(t.layer) + t.offset + t.count);
    double* p = model.params(t.layer) + t.offset;
    // check() perturbs its own copy; mirror each perturbation into the model.
    auto mirrored = [&] {
      for (size_t i = 0; i < t.count; ++i) p[i] = x[i];
      return loss();
    };
    check("gpt " + t.name, x, g, mirrored, 1e-5);
    for (size_t i = 0; i < t.count; ++i) p[i] = x[i];
  }
  // All activations were released: nothing but states and no leaks.
  const bool clean = alloc.category(Cat::act).live == 0 && alloc.category(Cat::workspace).live == 0;
  expect(clean, "activations and workspace all freed after backward");
}

int main() {
  Rng r(2024);
  layernorm_check(r);
  matmul_check(r);
  gelu_check(r);
  attention_check(r);
  crossentropy_check(r);
  encoder_check(r);
  model_check();
  return test::report("test_gradcheck");
}
