// CPU layer kernels of the GPT model: forward and backward of every layer
// type, written by hand, templated on the element type so the trainer runs
// them in float and the gradient-check tests run the very same code in
// double.
//
// Conventions (as in llm.c): activations are row-major [N = B*T, C];
// backward kernels ACCUMULATE into parameter gradients (+=) and into the
// residual-stream gradient where noted, and OVERWRITE scratch gradients.
// Every reduction runs in a fixed order independent of the thread count
// (rows split across threads, column sums split by column), so a seed gives
// bitwise-identical losses run after run.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "model/elementwise.h"
#include "model/gemm.h"

namespace ts::k {

constexpr double kLayerNormEps = 1e-5;

// out[b,t,:] = wte[tok[b,t],:] + wpe[t,:]
template <typename F>
void encoder_forward(F* out, const int32_t* tok, const F* wte, const F* wpe, int B, int T,
                     int C) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      F* o = out + (size_t(b) * T + t) * C;
      const F* e = wte + size_t(tok[size_t(b) * T + t]) * C;
      const F* p = wpe + size_t(t) * C;
      for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
    }
}

// dwte[tok] += dout, dwpe[t] += dout. Threads own disjoint channel ranges,
// so repeated tokens never race.
template <typename F>
void encoder_backward(F* dwte, F* dwpe, const F* dout, const int32_t* tok, int B, int T,
                      int C) {
  constexpr int CB = 16;
  const int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const F* d = dout + (size_t(b) * T + t) * C;
        F* we = dwte + size_t(tok[size_t(b) * T + t]) * C;
        F* pe = dwpe + size_t(t) * C;
        for (int c = c0; c < c1; ++c) {
          we[c] += d[c];
          pe[c] += d[c];
        }
      }
  }
}

template <typename F>
void layernorm_forward(F* out, F* mean, F* rstd, const F* inp, const F* w, const F* bias,
                       int N, int C) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const F* x = inp + size_t(i) * C;
    F m = 0;
    for (int c = 0; c < C; ++c) m += x[c];
    m /= C;
    F v = 0;
    for (int c = 0; c < C; ++c) {
      const F d = x[c] - m;
      v += d * d;
    }
    v /= C;
    const F s = F(1) / std::sqrt(v + F(kLayerNormEps));
    F* o = out + size_t(i) * C;
    for (int c = 0; c < C; ++c) o[c] = (x[c] - m) * s * w[c] + bias[c];
    mean[i] = m;
    rstd[i] = s;
  }
}

// dinp += ..., dw += ..., db += ...
template <typename F>
void layernorm_backward(F* dinp, F* dw, F* db, const F* dout, const F* inp, const F* w,
                        const F* mean, const F* rstd, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const F* d = dout + size_t(i) * C;
    const F* x = inp + size_t(i) * C;
    const F m = mean[i], s = rstd[i];
    F dnorm_mean = 0, dnorm_norm_mean = 0;
    for (int c = 0; c < C; ++c) {
      const F norm = (x[c] - m) * s;
      const F dn = w[c] * d[c];
      dnorm_mean += dn;
      dnorm_norm_mean += dn * norm;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    F* di = dinp + size_t(i) * C;
    for (int c = 0; c < C; ++c) {
      const F norm = (x[c] - m) * s;
      di[c] += (w[c] * d[c] - dnorm_mean - norm * dnorm_norm_mean) * s;
    }
  }
  constexpr int CB = 64;
  const int nblocks = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * CB, c1 = c0 + CB < C ? c0 + CB : C;
    for (int i = 0; i < N; ++i) {
      const F* d = dout + size_t(i) * C;
      const F* x = inp + size_t(i) * C;
      const F m = mean[i], s = rstd[i];
      for (int c = c0; c < c1; ++c) {
        dw[c] += (x[c] - m) * s * d[c];
        db[c] += d[c];
      }
    }
  }
}

// dbias[o] += sum_i dout[i, o]
template <typename F>
void bias_backward(F* dbias, const F* dout, int N, int OC) {
  constexpr int CB = 64;
  const int nblocks = (OC + CB - 1) / CB;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * CB, c1 = c0 + CB < OC ? c0 + CB : OC;
    for (int i = 0; i < N; ++i) {
      const F* d = dout + size_t(i) * OC;
      for (int c = c0; c < c1; ++c) dbias[c] += d[c];
    }
  }
}

