// cuBLAS, opened at run time. The CUDA toolkits this project builds with
// (CI's included) need not ship cuBLAS's headers or libraries, and a
// machine without cuBLAS must still run the trainer on the CPU; so, as for
// NCCL (core/dist/nccl_loader.cpp), the few entry points the GPU model calls are
// declared here with cuBLAS's documented ABI (cublas_api.h, v2) and
// resolved from libcublas.so.13 with dlopen when the model is created.
#pragma once
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <library_types.h>

#include <cstdlib>
#include <string>

#include "base/dl.h"

namespace ts::cuda {

using cublasHandle_t = struct cublasContext*;
using cublasStatus_t = int;
enum CublasOp : int { kOpN = 0, kOpT = 1 };
constexpr int kCublasCompute32F = 68;   // CUBLAS_COMPUTE_32F: fp32 accumulation, no TF32
constexpr int kCublasGemmDefault = -1;  // CUBLAS_GEMM_DEFAULT

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case 0: return "CUBLAS_STATUS_SUCCESS";
    case 1: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case 3: return "CUBLAS_STATUS_ALLOC_FAILED";
    case 7: return "CUBLAS_STATUS_INVALID_VALUE";
    case 8: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case 11: return "CUBLAS_STATUS_MAPPING_ERROR";
    case 13: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case 14: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case 15: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case 16: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

struct Cublas {
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
  cublasStatus_t (*set_workspace)(cublasHandle_t, void*, size_t) = nullptr;
  cublasStatus_t (*get_version)(cublasHandle_t, int*) = nullptr;
  cublasStatus_t (*gemm_strided_batched_ex)(cublasHandle_t, int transa, int transb, int m, int n, int k,
                                            const void* alpha, const void* A, cudaDataType Atype, int lda,
                                            long long strideA, const void* B, cudaDataType Btype, int ldb,
                                            long long strideB, const void* beta, void* C, cudaDataType Ctype,
                                            int ldc, long long strideC, int batch, int compute, int algo) = nullptr;
  cublasStatus_t (*gemm_batched_ex)(cublasHandle_t, int transa, int transb, int m, int n, int k,
                                    const void* alpha, const void* const A[], cudaDataType Atype, int lda,
                                    const void* const B[], cudaDataType Btype, int ldb, const void* beta,
                                    void* const C[], cudaDataType Ctype, int ldc, int batch, int compute,
                                    int algo) = nullptr;

  // TRAINSCOPE_CUBLAS_LIBRARY, else libcublas.so.13 through the loader's
  // path, else the toolkit's usual folder. Opened once per process.
  static const Cublas* get(std::string& err) {
    static Cublas c;
    static std::string load_err;
    static bool tried = false;
    if (!tried) {
      tried = true;
      const char* env = std::getenv("TRAINSCOPE_CUBLAS_LIBRARY");
      const char* tries[] = {env, "libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.13", "libcublas.so"};
      void* h = nullptr;
      std::string why;
      for (const char* t : tries) {
        if (!t) continue;
        if ((h = dlopen(t, RTLD_NOW | RTLD_LOCAL))) break;
        if (why.empty()) why = dlerror();
      }
      if (!h) {
        load_err = "cannot load cuBLAS (" + why +
                   "); install it (the CUDA toolkit's libcublas, or pip's nvidia-cublas) and put its "
                   "folder on LD_LIBRARY_PATH, or name the file in TRAINSCOPE_CUBLAS_LIBRARY";
      } else {
        std::string missing;
        dl_symbol(h, "cublasCreate_v2", c.create, missing);
        dl_symbol(h, "cublasDestroy_v2", c.destroy, missing);
        dl_symbol(h, "cublasSetStream_v2", c.set_stream, missing);
        dl_symbol(h, "cublasSetWorkspace_v2", c.set_workspace, missing);
        dl_symbol(h, "cublasGetVersion_v2", c.get_version, missing);
        dl_symbol(h, "cublasGemmStridedBatchedEx", c.gemm_strided_batched_ex, missing);
        dl_symbol(h, "cublasGemmBatchedEx", c.gemm_batched_ex, missing);
        if (!missing.empty()) {
          load_err = "cuBLAS lacks " + missing;
          c = Cublas();
        }
      }
    }
    if (!c.create) {
      err = load_err;
      return nullptr;
    }
    return &c;
  }
};

}  // namespace ts::cuda
