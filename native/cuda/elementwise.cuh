// Element-wise kernels of the GPT model on the GPU: embeddings, GELU, the
// bias/residual base of a projection, conversions, gradient scaling and
// AdamW. The per-element math is core/model/elementwise.h's, shared with the CPU
// kernels (core/model/kernels.h), which are the reference these are tested
// against (tests/test_cuda.cpp). Grid-stride loops, one element a thread.
#pragma once
#include <vector>

#include "common.cuh"
#include "model/elementwise.h"

namespace ts::cuda {

// out[i, c] = wte[tok[i], c] + wpe[i % T, c]
template <typename T>
__global__ void encoder_forward_kernel(T* out, const int32_t* tok, const float* wte, const float* wpe,
                                       int N, int T_, int C) {
  const size_t n = size_t(N) * C;
  for (size_t e = blockIdx.x * size_t(blockDim.x) + threadIdx.x; e < n; e += size_t(gridDim.x) * blockDim.x) {
    const size_t i = e / C, c = e % C;
    out[e] = st<T>(wte[size_t(tok[i]) * C + c] + wpe[(i % T_) * C + c]);
  }
}

// dwpe[t, c] += dres[b, t, c] for b = 0..B-1, added in b order as the CPU does.
__global__ void encoder_backward_wpe_kernel(float* dwpe, const float* dres, int B, int T_, int C) {
  const size_t n = size_t(T_) * C;
  for (size_t e = blockIdx.x * size_t(blockDim.x) + threadIdx.x; e < n; e += size_t(gridDim.x) * blockDim.x) {
    float acc = dwpe[e];
    for (int b = 0; b < B; ++b) acc += dres[size_t(b) * n + e];
    dwpe[e] = acc;
  }
}

// dwte[tok, c] += dres[i, c] over the positions i holding tok, in position
// order: one block per distinct token (tokens/starts/positions built on the
// host from the batch, a counting sort), so repeated tokens never race and
// no atomics make the sum order vary.
__global__ void encoder_backward_wte_kernel(float* dwte, const float* dres, const int32_t* tokens,
                                            const int32_t* starts, const int32_t* positions, int C) {
  const int u = blockIdx.x;
  const int32_t tok = tokens[u];
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = dwte[size_t(tok) * C + c];
    for (int32_t k = starts[u]; k < starts[u + 1]; ++k) acc += dres[size_t(positions[k]) * C + c];
    dwte[size_t(tok) * C + c] = acc;
  }
}

// The batch's positions grouped by token, for the embedding's backward:
// out = [tokens (U), starts (U + 1), positions (N)], a counting sort.
// Returns U, the number of distinct tokens.
inline size_t token_csr(const std::vector<int32_t>& in, int V, std::vector<int32_t>& out) {
  std::vector<int32_t> count(size_t(V) + 1, 0);
  for (int32_t t : in) ++count[size_t(t) + 1];
  std::vector<int32_t> tokens;
  std::vector<int32_t> starts(1, 0);
  for (int v = 0; v < V; ++v)
    if (count[size_t(v) + 1] > 0) {
      tokens.push_back(v);
      starts.push_back(starts.back() + count[size_t(v) + 1]);
    }
  for (int v = 0; v < V; ++v) count[size_t(v) + 1] += count[size_t(v)];
  std::vector<int32_t> pos(in.size(), 0);
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t tok = size_t(in[i]);
    pos[size_t(count[tok])] = int32_t(i);
    count[tok] += 1;
  }
  out = tokens;
  out.insert(out.end(), starts.begin(), starts.end());
  out.insert(out.end(), pos.begin(), pos.end());
  return tokens.size();
}

template <typename T>
__global__ void gelu_forward_kernel(T* out, const T* inp, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = st<T>(k::gelu(ld(inp[i])));
}

// d = dout * gelu'(inp); d may alias dout.
template <typename T>
__global__ void gelu_backward_kernel(T* d, const T* inp, const T* dout, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    d[i] = st<T>(ld(dout[i]) * k::gelu_grad(ld(inp[i])));
}

// out[i, c] = residual[i, c] (or 0) + bias[c]: the base a projection's
// product is accumulated onto (beta = 1), as the CPU's matmul_forward does.
template <typename T>
__global__ void bias_base_kernel(T* out, const T* residual, const float* bias, int N, int OC) {
  const size_t n = size_t(N) * OC;
  for (size_t e = blockIdx.x * size_t(blockDim.x) + threadIdx.x; e < n; e += size_t(gridDim.x) * blockDim.x) {
    const float r = residual ? ld(residual[e]) : 0.0f;
    out[e] = st<T>(r + (bias ? bias[e % OC] : 0.0f));
  }
}

template <typename T>
__global__ void convert_kernel(T* out, const float* inp, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = st<T>(inp[i]);
}

__global__ void scale_kernel(float* x, float s, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    x[i] *= s;
}

// AdamW over one tensor; also refreshes the 16-bit copy of the weights the
// matrix products read (wlow == nullptr under fp32).
template <typename T>
__global__ void adamw_kernel(float* p, const float* g, float* m, float* v, T* wlow, size_t n,
                             k::AdamW<float> upd) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float pi = p[i], mi = m[i], vi = v[i];
    upd(pi, g[i], mi, vi);
    p[i] = pi;
    m[i] = mi;
    v[i] = vi;
    if (wlow) wlow[i] = st<T>(pi);
  }
}

}  // namespace ts::cuda
