// Per-element math of the GPT model's layers, written once for the CPU
// kernels (kernels.h) and the CUDA kernels (native/cuda/): tanh-GELU and its
// derivative, and AdamW's update of one parameter. Templated on the element
// type so the gradient checks run them in double.
#pragma once
#include <cmath>

#include "model/fastmath.h"

namespace ts::k {

template <typename F>
TS_HD F gelu(F x) {
  const F s = F(0.7978845608028654);  // sqrt(2/pi)
  return F(0.5) * x * (F(1) + tanh_(s * (x + F(0.044715) * x * x * x)));
}

template <typename F>
TS_HD F gelu_grad(F x) {
  const F s = F(0.7978845608028654);
  const F u = s * (x + F(0.044715) * x * x * x);
  const F th = tanh_(u);
  const F sech2 = F(1) - th * th;
  return F(0.5) * (F(1) + th) + F(0.5) * x * sech2 * s * (F(1) + F(3) * F(0.044715) * x * x);
}

// AdamW's bias-corrected step for one parameter, with the corrections
// c1 = 1/(1-beta1^t), c2 = 1/(1-beta2^t) computed once per step by the
// caller. Decoupled weight decay wd is 0 for biases and norms.
template <typename F>
struct AdamW {
  F b1, b2, c1, c2, lr, eps, wd;
  TS_HD void operator()(F& p, F g, F& m, F& v) const {
    using std::sqrt;
    const F mi = b1 * m + (F(1) - b1) * g;
    const F vi = b2 * v + (F(1) - b2) * g * g;
    m = mi;
    v = vi;
    p -= lr * ((mi * c1) / (sqrt(vi * c2) + eps) + wd * p);
  }
  static AdamW make(double lr, double beta1, double beta2, double eps, double decay, long long t) {
    return {F(beta1), F(beta2), F(1.0 / (1.0 - std::pow(beta1, double(t)))),
            F(1.0 / (1.0 - std::pow(beta2, double(t)))), F(lr), F(eps), F(decay)};
  }
};

}  // namespace ts::k