// out[N,OC] = base + inp[N,C] @ W[OC,C]^T + bias, where base is 0 or, when
// `residual` is given, the residual stream: the residual add then costs no
// pass of its own and no buffer for the projection's output.
template <typename F>
void matmul_forward(F* out, const F* inp, const F* W, const F* bias, int N, int C, int OC,
                    const F* residual = nullptr) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    F* o = out + size_t(i) * OC;
    const F* r = residual ? residual + size_t(i) * OC : nullptr;
    for (int c = 0; c < OC; ++c) o[c] = (r ? r[c] : F(0)) + (bias ? bias[c] : F(0));
  }
  gemm<F>(false, true, N, OC, C, F(1), inp, C, W, C, F(1), out, OC);
}

// dinp = dout @ W (overwritten), dW += dout^T @ inp, dbias += colsum(dout).
template <typename F>
void matmul_backward(F* dinp, F* dW, F* dbias, const F* dout, const F* inp, const F* W,
                     int N, int C, int OC) {
  gemm<F>(false, false, N, C, OC, F(1), dout, OC, W, C, F(0), dinp, C);
  gemm<F>(true, false, OC, C, N, F(1), dout, OC, inp, C, F(1), dW, C);
  if (dbias) bias_backward(dbias, dout, N, OC);
}

template <typename F>
void gelu_forward(F* out, const F* inp, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) out[i] = gelu(inp[i]);
}

// d = dout * gelu'(inp); d may alias dout.
template <typename F>
void gelu_backward(F* d, const F* inp, const F* dout, size_t n) {
#pragma omp parallel for simd schedule(static)
  for (size_t i = 0; i < n; ++i) d[i] = dout[i] * gelu_grad(inp[i]);
}

// Rounds a tile to the storage precision between the two products of an
// attention head (mixed precision); the default keeps full precision.
struct NoRound {
  template <typename F>
  void operator()(F*, size_t) const {}
};

// Causal self-attention. qkv is [B,T,3C] (q, k, v side by side, head h at
// columns h*hs), att is [B,NH,T,T] (softmax probabilities, zero above the
// diagonal; kept for backward), out is [B,T,C]. Each (b, h) is two small
// matrix products around a row softmax.
template <typename F, typename Round = NoRound>
void attention_forward(F* out, F* att, const F* qkv, int B, int T, int C, int NH,
                       const Round& round = Round()) {
  const int hs = C / NH;
  const F scale = F(1) / std::sqrt(F(hs));
  const int C3 = 3 * C;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const F* q = qkv + size_t(b) * T * C3 + h * hs;
      const F* kk = q + C;
      const F* v = q + 2 * C;
      F* a = att + (size_t(b) * NH + h) * T * T;
      gemm<F>(false, true, T, T, hs, scale, q, C3, kk, C3, F(0), a, T);
#pragma omp parallel for schedule(static)
      for (int t = 0; t < T; ++t) {
        F* row = a + size_t(t) * T;
        F mx = row[0];
        for (int j = 1; j <= t; ++j) mx = row[j] > mx ? row[j] : mx;
        F sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j <= t; ++j) {
          row[j] = exp_(row[j] - mx);
          sum += row[j];
        }
        const F inv = F(1) / sum;
        for (int j = 0; j <= t; ++j) row[j] *= inv;
        for (int j = t + 1; j < T; ++j) row[j] = F(0);
      }
      round(a, size_t(T) * T);
      gemm<F>(false, false, T, hs, T, F(1), a, T, v, C3, F(0), out + size_t(b) * T * C + h * hs,
              C);
    }
}

