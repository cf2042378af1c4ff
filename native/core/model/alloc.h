// The tracking allocator: every tensor the trainer owns comes from here,
// tagged with the layer it belongs to and its category. It keeps live and
// peak bytes per (layer, category), per category and for the process, which
// is what the memory view and the memory-model tests compare against.
//
// Blocks freed during a step go to a size-keyed cache and are handed out
// again, so allocating activations every step (as a framework's caching
// allocator does) costs no malloc after the first step. Live/peak counts are
// of bytes requested by tensors, not of bytes cached, like
// torch.cuda.memory_allocated.
//
// The same accounting serves device memory: the CUDA backend hands the
// allocator a RawMemory over cudaMalloc/cudaFree/cudaMemset, so GPU runs
// report per-layer device bytes exactly as CPU runs report host bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ts {

enum class Cat : int { param = 0, grad, optim, act, workspace, comm };
constexpr int kNumCats = 6;
const char* cat_name(Cat c);

struct MemCounter {
  uint64_t live = 0;
  uint64_t peak = 0;
  void add(uint64_t b) {
    live += b;
    if (live > peak) peak = live;
  }
  void sub(uint64_t b) { live -= b; }
};

// Where blocks come from: host memory by default, device memory for GPU runs.
class RawMemory {
 public:
  virtual ~RawMemory() = default;
  // nullptr when the memory is exhausted.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual void zero(void* p, size_t bytes) = 0;
};

class Allocator {
 public:
  // raw == nullptr: 64-byte aligned host memory. A RawMemory given here
  // must outlive the allocator.
  explicit Allocator(int num_layers, RawMemory* raw = nullptr);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Uninitialised, 64-byte aligned. Returns nullptr only for bytes == 0;
  // throws std::bad_alloc when the system is out of memory.
  void* alloc(size_t bytes, int layer, Cat cat);
  void* alloc_zeroed(size_t bytes, int layer, Cat cat);
  void free(void* p);

  template <typename T>
  T* alloc_array(size_t n, int layer, Cat cat) {
    return static_cast<T*>(alloc(n * sizeof(T), layer, cat));
  }
  template <typename T>
  T* alloc_zeroed_array(size_t n, int layer, Cat cat) {
    return static_cast<T*>(alloc_zeroed(n * sizeof(T), layer, cat));
  }

  int num_layers() const { return num_layers_; }
  const MemCounter& layer(int layer, Cat c) const { return per_layer_[layer * kNumCats + int(c)]; }
  const MemCounter& category(Cat c) const { return per_cat_[int(c)]; }
  const MemCounter& total() const { return total_; }
  uint64_t cached_bytes() const { return cached_bytes_; }

  // Starts a new peak window (e.g. per step): peaks restart from live.
  void reset_peaks();

 private:
  struct Block {
    size_t bytes;
    int layer;
    Cat cat;
  };
  int num_layers_;
  std::vector<MemCounter> per_layer_;
  MemCounter per_cat_[kNumCats];
  MemCounter total_;
  std::unordered_map<void*, Block> live_blocks_;
  std::multimap<size_t, void*> cache_;
  uint64_t cached_bytes_ = 0;
  RawMemory* raw_;
  std::mutex mu_;
};

// RAII handle for one allocation; moves, never copies.
template <typename T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Allocator& a, size_t n, int layer, Cat cat, bool zero = false)
      : alloc_(&a), n_(n),
        p_(zero ? a.alloc_zeroed_array<T>(n, layer, cat) : a.alloc_array<T>(n, layer, cat)) {}
  ~Buffer() { reset(); }
  Buffer(Buffer&& o) noexcept : alloc_(o.alloc_), n_(o.n_), p_(o.p_) { o.p_ = nullptr; o.n_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      alloc_ = o.alloc_; n_ = o.n_; p_ = o.p_;
      o.p_ = nullptr; o.n_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void reset() {
    if (p_) alloc_->free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* data() const { return p_; }
  size_t size() const { return n_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  Allocator* alloc_ = nullptr;
  size_t n_ = 0;
  T* p_ = nullptr;
};

}  // namespace ts
