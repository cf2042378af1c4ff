// exp and tanh for the float kernels, written so the compiler vectorises
// them (no calls, no branches): libm's scalar tanhf made GELU alone a third
// of a block's forward time. Cephes' expf polynomial after a Cody-Waite
// range reduction, within 2 ulp over the clamped range. The double
// versions used by the gradient checks are libm's. Shared with the CUDA
// kernels (hd.h), so the GPU's GELU and softmax are bit-for-bit this code.
#pragma once
#include <cmath>
#include <cstdint>

#include "base/hd.h"

namespace ts::k {

TS_HD float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round to nearest by adding and removing 1.5 * 2^23: unlike floorf this
  // vectorises without -ffast-math (which would also fold it away; the
  // build never uses it).
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  // x - n*ln2 in two parts, so the reduction itself is exact enough.
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = bits_to_float(uint32_t(int32_t(n) + 127) << 23);
  return p * scale;
}

TS_HD float tanh_fast(float x) {
  // tanh(x) = 1 - 2 / (exp(2x) + 1); beyond |x| = 10 it is +-1 in float.
  x = x < -10.0f ? -10.0f : (x > 10.0f ? 10.0f : x);
  return 1.0f - 2.0f / (exp_fast(2.0f * x) + 1.0f);
}

TS_HD float exp_(float x) { return exp_fast(x); }
TS_HD double exp_(double x) { return std::exp(x); }
TS_HD float tanh_(float x) { return tanh_fast(x); }
TS_HD double tanh_(double x) { return std::tanh(x); }

}  // namespace ts::k
