#include "model/alloc.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace ts {

const char* cat_name(Cat c) {
  static const char* names[kNumCats] = {"param", "grad", "optim", "act", "workspace", "comm"};
  return names[int(c)];
}

namespace {
class HostMemory final : public RawMemory {
 public:
  void* allocate(size_t bytes) override { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }
  void release(void* p) override { std::free(p); }
  void zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
};
HostMemory g_host_memory;
}  // namespace

Allocator::Allocator(int num_layers, RawMemory* raw)
    : num_layers_(num_layers), per_layer_(size_t(num_layers) * kNumCats),
      raw_(raw ? raw : &g_host_memory) {}

Allocator::~Allocator() {
  for (auto& kv : live_blocks_) raw_->release(kv.first);
  for (auto& kv : cache_) raw_->release(kv.second);
}

void* Allocator::alloc(size_t bytes, int layer, Cat cat) {
  if (bytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = cache_.find(bytes);
  if (it != cache_.end()) {
    p = it->second;
    cache_.erase(it);
    cached_bytes_ -= bytes;
  } else {
    p = raw_->allocate(bytes);
    if (!p && !cache_.empty()) {
      // Out of memory with blocks cached for other sizes: give them back and
      // try once more, as a caching allocator does before it reports OOM.
      for (auto& kv : cache_) raw_->release(kv.second);
      cache_.clear();
      cached_bytes_ = 0;
      p = raw_->allocate(bytes);
    }
    if (!p) throw std::bad_alloc();
  }
  live_blocks_.emplace(p, Block{bytes, layer, cat});
  per_layer_[size_t(layer) * kNumCats + int(cat)].add(bytes);
  per_cat_[int(cat)].add(bytes);
  total_.add(bytes);
  return p;
}

void* Allocator::alloc_zeroed(size_t bytes, int layer, Cat cat) {
  void* p = alloc(bytes, layer, cat);
  if (p) raw_->zero(p, bytes);
  return p;
}

void Allocator::free(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_blocks_.find(p);
  if (it == live_blocks_.end()) return;  // not ours: never free foreign memory
  const Block b = it->second;
  live_blocks_.erase(it);
  per_layer_[size_t(b.layer) * kNumCats + int(b.cat)].sub(b.bytes);
  per_cat_[int(b.cat)].sub(b.bytes);
  total_.sub(b.bytes);
  cache_.emplace(b.bytes, p);
  cached_bytes_ += b.bytes;
}

void Allocator::reset_peaks() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : per_layer_) c.peak = c.live;
  for (auto& c : per_cat_) c.peak = c.live;
  total_.peak = total_.live;
}

}  // namespace ts
