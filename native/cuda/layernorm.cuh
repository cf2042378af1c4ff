// LayerNorm on the GPU: one warp per row (rows are C wide, C a few
// hundred to a few thousand). Statistics in fp32, two passes (mean, then
// the variance about it) as the CPU kernel does; out = (x - mean) * rstd *
// w + b with fp32 parameters. Backward: the input gradient per row
// (warp-reduced dot products), the parameter gradients as deterministic
// column sums (reduce.cuh). CPU reference: k::layernorm_forward/backward.
#pragma once
#include "common.cuh"
#include "reduce.cuh"

namespace ts::cuda {

constexpr float kLnEps = 1e-5f;

template <typename T>
__global__ void layernorm_forward_kernel(T* out, float* mean, float* rstd, const T* inp,
                                         const float* w, const float* b, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const T* x = inp + size_t(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += 32) s += ld(x[c]);
  const float m = warp_sum(s) / C;
  float v = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float d = ld(x[c]) - m;
    v += d * d;
  }
  const float r = 1.0f / sqrtf(warp_sum(v) / C + kLnEps);
  T* o = out + size_t(row) * C;
  for (int c = lane; c < C; c += 32) o[c] = st<T>((ld(x[c]) - m) * r * w[c] + b[c]);
  if (lane == 0) {
    mean[row] = m;
    rstd[row] = r;
  }
}

// dinp[row] += LayerNorm's input gradient (dinp is the fp32 residual stream's gradient).
template <typename T>
__global__ void layernorm_backward_kernel(float* dinp, const T* dout, const T* inp, const float* w,
                                          const float* mean, const float* rstd, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const T* d = dout + size_t(row) * C;
  const T* x = inp + size_t(row) * C;
  const float m = mean[row], r = rstd[row];
  float a = 0.0f, b = 0.0f;
  for (int c = lane; c < C; c += 32) {
    const float dn = w[c] * ld(d[c]);
    a += dn;
    b += dn * (ld(x[c]) - m) * r;
  }
  const float dnorm_mean = warp_sum(a) / C, dnorm_norm_mean = warp_sum(b) / C;
  float* di = dinp + size_t(row) * C;
  for (int c = lane; c < C; c += 32) {
    const float norm = (ld(x[c]) - m) * r;
    di[c] += (w[c] * ld(d[c]) - dnorm_mean - norm * dnorm_norm_mean) * r;
  }
}

template <typename T>
struct LnWeightGrad {  // f(r, c) = normalised x[r, c] * dout[r, c]
  const T* dout;
  const T* inp;
  const float* mean;
  const float* rstd;
  int C;
  __device__ float operator()(int r, int c) const {
    const size_t e = size_t(r) * C + c;
    return (ld(inp[e]) - mean[r]) * rstd[r] * ld(dout[e]);
  }
};

template <typename T>
void layernorm_forward(T* out, float* mean, float* rstd, const T* inp, const float* w, const float* b,
                       int N, int C, cudaStream_t s) {
  layernorm_forward_kernel<<<(N + 7) / 8, 256, 0, s>>>(out, mean, rstd, inp, w, b, N, C);
  KERNEL_CHECK();
}

// dinp += ..., dw += ..., db += ... ; partial: kColChunks * C floats.
template <typename T>
void layernorm_backward(float* dinp, float* dw, float* db, float* partial, const T* dout, const T* inp,
                        const float* w, const float* mean, const float* rstd, int N, int C,
                        cudaStream_t s) {
  layernorm_backward_kernel<<<(N + 7) / 8, 256, 0, s>>>(dinp, dout, inp, w, mean, rstd, N, C);
  KERNEL_CHECK();
  colsum(dw, partial, N, C, LnWeightGrad<T>{dout, inp, mean, rstd, C}, s);
  colsum(db, partial, N, C, ColOf<T>{dout, C}, s);
}

}  // namespace ts::cuda
