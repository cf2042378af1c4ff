#include "model.h"

#include <cmath>
#include <cstring>

#include "kernels.h"
#include "rng.h"

namespace ts {

const char* phase_name(Phase p) {
  static const char* names[] = {"fwd", "bwd", "optim", "recompute", "comm"};
  return names[int(p)];
}

namespace {

// Offsets of a block's tensors inside its contiguous parameter block.
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

}  // namespace

template <typename F>
struct GPT<F>::Acts {
  struct Block {
    Buffer<F> ln1, ln1_mean, ln1_rstd, qkv, att, atty, res2, ln2, ln2_mean, ln2_rstd, fch,
        fch_gelu, res3;
  };
  Buffer<F> embed_out;
  std::vector<Block> blocks;
  Buffer<F> lnf, lnf_mean, lnf_rstd, probs, losses;
};

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

namespace {
struct Scope {
  LayerObserver* obs;
  int layer;
  Phase phase;
  Scope(LayerObserver* o, int l, Phase p) : obs(o), layer(l), phase(p) {
    if (obs) obs->begin(layer, phase);
  }
  ~Scope() {
    if (obs) obs->end(layer, phase);
  }
};
}  // namespace

template <typename F>
void GPT<F>::set_checkpoint(const Segments& segments) {
  segments_ = segments;
  seg_of_.assign(L_, -1);
  for (size_t k = 0; k < segments.size(); ++k)
    for (int b = segments[k].first; b <= segments[k].second && b < L_; ++b) seg_of_[b] = int(k);
}

// keep_output = false skips the output projection of the MLP: a recomputed
// segment's last block needs its internals for backward, not its output.
template <typename F>
void GPT<F>::forward_block(int l, const F* x, bool keep_output) {
  const int N = B_ * T_, C = C_;
  const int li = l + 1;
  const BlockLayout bl(C);
  const F* p = params_[li].data();
  auto& a = acts_->blocks[l];
  a.ln1 = Buffer<F>(alloc_, size_t(N) * C, li, Cat::act);
  a.ln1_mean = Buffer<F>(alloc_, N, li, Cat::act);
  a.ln1_rstd = Buffer<F>(alloc_, N, li, Cat::act);
  k::layernorm_forward(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), x, p + bl.ln1w,
                       p + bl.ln1b, N, C);
  a.qkv = Buffer<F>(alloc_, size_t(N) * 3 * C, li, Cat::act);
  k::matmul_forward(a.qkv.data(), a.ln1.data(), p + bl.qkvw, p + bl.qkvb, N, C, 3 * C);
  a.att = Buffer<F>(alloc_, size_t(B_) * NH_ * T_ * T_, li, Cat::act);
  a.atty = Buffer<F>(alloc_, size_t(N) * C, li, Cat::act);
  k::attention_forward(a.atty.data(), a.att.data(), a.qkv.data(), B_, T_, C, NH_);
  a.res2 = Buffer<F>(alloc_, size_t(N) * C, li, Cat::act);
  k::matmul_forward(a.res2.data(), a.atty.data(), p + bl.projw, p + bl.projb, N, C, C, x);
  a.ln2 = Buffer<F>(alloc_, size_t(N) * C, li, Cat::act);
  a.ln2_mean = Buffer<F>(alloc_, N, li, Cat::act);
  a.ln2_rstd = Buffer<F>(alloc_, N, li, Cat::act);
  k::layernorm_forward(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.res2.data(),
                       p + bl.ln2w, p + bl.ln2b, N, C);
  a.fch = Buffer<F>(alloc_, size_t(N) * 4 * C, li, Cat::act);
  k::matmul_forward(a.fch.data(), a.ln2.data(), p + bl.fcw, p + bl.fcb, N, C, 4 * C);
  a.fch_gelu = Buffer<F>(alloc_, size_t(N) * 4 * C, li, Cat::act);
  k::gelu_forward(a.fch_gelu.data(), a.fch.data(), size_t(N) * 4 * C);
  if (!keep_output) return;
  a.res3 = Buffer<F>(alloc_, size_t(N) * C, li, Cat::act);
  k::matmul_forward(a.res3.data(), a.fch_gelu.data(), p + bl.fcprojw, p + bl.fcprojb, N, 4 * C,
                    C, a.res2.data());
}

template <typename F>
double GPT<F>::forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs) {
  release_activations();
  inputs_ = inputs;
  targets_ = targets;
  const int N = B_ * T_, C = C_;
  Acts& A = *acts_;
  {
    Scope s(obs, 0, Phase::fwd);
    A.embed_out = Buffer<F>(alloc_, size_t(N) * C, 0, Cat::act);
    const F* wte = params_[0].data();
    k::encoder_forward(A.embed_out.data(), inputs, wte, wte + size_t(V_) * C, B_, T_, C);
  }
  A.blocks.resize(L_);
  const F* x = A.embed_out.data();
  for (int l = 0; l < L_; ++l) {
    Scope s(obs, l + 1, Phase::fwd);
    forward_block(l, x);
    x = A.blocks[l].res3.data();
    const int seg = segment_of(l);
    if (seg < 0) continue;
    // Checkpointed: keep only the output (the next block's input) ...
    Buffer<F> out = std::move(A.blocks[l].res3);
    A.blocks[l] = typename Acts::Block();
    A.blocks[l].res3 = std::move(out);
    // ... and inside a segment, drop the previous block's output once this
    // block has consumed it: backward recomputes it from the segment input.
    if (l > 0 && segment_of(l - 1) == seg) A.blocks[l - 1].res3.reset();
  }
  Scope s(obs, L_ + 1, Phase::fwd);
  const int hl = L_ + 1;
  const F* p = params_[hl].data();
  A.lnf = Buffer<F>(alloc_, size_t(N) * C, hl, Cat::act);
  A.lnf_mean = Buffer<F>(alloc_, N, hl, Cat::act);
  A.lnf_rstd = Buffer<F>(alloc_, N, hl, Cat::act);
  k::layernorm_forward(A.lnf.data(), A.lnf_mean.data(), A.lnf_rstd.data(), x, p, p + C, N, C);
  A.probs = Buffer<F>(alloc_, size_t(N) * V_, hl, Cat::act);
  k::matmul_forward<F>(A.probs.data(), A.lnf.data(), params_[0].data(), nullptr, N, C, V_);
  A.losses = Buffer<F>(alloc_, N, hl, Cat::act);
  return k::crossentropy_forward(A.probs.data(), A.losses.data(), A.probs.data(), targets, N,
                                 V_);
}

