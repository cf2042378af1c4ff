// The vectorisable exp/tanh of the float kernels against libm in double.
#include <cmath>

#include "check.h"
#include "model/fastmath.h"

using ts::test::expect;
using ts::test::fmt;

int main() {
  double worst_exp = 0, worst_tanh = 0;
  for (float x = -80.0f; x < 80.0f; x += 0.00137f) {
    const double e = std::exp(double(x));
    worst_exp = std::fmax(worst_exp, std::fabs(ts::k::exp_fast(x) - e) / e);
  }
  for (float x = -12.0f; x < 12.0f; x += 0.0001f)
    worst_tanh = std::fmax(worst_tanh, std::fabs(ts::k::tanh_fast(x) - std::tanh(double(x))));
  // Saturation: no inf/NaN at the ends of the range.
  const bool finite = std::isfinite(ts::k::exp_fast(1000.0f)) && ts::k::exp_fast(-1000.0f) >= 0 &&
                      ts::k::tanh_fast(1e30f) == 1.0f && ts::k::tanh_fast(-1e30f) == -1.0f;
  // float's own rounding is 6e-8 relative: allow a few ulp.
  expect(worst_exp < 3e-7, fmt("exp_fast max relative error %.3g (under 3e-7)", worst_exp));
  expect(worst_tanh < 5e-7, fmt("tanh_fast max absolute error %.3g (under 5e-7)", worst_tanh));
  expect(finite, "exp_fast and tanh_fast saturate cleanly (no inf or NaN)");
  return ts::test::report("test_fastmath");
}
