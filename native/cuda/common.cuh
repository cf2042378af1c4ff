// Shared by the CUDA kernel families: error checks, the storage types of
// activations (fp32, bf16, fp16) and warp/block reductions.
//
// Errors travel up as exceptions (CudaError) to the trainer's step loop,
// which ends the run with an error record; nothing here exits the process.
// Every reduction has a fixed shape (warp shuffles in a fixed tree, block
// partials combined in index order), so a seed gives bitwise-identical
// results run after run and with or without activation checkpointing.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cublas.cuh"
#include "model/lowp.h"

namespace ts::cuda {

struct CudaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void check_cuda(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw CudaError(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                    ") in " + what + " at " + file + ":" + std::to_string(line));
}
inline void check_cublas(cublasStatus_t s, const char* what, const char* file, int line) {
  if (s != 0)
    throw CudaError(std::string("cuBLAS error ") + cublas_status_name(s) + " in " + what + " at " +
                    file + ":" + std::to_string(line));
}
#define CUDA_CHECK(x) ::ts::cuda::check_cuda((x), #x, __FILE__, __LINE__)
#define CUBLAS_CHECK(x) ::ts::cuda::check_cublas((x), #x, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors surface here, faults
// at the next synchronisation.
#define KERNEL_CHECK() CUDA_CHECK(cudaGetLastError())

// Storage types: loads widen to fp32, stores round to nearest even (bf16
// through lowp.h's rounding, the one the CPU backend uses).
template <typename T> struct Dtype;
template <> struct Dtype<float> {
  static constexpr cudaDataType_t id = CUDA_R_32F;
  static __device__ __forceinline__ float load(float x) { return x; }
  static __device__ __forceinline__ float store(float x) { return x; }
};
template <> struct Dtype<__nv_bfloat16> {
  static constexpr cudaDataType_t id = CUDA_R_16BF;
  static __device__ __forceinline__ float load(__nv_bfloat16 x) { return __bfloat162float(x); }
  static __device__ __forceinline__ __nv_bfloat16 store(float x) {
    __nv_bfloat16_raw r;
    r.x = float_to_bf16(x);
    return __nv_bfloat16(r);
  }
};
template <> struct Dtype<__half> {
  static constexpr cudaDataType_t id = CUDA_R_16F;
  static __device__ __forceinline__ float load(__half x) { return __half2float(x); }
  static __device__ __forceinline__ __half store(float x) { return __float2half_rn(x); }
};
template <typename T> __device__ __forceinline__ float ld(T x) { return Dtype<T>::load(x); }
template <typename T> __device__ __forceinline__ T st(float x) { return Dtype<T>::store(x); }

template <typename A>
__device__ __forceinline__ A warp_sum(A v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over a block of up to 1024 threads; every thread gets the result.
// `shared` holds 32 elements.
template <typename A>
__device__ A block_sum(A v, A* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  A t = lane < warps ? shared[lane] : A(0);
  return warp_sum(t);
}
__device__ inline float block_max(float v, float* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = (blockDim.x + 31) / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  const float t = lane < warps ? shared[lane] : -INFINITY;
  return warp_max(t);
}

inline unsigned blocks_for(size_t n, unsigned threads) {
  const size_t b = (n + threads - 1) / threads;
  return unsigned(b < 65535u * 16u ? b : 65535u * 16u);
}

}  // namespace ts::cuda