template <typename F>
void GPT<F>::backward_block(int l, const F* x, F* dres) {
  const int N = B_ * T_, C = C_;
  const int li = l + 1;
  const BlockLayout bl(C);
  const F* p = params_[li].data();
  F* g = grads_[li].data();
  auto& a = acts_->blocks[l];
  Buffer<F> d4(alloc_, size_t(N) * 4 * C, li, Cat::workspace);
  Buffer<F> dC(alloc_, size_t(N) * C, li, Cat::workspace);
  // MLP: res3 = res2 + proj(gelu(fc(ln2(res2))))
  k::matmul_backward(d4.data(), g + bl.fcprojw, g + bl.fcprojb, dres, a.fch_gelu.data(),
                     p + bl.fcprojw, N, 4 * C, C);
  k::gelu_backward(d4.data(), a.fch.data(), d4.data(), size_t(N) * 4 * C);
  k::matmul_backward(dC.data(), g + bl.fcw, g + bl.fcb, d4.data(), a.ln2.data(), p + bl.fcw, N,
                     C, 4 * C);
  k::layernorm_backward(dres, g + bl.ln2w, g + bl.ln2b, dC.data(), a.res2.data(), p + bl.ln2w,
                        a.ln2_mean.data(), a.ln2_rstd.data(), N, C);
  d4.reset();
  // Attention: res2 = x + proj(attn(qkv(ln1(x))))
  Buffer<F> d3(alloc_, size_t(N) * 3 * C, li, Cat::workspace);
  Buffer<F> datt(alloc_, size_t(T_) * T_, li, Cat::workspace);
  k::matmul_backward(dC.data(), g + bl.projw, g + bl.projb, dres, a.atty.data(), p + bl.projw,
                     N, C, C);
  k::attention_backward(d3.data(), datt.data(), dC.data(), a.qkv.data(), a.att.data(), B_, T_,
                        C, NH_);
  k::matmul_backward(dC.data(), g + bl.qkvw, g + bl.qkvb, d3.data(), a.ln1.data(), p + bl.qkvw,
                     N, C, 3 * C);
  k::layernorm_backward(dres, g + bl.ln1w, g + bl.ln1b, dC.data(), x, p + bl.ln1w,
                        a.ln1_mean.data(), a.ln1_rstd.data(), N, C);
}

template <typename F>
void GPT<F>::backward(LayerObserver* obs, F loss_scale) {
  const int N = B_ * T_, C = C_;
  Acts& A = *acts_;
  const int hl = L_ + 1;
  // The residual stream's gradient, carried from the head down to the embedding.
  Buffer<F> dres(alloc_, size_t(N) * C, hl, Cat::workspace, true);
  {
    Scope s(obs, hl, Phase::bwd);
    const F* p = params_[hl].data();
    F* g = grads_[hl].data();
    k::crossentropy_backward(A.probs.data(), targets_, loss_scale / F(N), N, V_);
    Buffer<F> dlnf(alloc_, size_t(N) * C, hl, Cat::workspace);
    // Tied LM head: logits = lnf @ wte^T, so wte's gradient gets this term too.
    k::matmul_backward<F>(dlnf.data(), grads_[0].data(), nullptr, A.probs.data(), A.lnf.data(),
                          params_[0].data(), N, C, V_);
    const F* x = L_ > 0 ? A.blocks[L_ - 1].res3.data() : A.embed_out.data();
    k::layernorm_backward(dres.data(), g, g + C, dlnf.data(), x, p, A.lnf_mean.data(),
                          A.lnf_rstd.data(), N, C);
    A.lnf.reset(); A.lnf_mean.reset(); A.lnf_rstd.reset(); A.probs.reset(); A.losses.reset();
  }
  for (int l = L_ - 1; l >= 0; --l) {
    const int seg = segment_of(l);
    if (seg >= 0 && segments_[seg].second == l) {
      // Entering a segment from its end: its stored output has been used by
      // the layer above; recompute the segment's blocks from its input.
      A.blocks[l].res3.reset();
      const int first = segments_[seg].first;
      for (int m = first; m <= l; ++m) {
        Scope s(obs, m + 1, Phase::recompute);
        forward_block(m, m > 0 ? A.blocks[m - 1].res3.data() : A.embed_out.data(), m < l);
      }
    }
    Scope s(obs, l + 1, Phase::bwd);
    const F* x = l > 0 ? A.blocks[l - 1].res3.data() : A.embed_out.data();
    backward_block(l, x, dres.data());
    A.blocks[l] = typename Acts::Block();
  }
  {
    Scope s(obs, 0, Phase::bwd);
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
    Scope s(obs, l, Phase::optim);
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
