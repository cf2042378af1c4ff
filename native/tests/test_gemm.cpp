// The built-in blocked matrix product (used where OpenBLAS is absent) against
// a plain triple loop, and the configured gemm (OpenBLAS when present)
// against it, for every transpose combination, odd shapes, alpha and beta.
#include <cmath>
#include <cstdio>
#include <vector>

#include "base/rng.h"
#include "check.h"
#include "model/gemm.h"

using namespace ts;
using ts::test::expect;

static double naive(bool ta, bool tb, int M, int N, int K, const std::vector<double>& A, int lda,
                    const std::vector<double>& B, int ldb, int i, int j) {
  double s = 0;
  for (int k = 0; k < K; ++k)
    s += (ta ? A[size_t(k) * lda + i] : A[size_t(i) * lda + k]) *
         (tb ? B[size_t(j) * ldb + k] : B[size_t(k) * ldb + j]);
  return s;
}

int main() {
  test::quiet_unless_verbose();
  Rng r(1);
  int cases = 0;
  const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 300}, {64, 96, 40}, {5, 260, 9}};
  for (const auto& sh : shapes)
    for (int t = 0; t < 4; ++t) {
      const int M = sh[0], N = sh[1], K = sh[2];
      const bool ta = t & 1, tb = t & 2;
      const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
      std::vector<double> A(size_t(ta ? K : M) * lda), B(size_t(tb ? N : K) * ldb), C0(size_t(M) * ldc);
      for (auto& x : A) x = r.normal();
      for (auto& x : B) x = r.normal();
      for (auto& x : C0) x = r.normal();
      const double alpha = 0.75, beta = t == 3 ? 0.0 : 1.5;
      std::vector<float> Af(A.begin(), A.end()), Bf(B.begin(), B.end());
      std::vector<float> Cb(C0.begin(), C0.end()), Cg(C0.begin(), C0.end());
      gemm_builtin<float>(ta, tb, M, N, K, float(alpha), Af.data(), lda, Bf.data(), ldb, float(beta), Cb.data(), ldc);
      gemm<float>(ta, tb, M, N, K, float(alpha), Af.data(), lda, Bf.data(), ldb, float(beta), Cg.data(), ldc);
      double worst = 0;
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          const double want = alpha * naive(ta, tb, M, N, K, A, lda, B, ldb, i, j) + beta * C0[size_t(i) * ldc + j];
          const double tol = 1e-5 * (std::sqrt(double(K)) + std::fabs(want));
          worst = std::fmax(worst, std::fabs(Cb[size_t(i) * ldc + j] - want) / tol);
          worst = std::fmax(worst, std::fabs(Cg[size_t(i) * ldc + j] - want) / tol);
        }
      ++cases;
      expect(worst <= 1, test::fmt("M=%d N=%d K=%d ta=%d tb=%d: error %.2f x tolerance", M, N, K, ta, tb, worst));
    }
  std::printf("%d/%d gemm cases within tolerance (%s and builtin)\n", cases - test::failures, cases, blas_name());
  return test::report("test_gemm");
}
