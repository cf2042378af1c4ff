#include "dist/nccl_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "base/dl.h"

namespace ts {

namespace {

constexpr int kCudaMemcpyHostToDevice = 1;
constexpr int kCudaMemcpyDeviceToHost = 2;
constexpr unsigned kCudaStreamNonBlocking = 1;
constexpr int kNcclInProgress = 7;

}  // namespace

const char* Nccl::result_name(int r) {
  switch (r) {
    case 0: return "ncclSuccess";
    case 1: return "ncclUnhandledCudaError";
    case 2: return "ncclSystemError";
    case 3: return "ncclInternalError";
    case 4: return "ncclInvalidArgument";
    case 5: return "ncclInvalidUsage";
    case 6: return "ncclRemoteError";
    case 7: return "ncclInProgress";
    case 8: return "ncclTimeout";
  }
  return "ncclUnknownResult";
}

Nccl::~Nccl() {
  shutdown(false);
  if (nccl_) dlclose(nccl_);
  if (cudart_) dlclose(cudart_);
}

std::string Nccl::version_string() const {
  const int v = version_;
  // From 2.9 on the code is major*10000 + minor*100 + patch; before, *1000.
  if (v >= 10000)
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  return std::to_string(v / 1000) + "." + std::to_string(v / 100 % 10) + "." + std::to_string(v % 100);
}

bool Nccl::load(std::string& err) {
  if (nccl_) return true;
  const char* env = std::getenv("TRAINSCOPE_NCCL_LIBRARY");
  const char* name = env && *env ? env : "libnccl.so.2";
  dlerror();
  void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    err = std::string("parallel.backend nccl: cannot load ") + name + ": " + (e ? e : "unknown error");
    return false;
  }
  std::string missing;
  dl_symbol(lib, "ncclGetVersion", get_version_, missing);
  dl_symbol(lib, "ncclGetUniqueId", get_unique_id_, missing);
  dl_symbol(lib, "ncclCommInitRank", comm_init_rank_, missing);
  dl_symbol(lib, "ncclAllReduce", all_reduce_, missing);
  dl_symbol(lib, "ncclCommDestroy", comm_destroy_, missing);
  dl_symbol(lib, "ncclCommAbort", comm_abort_, missing);
  dl_symbol(lib, "ncclCommGetAsyncError", comm_get_async_error_, missing);
  dl_symbol(lib, "ncclGetErrorString", get_error_string_, missing);
  if (!missing.empty()) {
    err = std::string("parallel.backend nccl: ") + name + " lacks " + missing +
          " (NCCL 2.9 or newer is needed)";
    dlclose(lib);
    return false;
  }
  int v = 0;
  const int rc = get_version_(&v);
  if (rc != 0 || v <= 0) {
    err = std::string("parallel.backend nccl: ncclGetVersion failed: ") + result_name(rc);
    dlclose(lib);
    return false;
  }
  nccl_ = lib;
  version_ = v;
  return true;
}

bool Nccl::load_cudart(std::string& err) {
  if (cudart_) return true;
  std::string tried;
  for (const char* name : {"libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0"}) {
    void* lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      cudart_ = lib;
      break;
    }
    const char* e = dlerror();
    if (tried.empty()) tried = e ? e : name;
  }
  if (!cudart_) {
    err = "parallel.backend nccl: cannot load the CUDA runtime (libcudart.so): " + tried;
    return false;
  }
  std::string missing;
  dl_symbol(cudart_, "cudaGetDeviceCount", cuda_get_device_count_, missing);
  dl_symbol(cudart_, "cudaSetDevice", cuda_set_device_, missing);
  dl_symbol(cudart_, "cudaStreamCreateWithFlags", cuda_stream_create_with_flags_, missing);
  dl_symbol(cudart_, "cudaStreamSynchronize", cuda_stream_synchronize_, missing);
  dl_symbol(cudart_, "cudaStreamDestroy", cuda_stream_destroy_, missing);
  dl_symbol(cudart_, "cudaMalloc", cuda_malloc_, missing);
  dl_symbol(cudart_, "cudaFree", cuda_free_, missing);
  dl_symbol(cudart_, "cudaMemcpy", cuda_memcpy_, missing);
  dl_symbol(cudart_, "cudaGetErrorString", cuda_get_error_string_, missing);
  if (!missing.empty()) {
    err = "parallel.backend nccl: the CUDA runtime lacks " + missing;
    dlclose(cudart_);
    cudart_ = nullptr;
    return false;
  }
  return true;
}

