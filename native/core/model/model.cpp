#include "model/model.h"

#include <cmath>
#include <cstring>
#include <type_traits>

#include "base/rng.h"
#include "model/kernels.h"

namespace ts {

Precision precision_from_name(const std::string& name) {
  return name == "bf16" ? Precision::bf16 : name == "fp16" ? Precision::fp16 : Precision::fp32;
}

const char* phase_name(Phase p) {
  static const char* names[] = {"fwd", "bwd", "optim", "recompute", "comm"};
  return names[int(p)];
}


// An activation kept for backward: fp32, or 16-bit under mixed precision.
template <typename F>
struct GPT<F>::Act {
  Buffer<F> full;
  Buffer<uint16_t> half;
  size_t n = 0;
  explicit operator bool() const { return n != 0; }
  void reset() {
    full.reset();
    half.reset();
    n = 0;
  }
};

// A read-only fp32 view: the tensor itself, or an unpacked/rounded copy in
// workspace that lives as long as the view.
template <typename F>
struct GPT<F>::View {
  const F* p = nullptr;
  Buffer<F> scratch;
};

// Where a kernel writes an activation: the fp32 tensor itself, or an fp32
// scratch that commit() rounds in place and packs into the 16-bit tensor, so
// later products in the same pass read exactly the stored values.
template <typename F>
struct GPT<F>::Out {
  F* p = nullptr;
  Buffer<F> scratch;
  Act* act = nullptr;
  Precision prec = Precision::fp32;
  void commit() {
    if (!scratch) return;
    if constexpr (std::is_same<F, float>::value) {
      pack16(act->half.data(), p, act->n, prec);
      round_to(p, p, act->n, prec);
    }
  }
};

template <typename F>
struct GPT<F>::Acts {
  struct Block {
    Act ln1, qkv, att, atty, res2, ln2, fch, fch_gelu, res3;
    Buffer<F> ln1_mean, ln1_rstd, ln2_mean, ln2_rstd;  // LayerNorm statistics stay fp32
  };
  Act embed_out;
  std::vector<Block> blocks;
  Act lnf, probs;
  Buffer<F> lnf_mean, lnf_rstd, losses;
};

template <typename F>
void GPT<F>::set_precision(Precision p) {
  prec_ = std::is_same<F, float>::value ? p : Precision::fp32;
}

template <typename F>
void GPT<F>::make(Act& a, size_t n, int layer) {
  a.reset();
  a.n = n;
  if (prec_ == Precision::fp32) a.full = Buffer<F>(alloc_, n, layer, Cat::act);
  else a.half = Buffer<uint16_t>(alloc_, n, layer, Cat::act);
}

template <typename F>
typename GPT<F>::View GPT<F>::read(const Act& a, int layer) {
  View v;
  if (a.full) {
    v.p = a.full.data();
  } else {
    v.scratch = Buffer<F>(alloc_, a.n, layer, Cat::workspace);
    if constexpr (std::is_same<F, float>::value) unpack16(v.scratch.data(), a.half.data(), a.n, prec_);
    v.p = v.scratch.data();
  }
  return v;
}

template <typename F>
typename GPT<F>::View GPT<F>::rounded(const F* x, size_t n, int layer) {
  View v;
  if (prec_ == Precision::fp32) {
    v.p = x;
  } else {
    v.scratch = Buffer<F>(alloc_, n, layer, Cat::workspace);
    if constexpr (std::is_same<F, float>::value) round_to(v.scratch.data(), x, n, prec_);
    v.p = v.scratch.data();
  }
  return v;
}

template <typename F>
typename GPT<F>::View GPT<F>::weight(const F* w, size_t n, int layer) {
  return rounded(w, n, layer);
}

template <typename F>
typename GPT<F>::Out GPT<F>::write(Act& a, size_t n, int layer) {
  make(a, n, layer);
  Out o;
  o.act = &a;
  o.prec = prec_;
  if (a.full) {
    o.p = a.full.data();
  } else {
    o.scratch = Buffer<F>(alloc_, n, layer, Cat::workspace);
    o.p = o.scratch.data();
  }
  return o;
}

template <typename F>
void GPT<F>::round_inplace(F* x, size_t n) const {
  if constexpr (std::is_same<F, float>::value) round_to(x, x, n, prec_);
}

template <typename F>
const typename GPT<F>::Act& GPT<F>::block_input(int l) const {
  return l > 0 ? acts_->blocks[l - 1].res3 : acts_->embed_out;
}

template <typename F>
GPT<F>::GPT(const ModelConfig& mc, int batch, Allocator& alloc, uint64_t seed)
    : alloc_(alloc), B_(batch), T_(mc.context), C_(mc.width), NH_(mc.heads), V_(mc.vocab),
      L_(mc.layers), acts_(new Acts) {
  const size_t C = C_;
  const BlockLayout bl(C);
  auto add = [&](int layer, const std::string& name, size_t off, size_t n, bool decay) {
    tensors_.push_back({name, layer, off, n, decay});
  };
  layers_.push_back({"embed", "embed", size_t(V_) * C + size_t(T_) * C});
  add(0, "wte", 0, size_t(V_) * C, true);
  add(0, "wpe", size_t(V_) * C, size_t(T_) * C, true);
  for (int l = 0; l < L_; ++l) {
    const std::string p = "block." + std::to_string(l) + ".";
    const int li = l + 1;
    layers_.push_back({"block." + std::to_string(l), "block", bl.total});
    add(li, p + "ln1.weight", bl.ln1w, C, false);
    add(li, p + "ln1.bias", bl.ln1b, C, false);
    add(li, p + "attn.qkv.weight", bl.qkvw, 3 * C * C, true);
    add(li, p + "attn.qkv.bias", bl.qkvb, 3 * C, false);
    add(li, p + "attn.proj.weight", bl.projw, C * C, true);
    add(li, p + "attn.proj.bias", bl.projb, C, false);
    add(li, p + "ln2.weight", bl.ln2w, C, false);
    add(li, p + "ln2.bias", bl.ln2b, C, false);
    add(li, p + "mlp.fc.weight", bl.fcw, 4 * C * C, true);
    add(li, p + "mlp.fc.bias", bl.fcb, 4 * C, false);
    add(li, p + "mlp.proj.weight", bl.fcprojw, 4 * C * C, true);
    add(li, p + "mlp.proj.bias", bl.fcprojb, C, false);
  }
  layers_.push_back({"head", "head", 2 * C});
  add(L_ + 1, "lnf.weight", 0, C, false);
  add(L_ + 1, "lnf.bias", C, C, false);

  for (int l = 0; l < num_layers(); ++l) {
    const size_t n = layers_[l].params;
    params_.emplace_back(alloc_, n, l, Cat::param, true);
    grads_.emplace_back(alloc_, n, l, Cat::grad, true);
    m_.emplace_back(alloc_, n, l, Cat::optim, true);
    v_.emplace_back(alloc_, n, l, Cat::optim, true);
  }

  // GPT-2 initialisation: weights N(0, 0.02), the two residual projections
  // scaled by 1/sqrt(2L), biases 0, LayerNorm gains 1.
  Rng rng(seed);
  const double resid_std = 0.02 / std::sqrt(2.0 * L_);
  for (const TensorInfo& t : tensors_) {
    F* p = params_[t.layer].data() + t.offset;
    const bool is_ln_weight = t.name.find("ln") != std::string::npos &&
                              t.name.compare(t.name.size() - 6, 6, "weight") == 0;
    if (is_ln_weight) {
      for (size_t i = 0; i < t.count; ++i) p[i] = F(1);
    } else if (t.decay) {
      const bool resid = t.name.find("attn.proj.weight") != std::string::npos ||
                         t.name.find("mlp.proj.weight") != std::string::npos;
      const double sd = resid ? resid_std : 0.02;
      for (size_t i = 0; i < t.count; ++i) p[i] = F(rng.normal() * sd);
    }
  }
}

template <typename F>
GPT<F>::~GPT() = default;

template <typename F>
size_t GPT<F>::num_params() const {
  size_t n = 0;
  for (const auto& l : layers_) n += l.params;
  return n;
}

template <typename F>
const F* GPT<F>::losses() const {
  return acts_->losses.data();
}

template <typename F>
void GPT<F>::set_checkpoint(const Segments& segments) {
  segments_ = SegmentWalk(segments, L_);
}

// keep_output = false skips the output projection of the MLP: a recomputed
// segment's last block needs its internals for backward, not its output.
template <typename F>
void GPT<F>::forward_block(int l, const Act& x_act, bool keep_output) {
  const int N = B_ * T_, C = C_;
  const int li = l + 1;
  const BlockLayout bl(C);
  const F* p = params_[li].data();
  auto& a = acts_->blocks[l];
  const View x = read(x_act, li);
  auto rnd = [this](F* t, size_t n) { round_inplace(t, n); };
  a.ln1_mean = Buffer<F>(alloc_, N, li, Cat::act);
  a.ln1_rstd = Buffer<F>(alloc_, N, li, Cat::act);
  Out ln1 = write(a.ln1, size_t(N) * C, li);
  k::layernorm_forward(ln1.p, a.ln1_mean.data(), a.ln1_rstd.data(), x.p, p + bl.ln1w, p + bl.ln1b,
                       N, C);
  ln1.commit();
  Out qkv = write(a.qkv, size_t(N) * 3 * C, li);
  {
    const View w = weight(p + bl.qkvw, size_t(3) * C * C, li);
    k::matmul_forward(qkv.p, ln1.p, w.p, p + bl.qkvb, N, C, 3 * C);
  }
  qkv.commit();
  ln1 = Out();
  Out att = write(a.att, size_t(B_) * NH_ * T_ * T_, li);
  Out atty = write(a.atty, size_t(N) * C, li);
  k::attention_forward(atty.p, att.p, qkv.p, B_, T_, C, NH_, rnd);
  att.commit();
  atty.commit();
  att = Out();
  qkv = Out();
  Out res2 = write(a.res2, size_t(N) * C, li);
  {
    const View w = weight(p + bl.projw, size_t(C) * C, li);
    k::matmul_forward(res2.p, atty.p, w.p, p + bl.projb, N, C, C, x.p);
  }
  res2.commit();
  atty = Out();
  a.ln2_mean = Buffer<F>(alloc_, N, li, Cat::act);
  a.ln2_rstd = Buffer<F>(alloc_, N, li, Cat::act);
  Out ln2 = write(a.ln2, size_t(N) * C, li);
  k::layernorm_forward(ln2.p, a.ln2_mean.data(), a.ln2_rstd.data(), res2.p, p + bl.ln2w,
                       p + bl.ln2b, N, C);
  ln2.commit();
  Out fch = write(a.fch, size_t(N) * 4 * C, li);
  {
    const View w = weight(p + bl.fcw, size_t(4) * C * C, li);
    k::matmul_forward(fch.p, ln2.p, w.p, p + bl.fcb, N, C, 4 * C);
  }
  fch.commit();
  ln2 = Out();
  Out gel = write(a.fch_gelu, size_t(N) * 4 * C, li);
  k::gelu_forward(gel.p, fch.p, size_t(N) * 4 * C);
  gel.commit();
  fch = Out();
  if (!keep_output) return;
  Out res3 = write(a.res3, size_t(N) * C, li);
  const View w = weight(p + bl.fcprojw, size_t(4) * C * C, li);
  k::matmul_forward(res3.p, gel.p, w.p, p + bl.fcprojb, N, 4 * C, C, res2.p);
  res3.commit();
}

template <typename F>
double GPT<F>::forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs) {
  release_activations();
  inputs_ = inputs;
  targets_ = targets;
  const int N = B_ * T_, C = C_;
  Acts& A = *acts_;
  {
    LayerScope s(obs, 0, Phase::fwd);
    Out out = write(A.embed_out, size_t(N) * C, 0);
    const F* wte = params_[0].data();
    k::encoder_forward(out.p, inputs, wte, wte + size_t(V_) * C, B_, T_, C);
    out.commit();
  }
  A.blocks.resize(L_);
  for (int l = 0; l < L_; ++l) {
    LayerScope s(obs, l + 1, Phase::fwd);
    forward_block(l, block_input(l));
    segments_.after_forward(l, A.blocks);
  }
  LayerScope s(obs, L_ + 1, Phase::fwd);
  const int hl = L_ + 1;
  const F* p = params_[hl].data();
  const View x = read(block_input(L_), hl);
  A.lnf_mean = Buffer<F>(alloc_, N, hl, Cat::act);
  A.lnf_rstd = Buffer<F>(alloc_, N, hl, Cat::act);
  Out lnf = write(A.lnf, size_t(N) * C, hl);
  k::layernorm_forward(lnf.p, A.lnf_mean.data(), A.lnf_rstd.data(), x.p, p, p + C, N, C);
  lnf.commit();
  // The loss comes from the fp32 logits; the probabilities backward needs
  // are what is stored (in 16 bits under mixed precision).
  Out probs = write(A.probs, size_t(N) * V_, hl);
  {
    const View wte = weight(params_[0].data(), size_t(V_) * C, hl);
    k::matmul_forward<F>(probs.p, lnf.p, wte.p, nullptr, N, C, V_);
  }
  A.losses = Buffer<F>(alloc_, N, hl, Cat::act);
  const double loss =
      k::crossentropy_forward(probs.p, A.losses.data(), probs.p, targets, N, V_);
  probs.commit();
  return loss;
}

