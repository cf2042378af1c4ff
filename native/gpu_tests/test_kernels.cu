// Every CUDA kernel family against its CPU reference, kernel by kernel, on
// random data (npm run test:gpu; CTest label "gpu"): the CPU kernels of
// core/model/kernels.h where the CPU has the same kernel, else the formula the
// kernel implements, written out plainly here. fp32 within 1e-5 relative
// (reductions run in another order); bf16 storage within its rounding.
// The model-level parity (test_cuda.cpp) covers the cuBLAS products.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "attention.cuh"
#include "base/rng.h"
#include "check.h"
#include "crossentropy.cuh"
#include "elementwise.cuh"
#include "flash_attention.cuh"
#include "layernorm.cuh"
#include "model/kernels.h"
#include "reduce.cuh"

using namespace ts;
using namespace ts::cuda;
using ts::test::expect;

namespace {

std::vector<float> randn(size_t n, uint64_t seed, double sd = 1.0) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(r.normal() * sd);
  return v;
}

// Device copies that free themselves.
template <typename T>
struct Dev {
  T* p = nullptr;
  size_t n = 0;
  explicit Dev(size_t n_) : n(n_) { CUDA_CHECK(cudaMalloc(&p, n * sizeof(T))); }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) {
    CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~Dev() { cudaFree(p); }
  std::vector<T> get() const {
    std::vector<T> h(n);
    CUDA_CHECK(cudaDeviceSynchronize());
    CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
};

std::vector<float> widen(const std::vector<__nv_bfloat16>& v) {
  std::vector<float> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = __bfloat162float(v[i]);
  return o;
}

// max |a - b| / max(max |b|, tiny)
double rel(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, m = 1e-30;
  for (size_t i = 0; i < a.size(); ++i) {
    d = std::max(d, double(std::fabs(a[i] - b[i])));
    m = std::max(m, double(std::fabs(b[i])));
  }
  return a.size() == b.size() ? d / m : INFINITY;
}

void close(const std::vector<float>& gpu, const std::vector<float>& cpu, double tol, const std::string& what) {
  const double r = rel(gpu, cpu);
  expect(r <= tol, what + test::fmt(" (%.1e, tolerance %.0e)", r, tol));
}

const int N = 96, C = 160;  // rows not a multiple of the 8 rows a block takes; C not of 32

void test_layernorm() {
  const auto x = randn(size_t(N) * C, 1), w = randn(C, 2), b = randn(C, 3), dy = randn(size_t(N) * C, 4);
  std::vector<float> out(x.size()), mean(N), rstd(N), dx(x.size(), 0.0f), dw(C, 0.0f), db(C, 0.0f);
  k::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  k::layernorm_backward(dx.data(), dw.data(), db.data(), dy.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
  Dev<float> gx(x), gw(w), gb(b), gdy(dy), gout(x.size()), gmean(N), grstd(N), gdx(std::vector<float>(x.size(), 0.0f)),
      gdw(std::vector<float>(C, 0.0f)), gdb(std::vector<float>(C, 0.0f)), part(size_t(kColChunks) * C);
  layernorm_forward(gout.p, gmean.p, grstd.p, gx.p, gw.p, gb.p, N, C, nullptr);
  layernorm_backward(gdx.p, gdw.p, gdb.p, part.p, gdy.p, gx.p, gw.p, gmean.p, grstd.p, N, C, nullptr);
  close(gout.get(), out, 1e-5, "layernorm forward: output");
  close(grstd.get(), rstd, 1e-5, "layernorm forward: 1/std");
  close(gdx.get(), dx, 1e-5, "layernorm backward: input gradient");
  close(gdw.get(), dw, 1e-5, "layernorm backward: weight gradient (column sums)");
  close(gdb.get(), db, 1e-5, "layernorm backward: bias gradient (column sums)");
  // bf16 storage of input and output: the reference rounds the input the same way.
  std::vector<__nv_bfloat16> xh(x.size());
  std::vector<float> xr(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    xh[i] = __float2bfloat16_rn(x[i]);
    xr[i] = __bfloat162float(xh[i]);
  }
  k::layernorm_forward(out.data(), mean.data(), rstd.data(), xr.data(), w.data(), b.data(), N, C);
  Dev<__nv_bfloat16> hx(xh), hout(x.size());
  layernorm_forward(hout.p, gmean.p, grstd.p, hx.p, gw.p, gb.p, N, C, nullptr);
  close(widen(hout.get()), out, 1.0 / 128, "layernorm forward, bf16 storage: within bf16 rounding");
}

void test_bias_and_sumsq() {
  const auto d = randn(size_t(N) * C, 5);
  std::vector<float> db(C, 0.5f);
  k::bias_backward(db.data(), d.data(), N, C);
  Dev<float> gd(d), gdb(std::vector<float>(C, 0.5f)), part(size_t(kColChunks) * C);
  colsum(gdb.p, part.p, N, C, ColOf<float>{gd.p, C}, nullptr);
  close(gdb.get(), db, 1e-5, "column sums (bias gradients), accumulated onto what was there");
  Dev<double> partial(kSumSqBlocks), total(1);
  sumsq_partial_kernel<<<kSumSqBlocks, 256>>>(partial.p, gd.p, d.size());
  sum_ordered_kernel<<<1, 32>>>(total.p, partial.p, kSumSqBlocks);
  const double want = k::sum_squares(d.data(), d.size()), got = total.get()[0];
  expect(std::fabs(got - want) <= 1e-12 * want, "sum of squares (gradient norm), in double");
}

void test_gelu_and_adamw() {
  const size_t n = 10007;
  const auto x = randn(n, 6, 3.0), dy = randn(n, 7);
  std::vector<float> y(n), dx(n);
  k::gelu_forward(y.data(), x.data(), n);
  k::gelu_backward(dx.data(), x.data(), dy.data(), n);
  Dev<float> gx(x), gdy(dy), gy(n), gdx(n);
  gelu_forward_kernel<<<blocks_for(n, 256), 256>>>(gy.p, gx.p, n);
  gelu_backward_kernel<<<blocks_for(n, 256), 256>>>(gdx.p, gx.p, gdy.p, n);
  close(gy.get(), y, 1e-6, "gelu forward (the CPU's tanh_fast, shared)");
  close(gdx.get(), dx, 1e-6, "gelu backward");
  auto p = randn(n, 8), g = randn(n, 9), m = randn(n, 10, 0.1), v = randn(n, 11, 0.1);
  for (auto& e : v) e = std::fabs(e);
  Dev<float> gp(p), gg(g), gm(m), gv(v);
  Dev<__nv_bfloat16> low(n);
  k::adamw(p.data(), g.data(), m.data(), v.data(), n, 3e-4, 0.9, 0.95, 1e-8, 0.1, 7);
  adamw_kernel<<<blocks_for(n, 256), 256>>>(gp.p, gg.p, gm.p, gv.p, low.p, n,
                                            k::AdamW<float>::make(3e-4, 0.9, 0.95, 1e-8, 0.1, 7));
  close(gp.get(), p, 1e-6, "adamw: parameters");
  close(gm.get(), m, 1e-6, "adamw: first moment");
  close(gv.get(), v, 1e-6, "adamw: second moment");
  close(widen(low.get()), p, 1.0 / 128, "adamw: the bf16 weight copy follows the parameters");
}

void test_encoder() {
  const int B = 3, T = 32, V = 50;
  Rng r(12);
  std::vector<int32_t> tok(size_t(B) * T);
  for (auto& t : tok) t = int32_t(r.below(V / 5));  // few distinct tokens: many repeats
  const auto wte = randn(size_t(V) * C, 13), wpe = randn(size_t(T) * C, 14), dout = randn(size_t(B) * T * C, 15);
  std::vector<float> out(size_t(B) * T * C), dwte(wte.size(), 0.25f), dwpe(wpe.size(), 0.25f);
  k::encoder_forward(out.data(), tok.data(), wte.data(), wpe.data(), B, T, C);
  k::encoder_backward(dwte.data(), dwpe.data(), dout.data(), tok.data(), B, T, C);
  Dev<int32_t> gtok(tok);
  Dev<float> gwte(wte), gwpe(wpe), gout(out.size()), gd(dout), gdwte(std::vector<float>(wte.size(), 0.25f)),
      gdwpe(std::vector<float>(wpe.size(), 0.25f));
  encoder_forward_kernel<<<blocks_for(out.size(), 256), 256>>>(gout.p, gtok.p, gwte.p, gwpe.p, B * T, T, C);
  encoder_backward_wpe_kernel<<<blocks_for(wpe.size(), 256), 256>>>(gdwpe.p, gd.p, B, T, C);
  std::vector<int32_t> csr;
  const size_t U = token_csr(tok, V, csr);
  Dev<int32_t> gcsr(csr);
  encoder_backward_wte_kernel<<<unsigned(U), 256>>>(gdwte.p, gd.p, gcsr.p, gcsr.p + U, gcsr.p + 2 * U + 1, C);
  close(gout.get(), out, 0, "embedding forward: exact");
  // The same additions in the same order as the CPU: bitwise.
  close(gdwte.get(), dwte, 0, "embedding backward, token rows (repeated tokens, no atomics): bitwise the cpu's");
  close(gdwpe.get(), dwpe, 0, "embedding backward, position rows: bitwise the cpu's");
}

void test_crossentropy() {
  const int rows = 37, V = 300, ld = 320;
  const auto logits = randn(size_t(rows) * V, 16, 4.0);
  Rng r(17);
  std::vector<int32_t> tg(rows);
  for (auto& t : tg) t = int32_t(r.below(V));
  std::vector<float> probs(logits), losses(rows);
  const double mean = k::crossentropy_forward(probs.data(), losses.data(), probs.data(), tg.data(), rows, V);
  std::vector<float> padded(size_t(rows) * ld, 7.0f);  // the padding holds junk the kernels must not read
  for (int i = 0; i < rows; ++i) std::copy_n(logits.begin() + size_t(i) * V, V, padded.begin() + size_t(i) * ld);
  Dev<float> gp(padded), gl(rows);
  Dev<int32_t> gt(tg);
  Dev<double> gmean(1);
  crossentropy_forward(gp.p, gl.p, gt.p, rows, V, ld, nullptr);
  mean_kernel<<<1, 1024>>>(gmean.p, gl.p, rows);
  auto unpad = [&](const std::vector<float>& v) {
    std::vector<float> o(size_t(rows) * V);
    for (int i = 0; i < rows; ++i) std::copy_n(v.begin() + size_t(i) * ld, V, o.begin() + size_t(i) * V);
    return o;
  };
  close(unpad(gp.get()), probs, 1e-5, "cross-entropy forward: probabilities (online max/sum)");
  close(gl.get(), losses, 1e-5, "cross-entropy forward: per-token losses");
  expect(std::fabs(gmean.get()[0] - mean) <= 1e-6 * mean, "cross-entropy forward: mean loss");
  k::crossentropy_backward(probs.data(), tg.data(), 0.25f, rows, V);
  crossentropy_backward(gp.p, gt.p, 0.25f, rows, V, ld, nullptr);
  const auto back = gp.get();
  close(unpad(back), probs, 1e-5, "cross-entropy backward: logits' gradient");
  bool pad_zero = true;
  for (int i = 0; i < rows; ++i)
    for (int j = V; j < ld; ++j) pad_zero = pad_zero && back[size_t(i) * ld + j] == 0.0f;
  expect(pad_zero, "cross-entropy backward: the padding columns are 0");
}

void test_softmax() {
  const int B = 2, NH = 3, T = 70;
  const size_t rows = size_t(B) * NH * T;
  const auto pre = randn(rows * T, 18, 2.0), datt = randn(rows * T, 19);
  const float scale = 0.125f;
  // The formula (the CPU's attention kernel does the same between its products).
  std::vector<float> att(rows * T, 0.0f), dpre(rows * T, 0.0f);
  for (size_t r = 0; r < rows; ++r) {
    const int t = int(r % T);
    const float* x = &pre[r * T];
    float mx = x[0];
    for (int j = 1; j <= t; ++j) mx = std::max(mx, x[j]);
    double sum = 0;
    for (int j = 0; j <= t; ++j) sum += k::exp_(x[j] - mx);
    for (int j = 0; j <= t; ++j) att[r * T + j] = float(k::exp_(x[j] - mx) / sum);
    double dot = 0;
    for (int j = 0; j <= t; ++j) dot += double(datt[r * T + j]) * att[r * T + j];
    for (int j = 0; j <= t; ++j) dpre[r * T + j] = float(att[r * T + j] * (datt[r * T + j] - dot) * scale);
  }
  Dev<float> g(pre), gd(datt);
  softmax_causal_forward(g.p, g.p, int(rows), T, nullptr);  // in place, as the model runs it
  const auto ga = g.get();
  close(ga, att, 1e-5, "causal softmax forward, in place: probabilities, zero above the diagonal");
  softmax_causal_backward(gd.p, gd.p, g.p, int(rows), T, scale, nullptr);
  close(gd.get(), dpre, 1e-5, "causal softmax backward, in place");
}

// Fused attention's forward (bf16) against the CPU's attention on the same
// rounded inputs: the output, and the probabilities backward recomputes
// from fp32 scores and the forward's log-sum-exp.
void test_flash_attention(int hs) {
  const int B = 2, NH = 2, T = 128, C = NH * hs;
  const size_t n3 = size_t(B) * T * 3 * C, n = size_t(B) * T * C, rows = size_t(B) * NH * T;
  auto qkv = randn(n3, 20 + hs);
  std::vector<__nv_bfloat16> qkv_h(n3);
  for (size_t i = 0; i < n3; ++i) qkv[i] = __bfloat162float(qkv_h[i] = __float2bfloat16_rn(qkv[i]));
  std::vector<float> y(n), att(rows * T);
  k::attention_forward(y.data(), att.data(), qkv.data(), B, T, C, NH);
  // The scaled scores, as backward's product computes them.
  std::vector<float> scores(rows * T);
  const double scale = 1.0 / std::sqrt(double(hs));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int i = 0; i < T; ++i)
        for (int j = 0; j < T; ++j) {
          double d = 0;
          for (int e = 0; e < hs; ++e)
            d += double(qkv[(size_t(b) * T + i) * 3 * C + h * hs + e]) * qkv[(size_t(b) * T + j) * 3 * C + C + h * hs + e];
          scores[((size_t(b) * NH + h) * T + i) * T + j] = float(d * scale);
        }
  Dev<__nv_bfloat16> gqkv(qkv_h), gy(n), gp(rows * T);
  Dev<float> lse(rows), gs(scores);
  flash_attention_forward(gy.p, lse.p, gqkv.p, B, NH, T, C, nullptr);
  softmax_from_lse(gp.p, gs.p, lse.p, int(rows), T, nullptr);
  const std::string h = "fused attention forward (head size " + std::to_string(hs) + ", bf16): ";
  close(widen(gy.get()), y, 2e-2, h + "output");
  close(widen(gp.get()), att, 1e-2, h + "probabilities again from the log-sum-exp");
}

}  // namespace

int main() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    std::printf("FAIL no usable GPU\n");
    return 1;
  }
  try {
    test_layernorm();
    test_bias_and_sumsq();
    test_gelu_and_adamw();
    test_encoder();
    test_crossentropy();
    test_softmax();
    test_flash_attention(32);
    test_flash_attention(64);
    CUDA_CHECK(cudaDeviceSynchronize());
  } catch (const std::exception& e) {
    expect(false, e.what());
  }
  return test::report("test_kernels");
}
