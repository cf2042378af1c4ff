// Matrix products, the bulk of a training step's FLOPs.
//
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, where op
// transposes when asked. Where OpenBLAS is installed (opened at run time)
// this is cblas_sgemm / cblas_dgemm; otherwise a cache-blocked kernel
// (gemm.cpp) threaded with OpenMP, so the trainer builds and trains
// anywhere, only slower.
#pragma once

namespace ts {

template <typename T>
void gemm(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A, int lda,
          const T* B, int ldb, T beta, T* C, int ldc);

// The built-in kernel, also used by tests as the reference for the BLAS path.
template <typename T>
void gemm_builtin(bool trans_a, bool trans_b, int M, int N, int K, T alpha, const T* A,
                  int lda, const T* B, int ldb, T beta, T* C, int ldc);

// OpenBLAS's own description ("OpenBLAS 0.3.21 ..."), or "builtin (why)".
const char* blas_name();
// Threads the BLAS library may use; our own loops follow omp_set_num_threads.
void set_compute_threads(int n);

}  // namespace ts
