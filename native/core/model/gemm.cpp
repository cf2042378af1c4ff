#include "model/gemm.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "base/dl.h"

namespace ts {

namespace {

// Element (i, j) of op(X) for a row-major X with leading dimension ld.
template <typename T>
inline T at(const T* X, int ld, bool trans, int i, int j) {
  return trans ? X[size_t(j) * ld + i] : X[size_t(i) * ld + j];
}

}  // namespace

// Blocked i-k-j product: B is packed into a contiguous KC x N panel so the
// innermost loop runs unit-stride over a row of C and vectorises; rows of C
// are split across threads, so every element is summed in the same order
// whatever the thread count (bitwise-reproducible runs).
template <typename T>
void gemm_builtin(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A,
                  int lda, const T* B, int ldb, T beta, T* C, int ldc) {
  if (M <= 0 || N <= 0) return;
#pragma omp parallel for schedule(static)
  for (int i = 0; i < M; ++i) {
    T* c = C + size_t(i) * ldc;
    if (beta == T(0)) std::fill(c, c + N, T(0));
    else if (beta != T(1)) for (int j = 0; j < N; ++j) c[j] *= beta;
  }
  if (K <= 0 || alpha == T(0)) return;
  constexpr int KC = 256;
  std::vector<T> panel(size_t(std::min(K, KC)) * N);
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    for (int k = 0; k < kc; ++k)
      for (int j = 0; j < N; ++j) panel[size_t(k) * N + j] = at(B, ldb, trans_b, k0 + k, j);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < M; ++i) {
      T* c = C + size_t(i) * ldc;
      for (int k = 0; k < kc; ++k) {
        const T a = alpha * at(A, lda, trans_a, i, k0 + k);
        const T* p = panel.data() + size_t(k) * N;
#pragma omp simd
        for (int j = 0; j < N; ++j) c[j] += a * p[j];
      }
    }
  }
}

template void gemm_builtin<float>(bool, bool, int, int, int, float, const float*, int,
                                  const float*, int, float, float*, int);
template void gemm_builtin<double>(bool, bool, int, int, int, double, const double*, int,
                                   const double*, int, double, double*, int);

// OpenBLAS, opened at run time: the trainer starts on a machine without it
// (and the .vsix carries no BLAS), training on the kernel above instead,
// and the run record's "blas" says which and why. The CBLAS ABI is fixed
// by the standard, so no header is needed: the enum values are CBLAS's.
// TRAINSCOPE_BLAS=builtin picks the kernel above; TRAINSCOPE_BLAS=PATH
// opens that library instead of libopenblas.so.0.
namespace {

constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

struct OpenBlas {
  void (*sgemm)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int) = nullptr;
  void (*dgemm)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*, int) = nullptr;
  char* (*get_config)() = nullptr;
  void (*set_num_threads)(int) = nullptr;
  std::string name;  // blas_name()
};

const OpenBlas& openblas() {
  static OpenBlas b;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("TRAINSCOPE_BLAS");
    const std::string want = env && *env ? env : "libopenblas.so.0";
    if (want == "builtin") {
      b.name = "builtin (TRAINSCOPE_BLAS=builtin)";
      return;
    }
    void* lib = dlopen(want.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      b.name = "builtin (" + (why ? std::string(why) : want + " not found") + ")";
      return;
    }
    std::string missing;
    OpenBlas found;
    dl_symbol(lib, "cblas_sgemm", found.sgemm, missing);
    dl_symbol(lib, "cblas_dgemm", found.dgemm, missing);
    dl_symbol(lib, "openblas_get_config", found.get_config, missing);
    dl_symbol(lib, "openblas_set_num_threads", found.set_num_threads, missing);
    if (!missing.empty()) {
      dlclose(lib);
      b.name = "builtin (" + want + " lacks " + missing + ")";
      return;
    }
    b = found;
    // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
    b.name = b.get_config();
  });
  return b;
}

}  // namespace

template <>
void gemm<float>(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda,
                 const float* B, int ldb, float beta, float* C, int ldc) {
  if (const auto f = openblas().sgemm)
    return f(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, M, N, K, alpha,
             A, lda, B, ldb, beta, C, ldc);
  gemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
template <>
void gemm<double>(bool ta, bool tb, int M, int N, int K, double alpha, const double* A,
                  int lda, const double* B, int ldb, double beta, double* C, int ldc) {
  if (const auto f = openblas().dgemm)
    return f(kCblasRowMajor, ta ? kCblasTrans : kCblasNoTrans, tb ? kCblasTrans : kCblasNoTrans, M, N, K, alpha,
             A, lda, B, ldb, beta, C, ldc);
  gemm_builtin(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
const char* blas_name() { return openblas().name.c_str(); }
void set_compute_threads(int n) {
  omp_set_num_threads(n);
  if (const auto f = openblas().set_num_threads) f(n);
}

}  // namespace ts
