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

// IEEE binary16 in integer arithmetic: for compilers without _Float16 on
// this target (clang before 15 on x86 without AVX512-FP16, the fuzz build),
// and the reference the tests hold the compiler's conversion to. Round to
// nearest even; overflow (from 65520 up) to infinity; NaN stays NaN (quiet).
inline uint16_t float_to_fp16_soft(float f) {
  const uint32_t x = float_to_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  if (ax >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (ax >= 0x38800000u) {  // a normal half: rebias the exponent (127 -> 15), round off 13 bits
    uint32_t h = (ax - 0x38000000u) >> 13;
    const uint32_t rest = ax & 0x1fffu;
    h += (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ? 1u : 0u;
    return uint16_t(sign | h);
  }
  // A subnormal half (units of 2^-24) or zero: the float's significand
  // shifted right by 126 - exponent, rounded; below 2^-25 it is zero.
  const int shift = 126 - int(ax >> 23);
  if (shift > 24) return uint16_t(sign);
  const uint32_t mant = (ax & 0x7fffffu) | 0x800000u;
  uint32_t h = mant >> shift;
  const uint32_t rest = mant & ((1u << shift) - 1u), half = 1u << (shift - 1);
  h += (rest > half || (rest == half && (h & 1u))) ? 1u : 0u;
  return uint16_t(sign | h);
}

inline float fp16_to_float_soft(uint16_t u) {
  const uint32_t sign = uint32_t(u & 0x8000u) << 16;
  const uint32_t e = (u >> 10) & 0x1fu, m = u & 0x3ffu;
  if (e == 0x1fu) return bits_to_float(sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0u));  // NaN comes back quiet
  if (e == 0) {  // zero or subnormal: m * 2^-24, exact in a float
    const float v = float(m) * 0x1p-24f;
    return sign ? -v : v;
  }
  return bits_to_float(sign | ((e + 112u) << 23) | (m << 13));
}

// The compiler's _Float16 where it has one (F16C instructions on x86):
// the same bits as the integer versions, faster.
inline uint16_t float_to_fp16(float f) {
#ifdef __FLT16_MAX__
  const _Float16 h = static_cast<_Float16>(f);
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
#else
  return float_to_fp16_soft(f);
#endif
}

inline float fp16_to_float(uint16_t u) {
#ifdef __FLT16_MAX__
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
#else
  return fp16_to_float_soft(u);
#endif
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