// Under mixed precision every product's inputs are rounded: stored
// activations are already, weights and incoming gradients are rounded into
// workspace copies. LayerNorm, GELU and softmax backward run in fp32.
template <typename F>
void GPT<F>::backward_block(int l, const Act& x_act, F* dres) {
  const int N = B_ * T_, C = C_;
  const int li = l + 1;
  const BlockLayout bl(C);
  const F* p = params_[li].data();
  F* g = grads_[li].data();
  auto& a = acts_->blocks[l];
  auto rnd = [this](F* t, size_t n) { round_inplace(t, n); };
  Buffer<F> d4(alloc_, size_t(N) * 4 * C, li, Cat::workspace);
  Buffer<F> dC(alloc_, size_t(N) * C, li, Cat::workspace);
  // MLP: res3 = res2 + proj(gelu(fc(ln2(res2))))
  {
    const View d = rounded(dres, size_t(N) * C, li);
    const View in = read(a.fch_gelu, li);
    const View w = weight(p + bl.fcprojw, size_t(4) * C * C, li);
    k::matmul_backward(d4.data(), g + bl.fcprojw, g + bl.fcprojb, d.p, in.p, w.p, N, 4 * C, C);
  }
  {
    const View pre = read(a.fch, li);
    k::gelu_backward(d4.data(), pre.p, d4.data(), size_t(N) * 4 * C);
  }
  round_inplace(d4.data(), size_t(N) * 4 * C);
  {
    const View in = read(a.ln2, li);
    const View w = weight(p + bl.fcw, size_t(4) * C * C, li);
    k::matmul_backward(dC.data(), g + bl.fcw, g + bl.fcb, d4.data(), in.p, w.p, N, C, 4 * C);
  }
  {
    const View in = read(a.res2, li);
    k::layernorm_backward(dres, g + bl.ln2w, g + bl.ln2b, dC.data(), in.p, p + bl.ln2w,
                          a.ln2_mean.data(), a.ln2_rstd.data(), N, C);
  }
  d4.reset();
  // Attention: res2 = x + proj(attn(qkv(ln1(x))))
  Buffer<F> d3(alloc_, size_t(N) * 3 * C, li, Cat::workspace);
  Buffer<F> datt(alloc_, size_t(T_) * T_, li, Cat::workspace);
  {
    const View d = rounded(dres, size_t(N) * C, li);
    const View in = read(a.atty, li);
    const View w = weight(p + bl.projw, size_t(C) * C, li);
    k::matmul_backward(dC.data(), g + bl.projw, g + bl.projb, d.p, in.p, w.p, N, C, C);
  }
  round_inplace(dC.data(), size_t(N) * C);
  {
    const View qkv = read(a.qkv, li);
    const View att = read(a.att, li);
    k::attention_backward(d3.data(), datt.data(), dC.data(), qkv.p, att.p, B_, T_, C, NH_, rnd);
  }
  round_inplace(d3.data(), size_t(N) * 3 * C);
  {
    const View in = read(a.ln1, li);
    const View w = weight(p + bl.qkvw, size_t(3) * C * C, li);
    k::matmul_backward(dC.data(), g + bl.qkvw, g + bl.qkvb, d3.data(), in.p, w.p, N, C, 3 * C);
  }
  const View x = read(x_act, li);
  k::layernorm_backward(dres, g + bl.ln1w, g + bl.ln1b, dC.data(), x.p, p + bl.ln1w,
                        a.ln1_mean.data(), a.ln1_rstd.data(), N, C);
}

