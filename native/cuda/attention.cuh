// Causal self-attention's softmax on the GPU. The matrix products of
// every (batch, head) run in cuBLAS, one batched call each (gpt_cuda.cu,
// reading q, k, v in place inside the [B, T, 3C] qkv tensor, as the CPU
// kernel does); these kernels are the row softmax between them and its
// backward, run in place (att may be pre, dpre may be datt: a row belongs
// to one warp, which reads all of it before writing). One warp per row of the T x T score matrix; the scores arrive
// in the activation type (already scaled by 1/sqrt(hs) in the product; a
// bf16 score tile is half the memory traffic of an fp32 one, which is what
// this memory-bound part of attention costs), the softmax runs in fp32,
// the probabilities are stored in the activation type, zero above the
// diagonal. exp is core/model/fastmath.h's, the CPU's. CPU reference:
// k::attention_forward/backward.
#pragma once
#include "common.cuh"
#include "model/fastmath.h"

namespace ts::cuda {

// rows = B * NH * T rows; row r is query t = r % T.
template <typename T>
__global__ void softmax_causal_forward_kernel(T* att, const T* pre, int rows, int T_) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T_;
  const T* x = pre + size_t(row) * T_;
  float mx = -INFINITY;
  for (int j = lane; j <= t; j += 32) mx = fmaxf(mx, ld(x[j]));
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j <= t; j += 32) sum += k::exp_(ld(x[j]) - mx);
  const float inv = 1.0f / warp_sum(sum);
  T* a = att + size_t(row) * T_;
  for (int j = lane; j < T_; j += 32) a[j] = st<T>(j <= t ? k::exp_(ld(x[j]) - mx) * inv : 0.0f);
}

// dpre[j] = p[j] * (datt[j] - sum_k p[k] datt[k]) * scale for j <= t, else 0.
template <typename T>
__global__ void softmax_causal_backward_kernel(T* dpre, const T* datt, const T* att, int rows,
                                               int T_, float scale) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T_;
  const T* d = datt + size_t(row) * T_;
  const T* p = att + size_t(row) * T_;
  float dot = 0.0f;
  for (int j = lane; j <= t; j += 32) dot += ld(d[j]) * ld(p[j]);
  dot = warp_sum(dot);
  T* o = dpre + size_t(row) * T_;
  for (int j = lane; j < T_; j += 32) o[j] = st<T>(j <= t ? ld(p[j]) * (ld(d[j]) - dot) * scale : 0.0f);
}

// Fused attention's backward: probabilities again from the scores (fp32,
// scaled) and each query's log-sum-exp, p = exp(s - lse), zero above the
// diagonal.
template <typename T>
__global__ void softmax_from_lse_kernel(T* att, const float* scores, const float* lse, int rows, int T_) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T_;
  const float* x = scores + size_t(row) * T_;
  const float l = lse[row];
  T* a = att + size_t(row) * T_;
  for (int j = lane; j < T_; j += 32) a[j] = st<T>(j <= t ? k::exp_(x[j] - l) : 0.0f);
}

template <typename T>
void softmax_from_lse(T* att, const float* scores, const float* lse, int rows, int T_, cudaStream_t s) {
  softmax_from_lse_kernel<<<(rows + 7) / 8, 256, 0, s>>>(att, scores, lse, rows, T_);
  KERNEL_CHECK();
}

template <typename T>
void softmax_causal_forward(T* att, const T* pre, int rows, int T_, cudaStream_t s) {
  softmax_causal_forward_kernel<<<(rows + 7) / 8, 256, 0, s>>>(att, pre, rows, T_);
  KERNEL_CHECK();
}

template <typename T>
void softmax_causal_backward(T* dpre, const T* datt, const T* att, int rows, int T_, float scale,
                             cudaStream_t s) {
  softmax_causal_backward_kernel<<<(rows + 7) / 8, 256, 0, s>>>(dpre, datt, att, rows, T_, scale);
  KERNEL_CHECK();
}

}  // namespace ts::cuda
