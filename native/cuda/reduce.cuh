// Reductions of the GPT model on the GPU, all deterministic: column sums
// (bias and LayerNorm parameter gradients), sums of squares (the gradient
// norm) and the mean loss. Two stages: fixed row chunks write partials,
// then the partials are summed in chunk order. No atomics, so the result
// depends only on the data, never on scheduling.
#pragma once
#include "common.cuh"
#include "plan/memory_model.h"

namespace ts::cuda {

// Row chunks of a column sum (stage 1 grid.y); the memory model counts the partials.
constexpr int kColChunks = int(CudaFootprint::kColChunks);

// Stage 1: partial[chunk, c] = sum over the chunk's rows r of f(r, c).
// Block (32, 8): 32 columns, 8 row lanes; lanes combined in lane order.
template <typename Fn>
__global__ void colsum_partial_kernel(float* partial, int N, int OC, Fn f) {
  __shared__ float sh[8][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  const int r0 = int(int64_t(N) * blockIdx.y / gridDim.y), r1 = int(int64_t(N) * (blockIdx.y + 1) / gridDim.y);
  float acc = 0.0f;
  if (c < OC)
    for (int r = r0 + threadIdx.y; r < r1; r += 8) acc += f(r, c);
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && c < OC) {
    float s = 0.0f;
    for (int y = 0; y < 8; ++y) s += sh[y][threadIdx.x];
    partial[size_t(blockIdx.y) * OC + c] = s;
  }
}

// Stage 2: dst[c] += sum of partial[0..chunks, c] in chunk order.
__global__ void colsum_final_kernel(float* dst, const float* partial, int chunks, int OC) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= OC) return;
  float s = 0.0f;
  for (int k = 0; k < chunks; ++k) s += partial[size_t(k) * OC + c];
  dst[c] += s;
}

// dst[c] += sum_r f(r, c) over N rows; partial holds kColChunks * OC floats.
template <typename Fn>
void colsum(float* dst, float* partial, int N, int OC, Fn f, cudaStream_t s) {
  const dim3 grid((OC + 31) / 32, kColChunks), block(32, 8);
  colsum_partial_kernel<<<grid, block, 0, s>>>(partial, N, OC, f);
  KERNEL_CHECK();
  colsum_final_kernel<<<(OC + 255) / 256, 256, 0, s>>>(dst, partial, kColChunks, OC);
  KERNEL_CHECK();
}

template <typename T>
struct ColOf {  // f(r, c) = x[r, c]
  const T* x;
  int stride;
  __device__ float operator()(int r, int c) const { return ld(x[size_t(r) * stride + c]); }
};

constexpr int kSumSqBlocks = int(CudaFootprint::kSumSqBlocks);

// partial[blockIdx] = sum of squares (double) of the block's grid-stride share.
__global__ void sumsq_partial_kernel(double* partial, const float* x, size_t n) {
  __shared__ double sh[32];
  double s = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    s += double(x[i]) * double(x[i]);
  s = block_sum(s, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[0] = sum of in[0..n) in index order (one thread: n is small).
__global__ void sum_ordered_kernel(double* out, const double* in, int n) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  double s = 0;
  for (int i = 0; i < n; ++i) s += in[i];
  out[0] = s;
}

// out[0] = mean of x[0..n) in double, one block, fixed tree.
__global__ void mean_kernel(double* out, const float* x, int n) {
  __shared__ double sh[32];
  double s = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += double(x[i]);
  s = block_sum(s, sh);
  if (threadIdx.x == 0) out[0] = s / n;
}

}  // namespace ts::cuda