template <typename F>
void GPT<F>::backward(LayerObserver* obs, F loss_scale) {
  const int N = B_ * T_, C = C_;
  Acts& A = *acts_;
  const int hl = L_ + 1;
  // The residual stream's gradient (fp32), carried from the head down to the embedding.
  Buffer<F> dres(alloc_, size_t(N) * C, hl, Cat::workspace, true);
  {
    LayerScope s(obs, hl, Phase::bwd);
    const F* p = params_[hl].data();
    F* g = grads_[hl].data();
    View probs = read(A.probs, hl);
    // The gradient of the logits, in place over the (fp32 view of the) probabilities.
    F* dlogits = probs.scratch ? probs.scratch.data() : A.probs.full.data();
    k::crossentropy_backward(dlogits, targets_, loss_scale / F(N), N, V_);
    round_inplace(dlogits, size_t(N) * V_);
    Buffer<F> dlnf(alloc_, size_t(N) * C, hl, Cat::workspace);
    {
      const View lnf = read(A.lnf, hl);
      const View wte = weight(params_[0].data(), size_t(V_) * C, hl);
      // Tied LM head: logits = lnf @ wte^T, so wte's gradient gets this term too.
      k::matmul_backward<F>(dlnf.data(), grads_[0].data(), nullptr, dlogits, lnf.p, wte.p, N, C,
                            V_);
    }
    probs = View();
    const View x = read(block_input(L_), hl);
    k::layernorm_backward(dres.data(), g, g + C, dlnf.data(), x.p, p, A.lnf_mean.data(),
                          A.lnf_rstd.data(), N, C);
    A.lnf.reset(); A.lnf_mean.reset(); A.lnf_rstd.reset(); A.probs.reset(); A.losses.reset();
  }
  for (int l = L_ - 1; l >= 0; --l) {
    segments_.before_backward(l, A.blocks, [&](int m, bool keep_output) {
      LayerScope s(obs, m + 1, Phase::recompute);
      forward_block(m, block_input(m), keep_output);
    });
    LayerScope s(obs, l + 1, Phase::bwd);
    backward_block(l, block_input(l), dres.data());
    A.blocks[l] = typename Acts::Block();
  }
  {
    LayerScope s(obs, 0, Phase::bwd);
    F* g = grads_[0].data();
    k::encoder_backward(g, g + size_t(V_) * C, dres.data(), inputs_, B_, T_, C);
    A.embed_out.reset();
  }
  A.blocks.clear();
}

