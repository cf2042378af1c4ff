// NCCL, loaded at run time: dlopen("libnccl.so.2") and the few entry points
// a data-parallel trainer calls, declared here by hand (argument order and
// enum values from NCCL's public nccl.h), plus the CUDA runtime calls the
// communicator needs (device, stream), from libcudart the same way. The
// build needs neither NCCL nor CUDA headers; cudaStream_t and ncclComm_t are
// opaque pointers.
//
// The communicator is bootstrapped over MPI: rank 0 makes the unique id and
// broadcasts its 128 bytes to every rank, each rank selects the GPU of its
// node-local rank and creates a non-blocking stream of its own for the
// collectives (separate from the compute stream).
#pragma once
#include <cstddef>
#include <string>

#include "dist/comm.h"

namespace ts {

class Nccl {
 public:
  struct UniqueId {
    char internal[128];
  };
  // ncclDataType_t and ncclRedOp_t values.
  enum DataType : int { kFloat16 = 6, kFloat32 = 7, kBfloat16 = 9 };
  enum RedOp : int { kSum = 0, kAvg = 4 };
  static constexpr int kAvgSince = 21003;  // ncclAvg (and bf16) appeared in 2.10.3

  Nccl() = default;
  ~Nccl();
  Nccl(const Nccl&) = delete;
  Nccl& operator=(const Nccl&) = delete;

  // Loads libnccl.so.2 (or the file TRAINSCOPE_NCCL_LIBRARY names) and
  // checks its version. On failure: false and err =
  // "parallel.backend nccl: cannot load libnccl.so.2: <dlerror>".
  bool load(std::string& err);
  bool loaded() const { return nccl_ != nullptr; }
  // major*10000 + minor*100 + patch, e.g. 21903 for 2.19.3.
  int version() const { return version_; }
  std::string version_string() const;
  // ncclAvg exists (>= 2.10.3); otherwise all-reduces sum and the caller
  // scales by scale_after().
  bool has_avg() const { return version_ >= kAvgSince; }

  // Loads libcudart, selects the device of the node-local rank, creates the
  // communication stream and the communicator (unique id broadcast over MPI
  // from rank 0; a world of one needs no MPI).
  bool init(const World& w, std::string& err);
  bool ready() const { return comm_ != nullptr; }

  // In-place average over ranks of n elements of device memory, enqueued on
  // the communication stream: ncclAvg, or ncclSum when the library predates
  // it (then multiply by scale_after() = 1/ranks afterwards).
  bool allreduce_avg(void* device_data, size_t n, DataType type, std::string& err);
  float scale_after() const { return has_avg() || ranks_ < 2 ? 1.0f : 1.0f / float(ranks_); }
  // Waits for the communication stream; also reports asynchronous NCCL
  // errors (a peer that died).
  bool synchronize(std::string& err);
  void* stream() const { return stream_; }

  // Device memory helpers (tests, and the CUDA backend later).
  bool device_alloc(void** p, size_t bytes, std::string& err);
  void device_free(void* p);
  bool copy_to_device(void* dst, const void* src, size_t bytes, std::string& err);
  bool copy_to_host(void* dst, const void* src, size_t bytes, std::string& err);

  // Tears the communicator down: ncclCommAbort when `abort` (a peer
  // failed), else ncclCommDestroy.
  void shutdown(bool abort = false);

  static const char* result_name(int result);

 private:
  bool load_cudart(std::string& err);
  bool cuda_ok(int rc, const char* what, std::string& err);
  bool nccl_ok(int rc, const char* what, std::string& err);

  void* nccl_ = nullptr;
  void* cudart_ = nullptr;
  int version_ = 0;
  int ranks_ = 1;
  void* comm_ = nullptr;
  void* stream_ = nullptr;

  // NCCL
  int (*get_version_)(int*) = nullptr;
  int (*get_unique_id_)(UniqueId*) = nullptr;
  int (*comm_init_rank_)(void**, int, UniqueId, int) = nullptr;
  int (*all_reduce_)(const void*, void*, size_t, int, int, void*, void*) = nullptr;
  int (*comm_destroy_)(void*) = nullptr;
  int (*comm_abort_)(void*) = nullptr;
  int (*comm_get_async_error_)(void*, int*) = nullptr;
  const char* (*get_error_string_)(int) = nullptr;
  // CUDA runtime
  int (*cuda_get_device_count_)(int*) = nullptr;
  int (*cuda_set_device_)(int) = nullptr;
  int (*cuda_stream_create_with_flags_)(void**, unsigned) = nullptr;
  int (*cuda_stream_synchronize_)(void*) = nullptr;
  int (*cuda_stream_destroy_)(void*) = nullptr;
  int (*cuda_malloc_)(void**, size_t) = nullptr;
  int (*cuda_free_)(void*) = nullptr;
  int (*cuda_memcpy_)(void*, const void*, size_t, int) = nullptr;
  const char* (*cuda_get_error_string_)(int) = nullptr;
};

}  // namespace ts
