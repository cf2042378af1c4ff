// What runs the model: the CPU (GPT<float>, always built) or a GPU through
// the CUDA backend, a plugin (libtrainscope_cuda.so) that the trainer opens
// with dlopen when train.device asks for it. The trainer, the addon and the
// tests link no CUDA library: the same build runs where there is no GPU,
// no driver and no CUDA toolkit.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/alloc.h"
#include "model/model.h"
#include "plan/memory_model.h"

namespace ts {

// The run record's "device" object (docs/events.md).
struct DeviceInfo {
  std::string type = "cpu";       // what trains: cpu | cuda
  std::string requested = "cpu";  // train.device
  std::string name;               // "NVIDIA H100 80GB HBM3", or the CPU's model name
  std::string compute_capability; // "9.0" (cuda only)
  uint64_t capacity_bytes = 0;    // device memory, or the physical memory (at most the cgroup limit)
  uint64_t free_bytes = 0;        // free when the run started (the CPU: MemAvailable, within the cgroup limit)
  std::string note;               // why `auto` chose the cpu, when it did
};

// The model the training loop drives, whatever runs it.
class TrainModel {
 public:
  virtual ~TrainModel() = default;
  virtual const std::vector<LayerInfo>& layers() const = 0;
  int num_layers() const { return int(layers().size()); }
  size_t layer_params(int l) const { return layers()[size_t(l)].params; }
  size_t num_params() const;

  // Mean loss over batch x context tokens; keeps what backward() needs.
  virtual double forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs) = 0;
  // Accumulates (+=) the gradients of the last forward's loss x loss_scale.
  virtual void backward(LayerObserver* obs, float loss_scale) = 0;
  virtual void release_activations() = 0;
  virtual void zero_grad() = 0;
  virtual double grad_norm_sq() = 0;
  virtual void scale_grads(float s) = 0;
  virtual void adamw_step(double lr, double beta1, double beta2, double eps, double weight_decay,
                          int64_t t, LayerObserver* obs) = 0;

  // The training state in host memory, per layer: for checkpoints, the
  // data-parallel reducer and tests. On the CPU these are the tensors
  // themselves. A device backend keeps host copies: pull_state() fills them
  // from the device, push_state() uploads them.
  virtual float* params(int l) = 0;
  virtual float* grads(int l) = 0;
  virtual float* adam_m(int l) = 0;
  virtual float* adam_v(int l) = 0;
  virtual void pull_state() {}
  virtual void push_state() {}
  // Fault injection for tests: makes one gradient element non-finite.
  virtual void poison_grad() = 0;
};

std::unique_ptr<TrainModel> make_cpu_model(const ModelConfig& mc, int batch, Allocator& alloc,
                                           uint64_t seed, const Segments& segments, Precision p);

// The CPU's description for the run record: model name, physical memory.
DeviceInfo cpu_device_info();

// The CUDA plugin, opened at most once per process and never closed (the
// allocator's device memory is released through it at exit).
class CudaBackend {
 public:
  // Opens the plugin: TRAINSCOPE_CUDA_PLUGIN if set, else
  // libtrainscope_cuda.so beside the executable, else the loader's path.
  static CudaBackend* get(std::string& err);
  // A usable GPU (device 0): its name, capability and memory.
  bool probe(DeviceInfo& info, std::string& err) const;
  // Device memory for the tracking allocator.
  RawMemory* memory() const;
  // The GPT model on the GPU; params initialised exactly as the CPU's.
  // fused_attention: train.attention fused (the caller checked the shape).
  std::unique_ptr<TrainModel> create(const ModelConfig& mc, int batch, Allocator& alloc,
                                     uint64_t seed, const Segments& segments, Precision p,
                                     bool fused_attention, std::string& err) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* probe_ = nullptr;
  void* memory_ = nullptr;
  void* create_ = nullptr;
};

// The plugin's entry points (native/cuda/plugin.cu), C linkage so dlsym
// finds them by name. kCudaPluginAbi changes whenever these or the classes
// they pass change: a stale plugin is refused instead of crashing.
constexpr int kCudaPluginAbi = 3;
extern "C" {
using TsCudaAbiFn = int();
using TsCudaProbeFn = bool(DeviceInfo* info, std::string* err);
using TsCudaMemoryFn = RawMemory*();
using TsCudaCreateFn = TrainModel*(const ModelConfig* mc, int batch, Allocator* alloc,
                                   uint64_t seed, const Segments* segments, int precision,
                                   bool fused_attention, std::string* err);
}

}  // namespace ts
