// 16-bit storage formats for mixed precision: bf16 (fp32's exponent, 8-bit
// mantissa) and IEEE fp16 (5-bit exponent, 11-bit mantissa, max 65504).
// Activations are stored in them; matrix-product inputs are rounded to them
// and multiplied with fp32 accumulation. Conversions round to nearest even,
// keep NaN a NaN, and take fp16 overflow to infinity (what dynamic loss
// scaling detects). The loops vectorise: no calls, no branches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "base/hd.h"

namespace ts {

enum class Precision : int { fp32 = 0, bf16, fp16 };
Precision precision_from_name(const std::string& name);

// Shared with the CUDA kernels (hd.h): the GPU stores bf16 activations
// with exactly this rounding.
TS_HD uint16_t float_to_bf16(float f) {
  const uint32_t u = float_to_bits(f);
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return uint16_t(nan ? ((u >> 16) | 0x40u) : rounded);
}

TS_HD float bf16_to_float(uint16_t h) { return bits_to_float(uint32_t(h) << 16); }

// IEEE binary16 through the compiler's _Float16 (F16C instructions on x86).
inline uint16_t float_to_fp16(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}

inline float fp16_to_float(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
}

inline void pack16(uint16_t* dst, const float* src, size_t n, Precision p) {
  if (p == Precision::bf16) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = float_to_bf16(src[i]);
  } else {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = float_to_fp16(src[i]);
  }
}

inline void unpack16(float* dst, const uint16_t* src, size_t n, Precision p) {
  if (p == Precision::bf16) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(src[i]);
  } else {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = fp16_to_float(src[i]);
  }
}

// dst = src rounded to the format (dst may be src). No-op copy for fp32.
inline void round_to(float* dst, const float* src, size_t n, Precision p) {
  if (p == Precision::bf16) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_float(float_to_bf16(src[i]));
  } else if (p == Precision::fp16) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; ++i) dst[i] = fp16_to_float(float_to_fp16(src[i]));
  } else if (dst != src) {
    std::memcpy(dst, src, n * sizeof(float));
  }
}

}  // namespace ts