template <typename F>
void GPT<F>::release_activations() {
  acts_.reset(new Acts);
}

template <typename F>
void GPT<F>::zero_grad() {
  for (int l = 0; l < num_layers(); ++l)
    std::memset(grads_[l].data(), 0, layers_[l].params * sizeof(F));
}

template <typename F>
double GPT<F>::grad_norm_sq() const {
  double s = 0;
  for (int l = 0; l < num_layers(); ++l) s += k::sum_squares(grads_[l].data(), layers_[l].params);
  return s;
}

template <typename F>
void GPT<F>::scale_grads(F s) {
  for (int l = 0; l < num_layers(); ++l) k::scale(grads_[l].data(), s, layers_[l].params);
}

template <typename F>
void GPT<F>::adamw_step(double lr, double beta1, double beta2, double eps, double weight_decay,
                        int64_t t, LayerObserver* obs) {
  for (int l = num_layers() - 1; l >= 0; --l) {
    LayerScope s(obs, l, Phase::optim);
    for (const TensorInfo& ti : tensors_) {
      if (ti.layer != l) continue;
      k::adamw(params_[l].data() + ti.offset, grads_[l].data() + ti.offset,
               m_[l].data() + ti.offset, v_[l].data() + ti.offset, ti.count, lr, beta1, beta2,
               eps, ti.decay ? weight_decay : 0.0, t);
    }
  }
}

template class GPT<float>;
template class GPT<double>;

}  // namespace ts
