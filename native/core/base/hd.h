// Functions compiled for both the CPU and the GPU. Element-wise and
// reduction math (GELU, exp/tanh, AdamW's update, 16-bit rounding) is
// written once, marked TS_HD, and called by the CPU kernels (kernels.h) and
// the CUDA kernels (native/cuda/) alike: CI, which has no GPU, tests the
// very math the GPU runs by testing the CPU backend.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define TS_HD __host__ __device__ __forceinline__
#else
#define TS_HD inline
#endif

namespace ts {

TS_HD float bits_to_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

TS_HD uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

}  // namespace ts
