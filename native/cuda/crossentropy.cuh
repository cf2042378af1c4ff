// Softmax cross-entropy over the vocabulary, fused, on the GPU: one block
// per token row. Forward turns the logits into probabilities in place (what
// backward needs; stored in the activation type) and writes each token's
// loss in fp32 in log-sum-exp form (finite when p[target] underflows).
// Backward overwrites the probabilities with the logits' gradient
// (p - onehot) * dloss. The softmax statistics come from one online pass
// (max and sum merged as they go), so the row is read twice, not three
// times; summation order differs from the CPU's, hence results agree to
// rounding, not bitwise. Rows have a padded stride (ld >= V, a multiple of
// 64) so the logits product keeps its tensor-core alignment. Block
// reductions in a fixed tree. CPU reference: k::crossentropy_forward/backward.
#pragma once
#include "common.cuh"
#include "model/fastmath.h"

namespace ts::cuda {

constexpr int kCeThreads = 512;

// (max, sum of exp(x - max)) pairs, merged: the softmax's statistics in
// one pass over the row (an online softmax), so the row is read twice in
// all (statistics, then probabilities) instead of three times.
struct MaxSum {
  float m, s;
};
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  if (a.m < b.m) {
    const MaxSum t = a;
    a = b;
    b = t;
  }
  if (b.m == -INFINITY) return a;
  return {a.m, a.s + b.s * k::exp_(b.m - a.m)};
}
__device__ MaxSum block_maxsum(MaxSum v, MaxSum* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  for (int o = 16; o > 0; o >>= 1)
    v = merge(v, {__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)});
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : MaxSum{-INFINITY, 0.0f};
  for (int o = 16; o > 0; o >>= 1)
    v = merge(v, {__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)});
  return v;
}

template <typename T>
__global__ void crossentropy_forward_kernel(T* probs, float* losses, const int32_t* targets, int V, int ld_) {
  __shared__ MaxSum sh[32];
  T* l = probs + size_t(blockIdx.x) * ld_;
  const float target_logit = ld(l[targets[blockIdx.x]]);
  MaxSum acc{-INFINITY, 0.0f};
  for (int j = threadIdx.x; j < V; j += blockDim.x) {
    const float x = ld(l[j]);
    if (x > acc.m) {
      acc.s = acc.s * k::exp_(acc.m - x) + 1.0f;
      acc.m = x;
    } else {
      acc.s += k::exp_(x - acc.m);
    }
  }
  const MaxSum r = block_maxsum(acc, sh);
  const float inv = 1.0f / r.s;
  // Every thread has read the target's logit (block_maxsum synchronised) before any write.
  for (int j = threadIdx.x; j < V; j += blockDim.x) l[j] = st<T>(k::exp_(ld(l[j]) - r.m) * inv);
  if (threadIdx.x == 0) losses[blockIdx.x] = logf(r.s) + r.m - target_logit;
}

// The padding columns [V, ld) become 0: the products over the padded
// vocabulary (gpt_cuda.cu) then add nothing.
template <typename T>
__global__ void crossentropy_backward_kernel(T* probs, const int32_t* targets, float dloss, int V, int ld_) {
  T* p = probs + size_t(blockIdx.x) * ld_;
  const int tg = targets[blockIdx.x];
  for (int j = threadIdx.x; j < ld_; j += blockDim.x)
    p[j] = j < V ? st<T>(ld(p[j]) * dloss - (j == tg ? dloss : 0.0f)) : st<T>(0.0f);
}

template <typename T>
void crossentropy_forward(T* probs, float* losses, const int32_t* targets, int N, int V, int ld_, cudaStream_t s) {
  crossentropy_forward_kernel<<<N, kCeThreads, 0, s>>>(probs, losses, targets, V, ld_);
  KERNEL_CHECK();
}

template <typename T>
void crossentropy_backward(T* probs, const int32_t* targets, float dloss, int N, int V, int ld_, cudaStream_t s) {
  crossentropy_backward_kernel<<<N, kCeThreads, 0, s>>>(probs, targets, dloss, V, ld_);
  KERNEL_CHECK();
}

}  // namespace ts::cuda