// dqkv (overwritten) from dout [B,T,C]; scratch holds T*T elements.
template <typename F, typename Round = NoRound>
void attention_backward(F* dqkv, F* scratch, const F* dout, const F* qkv, const F* att, int B,
                        int T, int C, int NH, const Round& round = Round()) {
  const int hs = C / NH;
  const F scale = F(1) / std::sqrt(F(hs));
  const int C3 = 3 * C;
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const size_t base = size_t(b) * T * C3 + h * hs;
      const F* q = qkv + base;
      const F* kk = q + C;
      const F* v = q + 2 * C;
      F* dq = dqkv + base;
      F* dk = dq + C;
      F* dv = dq + 2 * C;
      const F* a = att + (size_t(b) * NH + h) * T * T;
      const F* d = dout + size_t(b) * T * C + h * hs;
      F* ds = scratch;
      // dv = att^T @ dout; datt = dout @ v^T
      gemm<F>(true, false, T, hs, T, F(1), a, T, d, C, F(0), dv, C3);
      gemm<F>(false, true, T, T, hs, F(1), d, C, v, C3, F(0), ds, T);
      // softmax backward, with the 1/sqrt(hs) of the forward folded in.
#pragma omp parallel for schedule(static)
      for (int t = 0; t < T; ++t) {
        F* row = ds + size_t(t) * T;
        const F* p = a + size_t(t) * T;
        F dot = 0;
        for (int j = 0; j <= t; ++j) dot += row[j] * p[j];
        for (int j = 0; j <= t; ++j) row[j] = p[j] * (row[j] - dot) * scale;
        for (int j = t + 1; j < T; ++j) row[j] = F(0);
      }
      round(ds, size_t(T) * T);
      // dq = ds @ k; dk = ds^T @ q
      gemm<F>(false, false, T, hs, T, F(1), ds, T, kk, C3, F(0), dq, C3);
      gemm<F>(true, false, T, hs, T, F(1), ds, T, q, C3, F(0), dk, C3);
    }
}

// Softmax cross-entropy, fused: probs may be the logits buffer itself, which
// is then overwritten with the probabilities (backward needs nothing else), losses[i] = -log p[target].
// Returns the mean loss, summed in double in row order.
template <typename F>
double crossentropy_forward(F* probs, F* losses, const F* logits, const int32_t* targets,
                            int N, int V) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    const F* l = logits + size_t(i) * V;
    F* p = probs + size_t(i) * V;
    // probs may alias logits: read the target's logit before overwriting.
    const F target_logit = l[targets[i]];
    F mx = l[0];
    for (int j = 1; j < V; ++j) mx = l[j] > mx ? l[j] : mx;
    F sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < V; ++j) {
      p[j] = exp_(l[j] - mx);
      sum += p[j];
    }
    const F inv = F(1) / sum;
    for (int j = 0; j < V; ++j) p[j] *= inv;
    // log-sum-exp form keeps the loss finite when p[target] underflows.
    losses[i] = std::log(sum) + mx - target_logit;
  }
  double total = 0;
  for (int i = 0; i < N; ++i) total += double(losses[i]);
  return total / N;
}

// dlogits = (probs - onehot(target)) * dloss, in place over probs.
template <typename F>
void crossentropy_backward(F* probs, const int32_t* targets, F dloss, int N, int V) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < N; ++i) {
    F* p = probs + size_t(i) * V;
    for (int j = 0; j < V; ++j) p[j] *= dloss;
    p[targets[i]] -= dloss;
  }
}

// Sum of squares in double over fixed chunks, combined in chunk order: the
// result does not depend on the thread count.
template <typename F>
double sum_squares(const F* x, size_t n) {
  constexpr int kChunks = 64;
  double part[kChunks];
#pragma omp parallel for schedule(static)
  for (int c = 0; c < kChunks; ++c) {
    const size_t i0 = n * c / kChunks, i1 = n * (c + 1) / kChunks;
    double s = 0;
    for (size_t i = i0; i < i1; ++i) s += double(x[i]) * double(x[i]);
    part[c] = s;
  }
  double s = 0;
  for (int c = 0; c < kChunks; ++c) s += part[c];
  return s;
}

template <typename F>
void scale(F* x, F s, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) x[i] *= s;
}

// AdamW with bias correction (t counts optimizer steps from 1). Decoupled
// weight decay applies only when decay != 0 (weights, not biases or norms).
template <typename F>
void adamw(F* p, const F* g, F* m, F* v, size_t n, double lr, double beta1, double beta2,
           double eps, double decay, int64_t t) {
  const AdamW<F> upd = AdamW<F>::make(lr, beta1, beta2, eps, decay, t);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; ++i) upd(p[i], g[i], m[i], v[i]);
}

}  // namespace ts::k
