// The gradient reducer: a thread that all-reduces the gradient buckets while
// backward still runs. The layer observer it hands out marks a bucket ready
// when its last layer ends backward; the reducer stages split buckets, calls
// the backend (MPI, NCCL or a test's fake) and divides by the rank count.
// It never calls MPI itself.
#include "dist/comm.h"

#include <algorithm>
#include <cstring>

namespace ts {

class GradReducer::Tee : public LayerObserver {
 public:
  explicit Tee(GradReducer& r) : r_(r) {}
  LayerObserver* inner = nullptr;
  void begin(int layer, Phase phase) override {
    if (inner) inner->begin(layer, phase);
  }
  void end(int layer, Phase phase) override {
    if (inner) inner->end(layer, phase);
    if (phase == Phase::bwd) r_.layer_done(layer);
  }

 private:
  GradReducer& r_;
};

GradReducer::GradReducer(const World& w, Backend& backend, Allocator& alloc,
                         std::vector<Bucket> buckets, std::vector<float*> grads,
                         std::function<double()> now_us)
    : world_(w), backend_(backend), buckets_(std::move(buckets)), grads_(std::move(grads)),
      now_(std::move(now_us)), tee_(new Tee(*this)) {
  const size_t staging = staging_elems(buckets_);
  int max_layer = 0;
  for (const Bucket& b : buckets_) {
    max_layer = std::max(max_layer, b.ready_layer);
    for (const auto& p : b.pieces) max_layer = std::max(max_layer, p.layer);
  }
  // The staging buffer is communication memory, owned by no layer: charged
  // to layer 0's comm counter (the allocator wants a layer), where the
  // memory model predicts it.
  if (staging) staging_ = Buffer<float>(alloc, staging, 0, Cat::comm);
  ready_by_layer_.assign(size_t(max_layer) + 1, {});
  for (size_t b = 0; b < buckets_.size(); ++b) ready_by_layer_[size_t(buckets_[b].ready_layer)].push_back(b);
  thread_ = std::thread(&GradReducer::thread_main, this);
}

GradReducer::~GradReducer() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GradReducer::arm(int64_t step, bool local_sq) {
  std::lock_guard<std::mutex> lk(mu_);
  armed_ = true;
  step_ = step;
  want_sq_ = local_sq;
  ready_ = 0;
  done_ = 0;
  error_.clear();
  records_.clear();
  local_sq_ = 0;
}

LayerObserver* GradReducer::observer(LayerObserver* inner) {
  tee_->inner = inner;
  return tee_.get();
}

void GradReducer::layer_done(int layer) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!armed_ || layer < 0 || size_t(layer) >= ready_by_layer_.size()) return;
    for (size_t b : ready_by_layer_[size_t(layer)]) ready_ = std::max(ready_, b + 1);
  }
  cv_.notify_all();
}

void GradReducer::flush_all() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!armed_) return;
    ready_ = buckets_.size();
  }
  cv_.notify_all();
}

bool GradReducer::wait(std::string& err) {
  std::unique_lock<std::mutex> lk(mu_);
  if (!armed_) return true;
  cv_.wait(lk, [&] { return done_ >= buckets_.size(); });
  armed_ = false;
  err = error_;
  return error_.empty();
}

void GradReducer::thread_main() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || (armed_ && done_ < ready_); });
    if (stop_) return;
    const size_t b = done_;
    const bool skip = !error_.empty();
    lk.unlock();
    std::string err;
    const bool ok = skip || reduce(b, err);
    lk.lock();
    if (!ok && error_.empty()) error_ = err;
    ++done_;
    cv_.notify_all();
  }
}

bool GradReducer::reduce(size_t b, std::string& err) {
  const Bucket& bk = buckets_[b];
  const bool staged = bk.pieces.size() > 1;
  float* data;
  if (staged) {
    data = staging_.data();
    size_t at = 0;
    for (const auto& p : bk.pieces) {
      std::memcpy(data + at, grads_[size_t(p.layer)] + p.offset, p.count * sizeof(float));
      at += p.count;
    }
  } else {
    data = grads_[size_t(bk.pieces[0].layer)] + bk.pieces[0].offset;
  }
  if (want_sq_) {
    double s = 0;
    for (size_t i = 0; i < bk.elems; ++i) s += double(data[i]) * data[i];
    std::lock_guard<std::mutex> lk(mu_);
    local_sq_ += s;
  }
  const double t0 = now_();
  const bool ok = backend_.allreduce_sum(data, bk.elems, err);
  const double t1 = now_();
  if (!ok) {
    err = "all-reduce of gradient bucket " + std::to_string(b) + " (" +
          std::to_string(bk.elems * sizeof(float)) + " bytes): " + err;
    return false;
  }
  const float inv = 1.0f / float(world_.size);
  if (staged) {
    size_t at = 0;
    for (const auto& p : bk.pieces) {
      float* g = grads_[size_t(p.layer)] + p.offset;
      for (size_t i = 0; i < p.count; ++i) g[i] = data[at + i] * inv;
      at += p.count;
    }
  } else if (world_.size > 1) {
    for (size_t i = 0; i < bk.elems; ++i) data[i] *= inv;
  }
  std::lock_guard<std::mutex> lk(mu_);
  records_.push_back({step_, int(b), uint64_t(bk.elems) * sizeof(float), t0, t1});
  return true;
}

}  // namespace ts