bool Nccl::cuda_ok(int rc, const char* what, std::string& err) {
  if (rc == 0) return true;
  err = std::string("parallel.backend nccl: ") + what + " failed: " +
        (cuda_get_error_string_ ? cuda_get_error_string_(rc) : ("CUDA error " + std::to_string(rc)).c_str());
  return false;
}

bool Nccl::nccl_ok(int rc, const char* what, std::string& err) {
  if (rc == 0) return true;
  err = std::string("parallel.backend nccl: ") + what + " failed: " + result_name(rc);
  if (get_error_string_) err += std::string(" (") + get_error_string_(rc) + ")";
  return false;
}

bool Nccl::init(const World& w, std::string& err) {
  if (!load(err) || !load_cudart(err)) return false;
  if (comm_) return true;
  int devices = 0;
  if (!cuda_ok(cuda_get_device_count_(&devices), "cudaGetDeviceCount", err)) return false;
  if (devices < 1) {
    err = "parallel.backend nccl: no CUDA device";
    return false;
  }
  // One GPU per process: NCCL refuses two ranks on one device.
  if (w.local_rank >= devices) {
    err = "parallel.backend nccl: rank " + std::to_string(w.rank) + " is process " +
          std::to_string(w.local_rank + 1) + " on " + w.host + ", which has " +
          std::to_string(devices) + " GPU(s): start at most one rank per GPU";
    return false;
  }
  if (!cuda_ok(cuda_set_device_(w.local_rank), "cudaSetDevice", err)) return false;
  UniqueId id;
  std::memset(&id, 0, sizeof id);
  if (w.rank == 0 && !nccl_ok(get_unique_id_(&id), "ncclGetUniqueId", err)) return false;
  if (w.size > 1 && !world_broadcast(w, &id, sizeof id, err)) {
    err = "parallel.backend nccl: broadcasting the NCCL unique id: " + err;
    return false;
  }
  if (!cuda_ok(cuda_stream_create_with_flags_(&stream_, kCudaStreamNonBlocking), "cudaStreamCreateWithFlags", err))
    return false;
  void* comm = nullptr;
  if (!nccl_ok(comm_init_rank_(&comm, w.size, id, w.rank), "ncclCommInitRank", err)) return false;
  comm_ = comm;
  ranks_ = w.size;
  return true;
}

bool Nccl::allreduce_avg(void* data, size_t n, DataType type, std::string& err) {
  if (!comm_) {
    err = "parallel.backend nccl: the communicator is not initialised";
    return false;
  }
  if (type == kBfloat16 && !has_avg()) {
    err = "parallel.backend nccl: bf16 all-reduce needs NCCL 2.10.3 or newer (have " + version_string() + ")";
    return false;
  }
  const int op = has_avg() ? kAvg : kSum;
  return nccl_ok(all_reduce_(data, data, n, type, op, comm_, stream_), "ncclAllReduce", err);
}

bool Nccl::synchronize(std::string& err) {
  if (!stream_) return true;
  if (!cuda_ok(cuda_stream_synchronize_(stream_), "cudaStreamSynchronize", err)) return false;
  int async = 0;
  if (comm_ && comm_get_async_error_(comm_, &async) == 0 && async != 0 && async != kNcclInProgress)
    return nccl_ok(async, "NCCL (asynchronous error)", err);
  return true;
}

bool Nccl::device_alloc(void** p, size_t bytes, std::string& err) {
  if (!load_cudart(err)) return false;
  return cuda_ok(cuda_malloc_(p, bytes), "cudaMalloc", err);
}

void Nccl::device_free(void* p) {
  if (p && cuda_free_) cuda_free_(p);
}

bool Nccl::copy_to_device(void* dst, const void* src, size_t bytes, std::string& err) {
  return cuda_ok(cuda_memcpy_(dst, src, bytes, kCudaMemcpyHostToDevice), "cudaMemcpy", err);
}

bool Nccl::copy_to_host(void* dst, const void* src, size_t bytes, std::string& err) {
  return cuda_ok(cuda_memcpy_(dst, src, bytes, kCudaMemcpyDeviceToHost), "cudaMemcpy", err);
}

void Nccl::shutdown(bool abort) {
  if (comm_) {
    if (abort) comm_abort_(comm_);
    else comm_destroy_(comm_);
    comm_ = nullptr;
  }
  if (stream_ && cuda_stream_destroy_) cuda_stream_destroy_(stream_);
  stream_ = nullptr;
}

}  // namespace ts
