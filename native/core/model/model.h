// The `gpt` model: GPT-2's architecture, forward and backward by hand.
//
// Layers, as the memory view and the event stream number them:
//   0        embed   token + position embeddings (wte is tied to the LM head)
//   1..L     block.i pre-LN transformer block (LN, causal MHA with fused QKV
//                    and output projection, residual; LN, MLP 4C with
//                    tanh-GELU, residual)
//   L+1      head    final LayerNorm, logits through wte^T, cross-entropy
//
// Each layer's parameters, gradients and AdamW moments are one contiguous
// allocation apiece (what a bucketed all-reduce wants). Activations are
// allocated by forward() and freed by backward() layer by layer, so the
// allocator sees the real live/peak curve of a step.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/alloc.h"
#include "model/lowp.h"
#include "model/segments_walk.h"
#include "plan/memory_model.h"

namespace ts {

enum class Phase : int { fwd = 0, bwd, optim, recompute, comm };
const char* phase_name(Phase p);

// Called around every layer's forward, backward and optimizer update (for
// spans), and told when a layer's gradients are final (for communication).
class LayerObserver {
 public:
  virtual ~LayerObserver() = default;
  virtual void begin(int layer, Phase phase) = 0;
  virtual void end(int layer, Phase phase) = 0;
  // A device backend calls begin()/end() as it queues the work, and, once
  // the work has run, span() with its device-event times mapped onto the
  // observer's clock (now_us()): the times of queued work are not known
  // when begin()/end() are called.
  virtual double now_us() const { return 0; }
  virtual void span(int layer, Phase phase, double t0_us, double t1_us) {}
};

// One (layer, phase) of a pass: begin() when it starts, end() when it goes
// out of scope, nothing without an observer. Every backend brackets its
// work with it, so the pairs match however a pass returns.
struct LayerScope {
  LayerObserver* obs;
  int layer;
  Phase phase;
  LayerScope(LayerObserver* o, int l, Phase p) : obs(o), layer(l), phase(p) {
    if (obs) obs->begin(layer, phase);
  }
  ~LayerScope() {
    if (obs) obs->end(layer, phase);
  }
};

// Offsets of a block's tensors inside its contiguous parameter block (the
// CPU model and the CUDA backend lay blocks out alike).
struct BlockLayout {
  size_t ln1w, ln1b, qkvw, qkvb, projw, projb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, total;
  explicit BlockLayout(size_t C) {
    size_t o = 0;
    auto take = [&](size_t n) { size_t at = o; o += n; return at; };
    ln1w = take(C); ln1b = take(C);
    qkvw = take(3 * C * C); qkvb = take(3 * C);
    projw = take(C * C); projb = take(C);
    ln2w = take(C); ln2b = take(C);
    fcw = take(4 * C * C); fcb = take(4 * C);
    fcprojw = take(4 * C * C); fcprojb = take(C);
    total = o;
  }
};

struct TensorInfo {
  std::string name;  // e.g. "block.3.attn.qkv.weight"
  int layer;
  size_t offset;     // elements into the layer's parameter block
  size_t count;
  bool decay;        // AdamW weight decay applies (matrices and embeddings)
};

struct LayerInfo {
  std::string name;  // "embed", "block.0", ..., "head"
  std::string kind;  // "embed" | "block" | "head"
  size_t params;
};

template <typename F>
class GPT {
 public:
  // batch x context tokens per forward. Initialises parameters from seed.
  GPT(const ModelConfig& mc, int batch, Allocator& alloc, uint64_t seed);
  ~GPT();
  GPT(const GPT&) = delete;
  GPT& operator=(const GPT&) = delete;

  int num_layers() const { return L_ + 2; }
  const std::vector<LayerInfo>& layers() const { return layers_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  size_t num_params() const;
  int batch() const { return B_; }
  int context() const { return T_; }

  // Mean cross-entropy over batch x context tokens. Keeps the activations
  // that backward() needs; call backward() or release_activations() next.
  double forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs = nullptr);
  // Accumulates parameter gradients (+=) of the last forward's mean loss
  // times loss_scale, freeing each layer's activations as it goes.
  void backward(LayerObserver* obs = nullptr, F loss_scale = F(1));
  void release_activations();

  // Activation checkpointing: each segment of blocks keeps only its input
  // and output in forward and recomputes its blocks just before their
  // backward. Empty = keep everything. Losses and gradients are bitwise the
  // same either way (the recompute runs the very same kernels).
  void set_checkpoint(const Segments& segments);

  // Mixed precision (float models only): activations stored in bf16/fp16,
  // matrix-product inputs (activations, weights, gradients) rounded to it
  // with fp32 accumulation; parameters, optimizer state and parameter
  // gradients stay fp32.
  void set_precision(Precision p);
  Precision precision() const { return prec_; }

  void zero_grad();
  double grad_norm_sq() const;
  void scale_grads(F s);
  // One AdamW step (t from 1) over every layer, last layer first.
  void adamw_step(double lr, double beta1, double beta2, double eps, double weight_decay,
                  int64_t t, LayerObserver* obs = nullptr);

  F* params(int layer) { return params_[layer].data(); }
  F* grads(int layer) { return grads_[layer].data(); }
  // AdamW's first and second moments (saved and restored by checkpoints).
  F* adam_m(int layer) { return m_[layer].data(); }
  F* adam_v(int layer) { return v_[layer].data(); }
  size_t layer_params(int layer) const { return layers_[layer].params; }
  // Per-token losses of the last forward (batch x context).
  const F* losses() const;

 private:
  struct Acts;
  struct Act;
  struct View;
  struct Out;
  void make(Act& a, size_t n, int layer);
  View read(const Act& a, int layer);
  View weight(const F* w, size_t n, int layer);
  View rounded(const F* g, size_t n, int layer);
  Out write(Act& a, size_t n, int layer);
  void round_inplace(F* x, size_t n) const;
  void forward_block(int l, const Act& x, bool keep_output = true);
  const Act& block_input(int l) const;
  void backward_block(int l, const Act& x, F* dres);

  Allocator& alloc_;
  int B_, T_, C_, NH_, V_, L_;
  std::vector<LayerInfo> layers_;
  std::vector<TensorInfo> tensors_;
  std::vector<Buffer<F>> params_, grads_, m_, v_;
  std::unique_ptr<Acts> acts_;
  Precision prec_ = Precision::fp32;
  SegmentWalk segments_;
  const int32_t* inputs_ = nullptr;
  const int32_t* targets_ = nullptr;
};

}  // namespace ts
