#include "model/backend.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>

namespace ts {

size_t TrainModel::num_params() const {
  size_t n = 0;
  for (const auto& l : layers()) n += l.params;
  return n;
}

namespace {

class CpuModel final : public TrainModel {
 public:
  CpuModel(const ModelConfig& mc, int batch, Allocator& alloc, uint64_t seed) : m_(mc, batch, alloc, seed) {}
  GPT<float>& gpt() { return m_; }
  const std::vector<LayerInfo>& layers() const override { return m_.layers(); }
  double forward(const int32_t* in, const int32_t* tg, LayerObserver* obs) override {
    return m_.forward(in, tg, obs);
  }
  void backward(LayerObserver* obs, float scale) override { m_.backward(obs, scale); }
  void release_activations() override { m_.release_activations(); }
  void zero_grad() override { m_.zero_grad(); }
  double grad_norm_sq() override { return m_.grad_norm_sq(); }
  void scale_grads(float s) override { m_.scale_grads(s); }
  void adamw_step(double lr, double b1, double b2, double eps, double wd, int64_t t,
                  LayerObserver* obs) override {
    m_.adamw_step(lr, b1, b2, eps, wd, t, obs);
  }
  float* params(int l) override { return m_.params(l); }
  float* grads(int l) override { return m_.grads(l); }
  float* adam_m(int l) override { return m_.adam_m(l); }
  float* adam_v(int l) override { return m_.adam_v(l); }
  void poison_grad() override { m_.grads(0)[0] = INFINITY; }

 private:
  GPT<float> m_;
};

// A "Key:   N kB" line of /proc/meminfo in bytes; 0 when absent.
uint64_t meminfo_bytes(const char* key) {
  std::ifstream f("/proc/meminfo");
  std::string name;
  uint64_t kb = 0;
  std::string unit;
  while (f >> name >> kb) {
    std::getline(f, unit);
    if (name == key) return kb * 1024;
  }
  return 0;
}

// One number from a cgroup file; false when it is absent or "max".
bool read_cgroup_number(const std::string& path, uint64_t& v) {
  std::ifstream f(path);
  std::string s;
  if (!(f >> s) || s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  v = std::strtoull(s.c_str(), nullptr, 10);
  return true;
}

// This process's cgroup memory limit and usage (v2, else v1); false when
// there is no limit. v1 writes "no limit" as a huge number, which the
// callers' min() leaves harmless.
bool cgroup_memory(uint64_t& limit, uint64_t& used) {
  used = 0;
  if (read_cgroup_number("/sys/fs/cgroup/memory.max", limit)) {
    read_cgroup_number("/sys/fs/cgroup/memory.current", used);
    return true;
  }
  if (read_cgroup_number("/sys/fs/cgroup/memory/memory.limit_in_bytes", limit)) {
    read_cgroup_number("/sys/fs/cgroup/memory/memory.usage_in_bytes", used);
    return true;
  }
  return false;
}

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, size_t(n));
  const size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

}  // namespace

std::unique_ptr<TrainModel> make_cpu_model(const ModelConfig& mc, int batch, Allocator& alloc,
                                           uint64_t seed, const Segments& segments, Precision p) {
  auto m = std::make_unique<CpuModel>(mc, batch, alloc, seed);
  m->gpt().set_checkpoint(segments);
  m->gpt().set_precision(p);
  return m;
}

DeviceInfo cpu_device_info() {
  DeviceInfo d;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) d.name = line.substr(line.find_first_not_of(" \t", colon + 1));
      break;
    }
  }
  if (d.name.empty()) d.name = "cpu";
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) d.capacity_bytes = uint64_t(pages) * uint64_t(page);
  // MemAvailable, not _SC_AVPHYS_PAGES (MemFree): the page cache is given
  // back on demand, so MemFree alone would refuse runs that fit.
  uint64_t avail = meminfo_bytes("MemAvailable:");
  if (avail == 0) {
    const long free_pages = sysconf(_SC_AVPHYS_PAGES);
    if (free_pages > 0 && page > 0) avail = uint64_t(free_pages) * uint64_t(page);
  }
  d.free_bytes = avail;
  // In a container the cgroup's limit, not the host's memory, is where the
  // kernel's OOM killer strikes.
  uint64_t limit = 0, used = 0;
  if (cgroup_memory(limit, used)) {
    d.capacity_bytes = d.capacity_bytes ? std::min(d.capacity_bytes, limit) : limit;
    const uint64_t left = used < limit ? limit - used : 0;
    d.free_bytes = d.free_bytes ? std::min(d.free_bytes, left) : left;
  }
  return d;
}

CudaBackend* CudaBackend::get(std::string& err) {
  static std::mutex mu;
  static CudaBackend* loaded = nullptr;
  static std::string load_error;
  std::lock_guard<std::mutex> lock(mu);
  if (loaded) return loaded;
  if (!load_error.empty()) {
    err = load_error;
    return nullptr;
  }
  std::vector<std::string> tries;
  if (const char* env = std::getenv("TRAINSCOPE_CUDA_PLUGIN")) tries.push_back(env);
  else {
    const std::string dir = exe_dir();
    if (!dir.empty()) tries.push_back(dir + "/libtrainscope_cuda.so");
    tries.push_back("libtrainscope_cuda.so");
  }
  std::string why;
  for (const std::string& path : tries) {
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      // A plugin that exists but cannot load (a missing libcublas, say) is
      // the interesting failure: report it rather than the later "not found".
      if (why.empty() || access(path.c_str(), F_OK) == 0) why = e ? e : ("cannot open " + path);
      continue;
    }
    auto abi = reinterpret_cast<TsCudaAbiFn*>(dlsym(h, "trainscope_cuda_abi"));
    auto b = std::make_unique<CudaBackend>();
    b->path_ = path;
    b->probe_ = dlsym(h, "trainscope_cuda_probe");
    b->memory_ = dlsym(h, "trainscope_cuda_memory");
    b->create_ = dlsym(h, "trainscope_cuda_create");
    if (!abi || abi() != kCudaPluginAbi || !b->probe_ || !b->memory_ || !b->create_) {
      why = path + " is not this trainer's CUDA backend (a stale build? rebuild native/)";
      continue;
    }
    loaded = b.release();
    return loaded;
  }
  load_error = "cannot load the CUDA backend: " + why +
               " (this build has no CUDA backend unless CMake found nvcc; see docs/cuda.md)";
  err = load_error;
  return nullptr;
}

bool CudaBackend::probe(DeviceInfo& info, std::string& err) const {
  return reinterpret_cast<TsCudaProbeFn*>(probe_)(&info, &err);
}

RawMemory* CudaBackend::memory() const { return reinterpret_cast<TsCudaMemoryFn*>(memory_)(); }

std::unique_ptr<TrainModel> CudaBackend::create(const ModelConfig& mc, int batch, Allocator& alloc,
                                                uint64_t seed, const Segments& segments,
                                                Precision p, bool fused_attention,
                                                std::string& err) const {
  return std::unique_ptr<TrainModel>(reinterpret_cast<TsCudaCreateFn*>(create_)(
      &mc, batch, &alloc, seed, &segments, int(p), fused_attention, &err));
}

}  // namespace ts
