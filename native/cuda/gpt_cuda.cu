// The `gpt` model on the GPU: the CPU model's layers (core/model/model.cpp), in
// the same order, with the same activations kept, the same checkpoint
// segments and the same numbers where the formats allow:
//
//   - Matrix products in cuBLAS (cublasGemmStridedBatchedEx, fp32
//     accumulation): fp32 without TF32 under precision fp32; bf16/fp16
//     inputs on the tensor cores under mixed precision, reading a 16-bit
//     copy of the weights that AdamW refreshes. Parameters, their
//     gradients, AdamW's moments and the residual stream's gradient stay
//     fp32, as on the CPU.
//   - The other layers are this folder's kernel families (one per file),
//     whose per-element math is shared with the CPU kernels (core/base/hd.h).
//   - Every byte comes from the tracking allocator over cudaMalloc, tagged
//     by layer and category: the memory view shows device memory exactly
//     as it shows host memory for CPU runs.
//   - Phases and layers are timed with CUDA events on one stream and
//     reported to the observer after the work has run (LayerObserver::span).
//
// Parameters are initialised by building the CPU model with the same seed
// and copying its tensors, so a CPU run and a GPU run start from the same
// point (the parity tests rely on it).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "attention.cuh"
#include "common.cuh"
#include "crossentropy.cuh"
#include "elementwise.cuh"
#include "flash_attention.cuh"
#include "layernorm.cuh"
#include "model/backend.h"
#include "model/model.h"
#include "reduce.cuh"

namespace ts::cuda {
namespace {

constexpr unsigned kThreads = 256;

// Device memory for the tracking allocator. An allocation that fails
// returns nullptr (the allocator drops its cache, retries, then reports
// out of memory); the sticky error state is cleared so the run can say so.
class DeviceMemory final : public RawMemory {
 public:
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return p;
  }
  void release(void* p) override { cudaFree(p); }
  void zero(void* p, size_t bytes) override { CUDA_CHECK(cudaMemset(p, 0, bytes)); }
};

// CUDA events around each (layer, phase), resolved after the work ran.
class EventTimer {
 public:
  ~EventTimer() {
    for (cudaEvent_t e : pool_) cudaEventDestroy(e);
  }
  void begin(int layer, Phase phase, cudaStream_t s) {
    recs_.push_back({layer, phase, record(s), nullptr});
  }
  void end(int layer, Phase phase, cudaStream_t s) {
    for (auto it = recs_.rbegin(); it != recs_.rend(); ++it)
      if (it->layer == layer && it->phase == phase && !it->e1) {
        it->e1 = record(s);
        return;
      }
  }
  // Waits for the stream, then maps each event onto the observer's clock:
  // t(e) = now - (tail - e), tail recorded after all the work.
  void resolve(LayerObserver* obs, cudaStream_t s) {
    if (recs_.empty()) return;
    cudaEvent_t tail = record(s);
    CUDA_CHECK(cudaEventSynchronize(tail));
    const double now = obs->now_us();
    for (const Rec& r : recs_) {
      if (!r.e1) continue;
      float a = 0, b = 0;
      CUDA_CHECK(cudaEventElapsedTime(&a, r.e0, tail));
      CUDA_CHECK(cudaEventElapsedTime(&b, r.e1, tail));
      obs->span(r.layer, r.phase, now - a * 1e3, now - b * 1e3);
    }
    recs_.clear();
    used_ = 0;
  }

 private:
  struct Rec {
    int layer;
    Phase phase;
    cudaEvent_t e0, e1;
  };
  cudaEvent_t record(cudaStream_t s) {
    if (used_ == pool_.size()) {
      cudaEvent_t e;
      CUDA_CHECK(cudaEventCreate(&e));
      pool_.push_back(e);
    }
    cudaEvent_t e = pool_[used_++];
    CUDA_CHECK(cudaEventRecord(e, s));
    return e;
  }
  std::vector<cudaEvent_t> pool_;
  size_t used_ = 0;
  std::vector<Rec> recs_;
};


// The matrices of every (batch element, head) of one attention product:
// out[k][i] = base[k] + (i / NH) * batch_stride[k] + (i % NH) * head_stride[k]
// bytes, for the A, B and C operands (k = 0, 1, 2) of cublasGemmBatchedEx.
struct HeadPtrs {
  const char* base[3];
  long long batch_stride[3], head_stride[3];
};
__global__ void head_ptrs_kernel(const void** out, HeadPtrs hp, int n, int NH) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  for (int k = 0; k < 3; ++k) out[size_t(k) * n + i] = hp.base[k] + (i / NH) * hp.batch_stride[k] + (i % NH) * hp.head_stride[k];
}

template <typename T>
class CudaGPT final : public TrainModel {
 public:
  CudaGPT(const ModelConfig& mc, int batch, Allocator& alloc, uint64_t seed, const Segments& segs, bool fused);
  ~CudaGPT() override;

  const std::vector<LayerInfo>& layers() const override { return layers_; }
  double forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs) override;
  void backward(LayerObserver* obs, float loss_scale) override;
  void release_activations() override { acts_.reset(new Acts); }
  void zero_grad() override {
    for (int l = 0; l < num_layers(); ++l)
      CUDA_CHECK(cudaMemsetAsync(grads_[l].data(), 0, layer_params(l) * sizeof(float), stream_));
  }
  double grad_norm_sq() override;
  void scale_grads(float s) override {
    for (int l = 0; l < num_layers(); ++l) {
      scale_kernel<<<blocks_for(layer_params(l), kThreads), kThreads, 0, stream_>>>(grads_[l].data(), s, layer_params(l));
      KERNEL_CHECK();
    }
  }
  void adamw_step(double lr, double beta1, double beta2, double eps, double wd, int64_t t,
                  LayerObserver* obs) override;
  float* params(int l) override { return host_[0][l].data(); }
  float* grads(int l) override { return host_[1][l].data(); }
  float* adam_m(int l) override { return host_[2][l].data(); }
  float* adam_v(int l) override { return host_[3][l].data(); }
  void pull_state() override { copy_state(true); }
  void push_state() override { copy_state(false); }
  void poison_grad() override {
    const float inf = INFINITY;
    CUDA_CHECK(cudaMemcpyAsync(grads_[0].data(), &inf, sizeof inf, cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  struct Block {
    Buffer<T> ln1, qkv, att, atty, res2, ln2, fch, fch_gelu, res3;
    Buffer<float> ln1_mean, ln1_rstd, ln2_mean, ln2_rstd;
    Buffer<float> lse;  // fused attention: per query, instead of att
  };
  struct Acts {
    Buffer<T> embed_out;
    std::vector<Block> blocks;
    Buffer<T> lnf, probs;
    Buffer<float> lnf_mean, lnf_rstd, losses;
  };
  // The observer's begin/end of a (layer, phase), with its CUDA events
  // recorded inside them.
  struct Scope : LayerScope {
    CudaGPT* m;
    Scope(CudaGPT* m_, LayerObserver* o, int l, Phase p) : LayerScope(o, l, p), m(m_) {
      if (obs) m->timer_.begin(layer, phase, m->stream_);
    }
    ~Scope() {
      if (obs) m->timer_.end(layer, phase, m->stream_);
    }
  };

  // Row-major C[M,N] = alpha op(A) op(B) + beta C, batched over `batch`
  // matrices `stride` elements apart, as cuBLAS's column-major C^T = op(B)^T op(A)^T.
  void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const T* A, int lda, long long sa,
            const T* B, int ldb, long long sb, float beta, void* C, cudaDataType_t ct, int ldc,
            long long sc, int batch = 1) {
    CUBLAS_CHECK(cublas_->gemm_strided_batched_ex(
        blas_, tb ? kOpT : kOpN, ta ? kOpT : kOpN, N, M, K, &alpha, B, Dtype<T>::id, ldb, sb, A,
        Dtype<T>::id, lda, sa, &beta, C, ct, ldc, sc, batch, kCublasCompute32F, kCublasGemmDefault));
  }
  // One product per (batch element, head), all in one cuBLAS call: the
  // operands sit at (batch, head) strides inside the activations (q, k and
  // v inside qkv, a head's columns of y), which no single stride reaches.
  // Strides in elements: sb* per batch element, sh* per head.
  void gemm_heads(bool ta, bool tb, int M, int N, int K, float alpha, const T* A, int lda, long long sbA,
                  long long shA, const T* B, int ldb, long long sbB, long long shB, float beta, void* C,
                  cudaDataType_t ct, int ldc, long long sbC, long long shC) {
    const int n = B_ * NH_;
    const long long ce = ct == CUDA_R_32F ? 4 : sizeof(T);
    HeadPtrs hp{{reinterpret_cast<const char*>(A), reinterpret_cast<const char*>(B), static_cast<const char*>(C)},
                {sbA * (long long)sizeof(T), sbB * (long long)sizeof(T), sbC * ce},
                {shA * (long long)sizeof(T), shB * (long long)sizeof(T), shC * ce}};
    const void** p = reinterpret_cast<const void**>(ptrs_.data());
    head_ptrs_kernel<<<(n + 127) / 128, 128, 0, stream_>>>(p, hp, n, NH_);
    KERNEL_CHECK();
    CUBLAS_CHECK(cublas_->gemm_batched_ex(blas_, tb ? kOpT : kOpN, ta ? kOpT : kOpN, N, M, K, &alpha, p + n,
                                          Dtype<T>::id, ldb, p, Dtype<T>::id, lda, &beta,
                                          const_cast<void* const*>(p + 2 * n), ct, ldc, n, kCublasCompute32F,
                                          kCublasGemmDefault));
  }
  // out[N,OC] = base + inp[N,C] @ W^T, base = residual (or 0) + bias.
  void matmul_forward(T* out, const T* inp, const T* W, const float* bias, int N, int C, int OC,
                      const T* residual = nullptr) {
    bias_base_kernel<<<blocks_for(size_t(N) * OC, kThreads), kThreads, 0, stream_>>>(out, residual, bias, N, OC);
    KERNEL_CHECK();
    gemm(false, true, N, OC, C, 1.0f, inp, C, 0, W, C, 0, 1.0f, out, Dtype<T>::id, OC, 0);
  }
  // dinp = dout @ W, dW += dout^T @ inp (fp32), dbias += colsum(dout).
  void matmul_backward(T* dinp, float* dW, float* dbias, const T* dout, const T* inp, const T* W,
                       int N, int C, int OC, int ld_out = 0) {
    const int ldo = ld_out ? ld_out : OC;
    gemm(false, false, N, C, OC, 1.0f, dout, ldo, 0, W, C, 0, 0.0f, dinp, Dtype<T>::id, C, 0);
    gemm(true, false, OC, C, N, 1.0f, dout, ldo, 0, inp, C, 0, 1.0f, dW, CUDA_R_32F, C, 0);
    if (dbias) colsum(dbias, partial_.data(), N, OC, ColOf<T>{dout, ldo}, stream_);
  }
  // The matrix-product copy of layer l's weights: the 16-bit copy under
  // mixed precision, the fp32 parameters themselves otherwise.
  const T* wts(int l) const {
    if constexpr (std::is_same<T, float>::value) return params_[l].data();
    else return wlow_[l].data();
  }
  // A T view of an fp32 tensor (the residual gradient) for a product.
  const T* as_t(const float* x, size_t n, Buffer<T>& scratch, int layer) {
    if constexpr (std::is_same<T, float>::value) {
      return x;
    } else {
      scratch = Buffer<T>(alloc_, n, layer, Cat::workspace);
      convert_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream_>>>(scratch.data(), x, n);
      KERNEL_CHECK();
      return scratch.data();
    }
  }
  const Buffer<T>& block_input(int l) const { return l > 0 ? acts_->blocks[l - 1].res3 : acts_->embed_out; }
  void attention_forward(Block& a, int li);
  void attention_backward(const Block& a, T* d3, const T* dy, int li);
  void forward_block(int l, const T* x, bool keep_output);
  void backward_block(int l, const T* x, float* dres);
  void refresh_low(int l);
  void copy_state(bool to_host);

  Allocator& alloc_;
  // Vp_: the logits' row stride, the vocabulary rounded up to 64. Vg_: the
  // vocabulary the head's products run over: Vp_ when the rows past wte's
  // end (wpe's first rows, in the same parameter block) can stand in for
  // the padding, else V_. An odd vocabulary (GPT-2's 50257) keeps cuBLAS
  // off its fastest tensor-core kernels; padded, the products read those
  // rows as weights (the padded logits are ignored by the loss) and add
  // exactly 0 to their gradients (the padded columns of the logits'
  // gradient are 0).
  int B_, T_, C_, NH_, V_, Vp_, Vg_, L_;
  // Attention fused (train.attention fused; flash_attention.cuh) rather
  // than materialised.
  bool flash_;
  std::vector<LayerInfo> layers_;
  std::vector<TensorInfo> tensors_;
  std::vector<Buffer<float>> params_, grads_, m_, v_;
  std::vector<Buffer<T>> wlow_;
  std::vector<std::vector<float>> host_[4];  // params, grads, m, v
  std::unique_ptr<Acts> acts_;
  SegmentWalk segments_;
  Buffer<int32_t> inputs_d_, targets_d_;
  std::vector<int32_t> inputs_h_;
  Buffer<float> partial_;       // column-sum partials
  Buffer<double> sumsq_;        // per-layer sums of squares and their partials
  Buffer<double> scalar_;       // the mean loss
  Buffer<uint64_t> ptrs_;       // attention's per-head operand pointers
  Buffer<unsigned char> blas_ws_;
  const Cublas* cublas_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  EventTimer timer_;
};

template <typename T>
CudaGPT<T>::CudaGPT(const ModelConfig& mc, int batch, Allocator& alloc, uint64_t seed, const Segments& segs,
                    bool fused)
    : alloc_(alloc), B_(batch), T_(mc.context), C_(mc.width), NH_(mc.heads), V_(mc.vocab),
      Vp_(int(CudaFootprint::padded_vocab(mc.vocab))), Vg_(mc.context >= Vp_ - mc.vocab ? Vp_ : mc.vocab), L_(mc.layers),
      flash_(fused && !std::is_same<T, float>::value &&
             flash_attention_fits(true, mc.context, mc.width, mc.heads)),
      acts_(new Acts), segments_(segs, mc.layers) {
  std::string err;
  cublas_ = Cublas::get(err);
  if (!cublas_) throw CudaError(err);
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  CUBLAS_CHECK(cublas_->create(&blas_));
  CUBLAS_CHECK(cublas_->set_stream(blas_, stream_));
  // cuBLAS's workspace comes from the tracking allocator too (32 MiB, what
  // cuBLAS asks for on Hopper), so no device memory goes unaccounted.
  const size_t ws = CudaFootprint::kBlasWorkspace;
  blas_ws_ = Buffer<unsigned char>(alloc_, ws, L_ + 1, Cat::workspace);
  CUBLAS_CHECK(cublas_->set_workspace(blas_, blas_ws_.data(), ws));
  {
    // The CPU model's initialisation, copied over.
    Allocator host(L_ + 2);
    GPT<float> cpu(mc, 1, host, seed);
    layers_ = cpu.layers();
    tensors_ = cpu.tensors();
    for (int l = 0; l < num_layers(); ++l) {
      const size_t n = layers_[l].params;
      params_.emplace_back(alloc_, n, l, Cat::param);
      grads_.emplace_back(alloc_, n, l, Cat::grad, true);
      m_.emplace_back(alloc_, n, l, Cat::optim, true);
      v_.emplace_back(alloc_, n, l, Cat::optim, true);
      CUDA_CHECK(cudaMemcpy(params_[l].data(), cpu.params(l), n * sizeof(float), cudaMemcpyHostToDevice));
      for (auto& h : host_) h.emplace_back(n, 0.0f);
    }
  }
  if constexpr (!std::is_same<T, float>::value) {
    for (int l = 0; l < num_layers(); ++l) {
      wlow_.emplace_back(alloc_, layers_[l].params, l, Cat::workspace);
      refresh_low(l);
    }
  }
  const size_t N = size_t(B_) * T_;
  inputs_d_ = Buffer<int32_t>(alloc_, N, 0, Cat::workspace);
  targets_d_ = Buffer<int32_t>(alloc_, N, 0, Cat::workspace);
  partial_ = Buffer<float>(alloc_, size_t(kColChunks) * 4 * C_, L_ + 1, Cat::workspace);
  sumsq_ = Buffer<double>(alloc_, size_t(num_layers()) * (kSumSqBlocks + 1), L_ + 1, Cat::workspace);
  scalar_ = Buffer<double>(alloc_, 1, L_ + 1, Cat::workspace);
  ptrs_ = Buffer<uint64_t>(alloc_, size_t(3) * B_ * NH_, L_ + 1, Cat::workspace);
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

template <typename T>
CudaGPT<T>::~CudaGPT() {
  if (stream_) cudaStreamSynchronize(stream_);
  acts_.reset();
  if (blas_) cublas_->destroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

template <typename T>
void CudaGPT<T>::refresh_low(int l) {
  if constexpr (!std::is_same<T, float>::value) {
    const size_t n = layers_[l].params;
    convert_kernel<<<blocks_for(n, kThreads), kThreads, 0, stream_>>>(wlow_[l].data(), params_[l].data(), n);
    KERNEL_CHECK();
  }
}

// a.atty from a.qkv, keeping for backward either the probabilities (a.att)
// or, fused, each query's log-sum-exp (a.lse).
template <typename T>
void CudaGPT<T>::attention_forward(Block& a, int li) {
  const int C = C_, hs = C / NH_;
  if constexpr (!std::is_same<T, float>::value) {
    if (flash_) {
      a.lse = Buffer<float>(alloc_, size_t(B_) * NH_ * T_, li, Cat::act);
      flash_attention_forward(a.atty.data(), a.lse.data(), a.qkv.data(), B_, NH_, T_, C, stream_);
      return;
    }
  }
  // Every (batch element, head) at once: scores = q k^T / sqrt(hs) into
  // att, the causal softmax in place, y = att v.
  a.att = Buffer<T>(alloc_, size_t(B_) * NH_ * T_ * T_, li, Cat::act);
  const float scale = 1.0f / std::sqrt(float(hs));
  const long long tt = (long long)T_ * T_, row = (long long)T_ * 3 * C;
  const T* qkv = a.qkv.data();
  T* att = a.att.data();
  gemm_heads(false, true, T_, T_, hs, scale, qkv, 3 * C, row, hs, qkv + C, 3 * C, row, hs, 0.0f, att,
             Dtype<T>::id, T_, NH_ * tt, tt);
  softmax_causal_forward(att, att, B_ * NH_ * T_, T_, stream_);
  gemm_heads(false, false, T_, hs, T_, 1.0f, att, T_, NH_ * tt, tt, qkv + 2 * C, 3 * C, row, hs, 0.0f,
             a.atty.data(), Dtype<T>::id, C, (long long)T_ * C, hs);
}

// d3 (the qkv gradient, overwritten) from dy, the attention output's
// gradient: dv = att^T dy; ds = dy v^T; the softmax's backward in place over
// ds; dq = ds k; dk = ds^T q. Every (batch element, head) at once. Fused
// attention kept no probabilities: they are recomputed first, from fp32
// scores and the forward's log-sum-exp.
template <typename T>
void CudaGPT<T>::attention_backward(const Block& a, T* d3, const T* dy, int li) {
  const int C = C_, hs = C / NH_;
  const long long tt = (long long)T_ * T_, row = (long long)T_ * 3 * C, yrow = (long long)T_ * C;
  const float scale = 1.0f / std::sqrt(float(hs));
  const T* qkv = a.qkv.data();
  const T* att = a.att.data();
  Buffer<T> recomputed;
  if (flash_) {
    Buffer<float> scores(alloc_, size_t(B_) * NH_ * tt, li, Cat::workspace);
    gemm_heads(false, true, T_, T_, hs, scale, qkv, 3 * C, row, hs, qkv + C, 3 * C, row, hs, 0.0f, scores.data(),
               CUDA_R_32F, T_, NH_ * tt, tt);
    recomputed = Buffer<T>(alloc_, size_t(B_) * NH_ * tt, li, Cat::workspace);
    softmax_from_lse(recomputed.data(), scores.data(), a.lse.data(), B_ * NH_ * T_, T_, stream_);
    att = recomputed.data();
  }
  Buffer<T> ds(alloc_, size_t(B_) * NH_ * tt, li, Cat::workspace);
  gemm_heads(true, false, T_, hs, T_, 1.0f, att, T_, NH_ * tt, tt, dy, C, yrow, hs, 0.0f, d3 + 2 * C,
             Dtype<T>::id, 3 * C, row, hs);
  gemm_heads(false, true, T_, T_, hs, 1.0f, dy, C, yrow, hs, qkv + 2 * C, 3 * C, row, hs, 0.0f, ds.data(),
             Dtype<T>::id, T_, NH_ * tt, tt);
  softmax_causal_backward(ds.data(), ds.data(), att, B_ * NH_ * T_, T_, scale, stream_);
  gemm_heads(false, false, T_, hs, T_, 1.0f, ds.data(), T_, NH_ * tt, tt, qkv + C, 3 * C, row, hs, 0.0f, d3,
             Dtype<T>::id, 3 * C, row, hs);
  gemm_heads(true, false, T_, hs, T_, 1.0f, ds.data(), T_, NH_ * tt, tt, qkv, 3 * C, row, hs, 0.0f, d3 + C,
             Dtype<T>::id, 3 * C, row, hs);
}

template <typename T>
void CudaGPT<T>::forward_block(int l, const T* x, bool keep_output) {
  const int N = B_ * T_, C = C_, li = l + 1;
  const BlockLayout bl(C);
  const float* p = params_[li].data();
  const T* w = wts(li);
  Block& a = acts_->blocks[l];
  a.ln1_mean = Buffer<float>(alloc_, N, li, Cat::act);
  a.ln1_rstd = Buffer<float>(alloc_, N, li, Cat::act);
  a.ln1 = Buffer<T>(alloc_, size_t(N) * C, li, Cat::act);
  layernorm_forward(a.ln1.data(), a.ln1_mean.data(), a.ln1_rstd.data(), x, p + bl.ln1w, p + bl.ln1b, N, C, stream_);
  a.qkv = Buffer<T>(alloc_, size_t(N) * 3 * C, li, Cat::act);
  matmul_forward(a.qkv.data(), a.ln1.data(), w + bl.qkvw, p + bl.qkvb, N, C, 3 * C);
  a.atty = Buffer<T>(alloc_, size_t(N) * C, li, Cat::act);
  attention_forward(a, li);
  a.res2 = Buffer<T>(alloc_, size_t(N) * C, li, Cat::act);
  matmul_forward(a.res2.data(), a.atty.data(), w + bl.projw, p + bl.projb, N, C, C, x);
  a.ln2_mean = Buffer<float>(alloc_, N, li, Cat::act);
  a.ln2_rstd = Buffer<float>(alloc_, N, li, Cat::act);
  a.ln2 = Buffer<T>(alloc_, size_t(N) * C, li, Cat::act);
  layernorm_forward(a.ln2.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.res2.data(), p + bl.ln2w, p + bl.ln2b, N, C, stream_);
  a.fch = Buffer<T>(alloc_, size_t(N) * 4 * C, li, Cat::act);
  matmul_forward(a.fch.data(), a.ln2.data(), w + bl.fcw, p + bl.fcb, N, C, 4 * C);
  a.fch_gelu = Buffer<T>(alloc_, size_t(N) * 4 * C, li, Cat::act);
  gelu_forward_kernel<<<blocks_for(size_t(N) * 4 * C, kThreads), kThreads, 0, stream_>>>(a.fch_gelu.data(), a.fch.data(), size_t(N) * 4 * C);
  KERNEL_CHECK();
  if (!keep_output) return;
  a.res3 = Buffer<T>(alloc_, size_t(N) * C, li, Cat::act);
  matmul_forward(a.res3.data(), a.fch_gelu.data(), w + bl.fcprojw, p + bl.fcprojb, N, 4 * C, C, a.res2.data());
}

template <typename T>
double CudaGPT<T>::forward(const int32_t* inputs, const int32_t* targets, LayerObserver* obs) {
  release_activations();
  const int N = B_ * T_, C = C_;
  inputs_h_.assign(inputs, inputs + N);
  CUDA_CHECK(cudaMemcpyAsync(inputs_d_.data(), inputs, N * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
  CUDA_CHECK(cudaMemcpyAsync(targets_d_.data(), targets, N * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
  Acts& A = *acts_;
  {
    Scope s(this, obs, 0, Phase::fwd);
    A.embed_out = Buffer<T>(alloc_, size_t(N) * C, 0, Cat::act);
    const float* wte = params_[0].data();
    encoder_forward_kernel<<<blocks_for(size_t(N) * C, kThreads), kThreads, 0, stream_>>>(
        A.embed_out.data(), inputs_d_.data(), wte, wte + size_t(V_) * C, N, T_, C);
    KERNEL_CHECK();
  }
  A.blocks.resize(L_);
  for (int l = 0; l < L_; ++l) {
    Scope s(this, obs, l + 1, Phase::fwd);
    forward_block(l, block_input(l).data(), true);
    segments_.after_forward(l, A.blocks);
  }
  {
    Scope s(this, obs, L_ + 1, Phase::fwd);
    const int hl = L_ + 1;
    const float* p = params_[hl].data();
    A.lnf_mean = Buffer<float>(alloc_, N, hl, Cat::act);
    A.lnf_rstd = Buffer<float>(alloc_, N, hl, Cat::act);
    A.lnf = Buffer<T>(alloc_, size_t(N) * C, hl, Cat::act);
    layernorm_forward(A.lnf.data(), A.lnf_mean.data(), A.lnf_rstd.data(), block_input(L_).data(), p, p + C, N, C, stream_);
    A.probs = Buffer<T>(alloc_, size_t(N) * Vp_, hl, Cat::act);
    gemm(false, true, N, Vg_, C, 1.0f, A.lnf.data(), C, 0, wts(0), C, 0, 0.0f, A.probs.data(), Dtype<T>::id, Vp_, 0);
    A.losses = Buffer<float>(alloc_, N, hl, Cat::act);
    crossentropy_forward(A.probs.data(), A.losses.data(), targets_d_.data(), N, V_, Vp_, stream_);
    mean_kernel<<<1, 1024, 0, stream_>>>(scalar_.data(), A.losses.data(), N);
    KERNEL_CHECK();
  }
  double loss = 0;
  CUDA_CHECK(cudaMemcpyAsync(&loss, scalar_.data(), sizeof loss, cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (obs) timer_.resolve(obs, stream_);
  return loss;
}

template <typename T>
void CudaGPT<T>::backward_block(int l, const T* x, float* dres) {
  const int N = B_ * T_, C = C_, li = l + 1;
  const BlockLayout bl(C);
  const float* p = params_[li].data();
  const T* w = wts(li);
  float* g = grads_[li].data();
  Block& a = acts_->blocks[l];
  Buffer<T> d4(alloc_, size_t(N) * 4 * C, li, Cat::workspace);
  Buffer<T> dC(alloc_, size_t(N) * C, li, Cat::workspace);
  Buffer<T> dres_t;
  // MLP: res3 = res2 + proj(gelu(fc(ln2(res2))))
  const T* d = as_t(dres, size_t(N) * C, dres_t, li);
  matmul_backward(d4.data(), g + bl.fcprojw, g + bl.fcprojb, d, a.fch_gelu.data(), w + bl.fcprojw, N, 4 * C, C);
  gelu_backward_kernel<<<blocks_for(size_t(N) * 4 * C, kThreads), kThreads, 0, stream_>>>(d4.data(), a.fch.data(), d4.data(), size_t(N) * 4 * C);
  KERNEL_CHECK();
  matmul_backward(dC.data(), g + bl.fcw, g + bl.fcb, d4.data(), a.ln2.data(), w + bl.fcw, N, C, 4 * C);
  layernorm_backward(dres, g + bl.ln2w, g + bl.ln2b, partial_.data(), dC.data(), a.res2.data(), p + bl.ln2w,
                     a.ln2_mean.data(), a.ln2_rstd.data(), N, C, stream_);
  d4.reset();
  // Attention: res2 = x + proj(attn(qkv(ln1(x))))
  d = as_t(dres, size_t(N) * C, dres_t, li);
  matmul_backward(dC.data(), g + bl.projw, g + bl.projb, d, a.atty.data(), w + bl.projw, N, C, C);
  dres_t.reset();
  Buffer<T> d3(alloc_, size_t(N) * 3 * C, li, Cat::workspace);
  attention_backward(a, d3.data(), dC.data(), li);
  matmul_backward(dC.data(), g + bl.qkvw, g + bl.qkvb, d3.data(), a.ln1.data(), w + bl.qkvw, N, C, 3 * C);
  layernorm_backward(dres, g + bl.ln1w, g + bl.ln1b, partial_.data(), dC.data(), x, p + bl.ln1w,
                     a.ln1_mean.data(), a.ln1_rstd.data(), N, C, stream_);
}

template <typename T>
void CudaGPT<T>::backward(LayerObserver* obs, float loss_scale) {
  const int N = B_ * T_, C = C_, hl = L_ + 1;
  Acts& A = *acts_;
  Buffer<float> dres(alloc_, size_t(N) * C, hl, Cat::workspace, true);
  {
    Scope s(this, obs, hl, Phase::bwd);
    const float* p = params_[hl].data();
    float* g = grads_[hl].data();
    T* dlogits = A.probs.data();
    crossentropy_backward(dlogits, targets_d_.data(), loss_scale / float(N), N, V_, Vp_, stream_);
    Buffer<T> dlnf(alloc_, size_t(N) * C, hl, Cat::workspace);
    // Tied LM head: logits = lnf wte^T, so wte's gradient gets this term too.
    matmul_backward(dlnf.data(), grads_[0].data(), nullptr, dlogits, A.lnf.data(), wts(0), N, C, Vg_, Vp_);
    layernorm_backward(dres.data(), g, g + C, partial_.data(), dlnf.data(), block_input(L_).data(), p,
                       A.lnf_mean.data(), A.lnf_rstd.data(), N, C, stream_);
    A.lnf.reset(); A.lnf_mean.reset(); A.lnf_rstd.reset(); A.probs.reset(); A.losses.reset();
  }
  for (int l = L_ - 1; l >= 0; --l) {
    segments_.before_backward(l, A.blocks, [&](int m, bool keep_output) {
      Scope s(this, obs, m + 1, Phase::recompute);
      forward_block(m, block_input(m).data(), keep_output);
    });
    Scope s(this, obs, l + 1, Phase::bwd);
    backward_block(l, block_input(l).data(), dres.data());
    A.blocks[l] = Block();
  }
  {
    Scope s(this, obs, 0, Phase::bwd);
    float* g = grads_[0].data();
    encoder_backward_wpe_kernel<<<blocks_for(size_t(T_) * C, kThreads), kThreads, 0, stream_>>>(
        g + size_t(V_) * C, dres.data(), B_, T_, C);
    KERNEL_CHECK();
    std::vector<int32_t> csr_h;
    const size_t U = token_csr(inputs_h_, V_, csr_h);
    // Sized for the most distinct tokens a batch can hold, not this batch's:
    // the memory model predicts it from the config alone.
    Buffer<int32_t> csr(alloc_, 2 * CudaFootprint::max_distinct(V_, N) + 1 + size_t(N), 0, Cat::workspace);
    CUDA_CHECK(cudaMemcpyAsync(csr.data(), csr_h.data(), csr_h.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    encoder_backward_wte_kernel<<<unsigned(U), kThreads, 0, stream_>>>(g, dres.data(), csr.data(), csr.data() + U,
                                                                     csr.data() + 2 * U + 1, C);
    KERNEL_CHECK();
    // The host vector must outlive the copy.
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    A.embed_out.reset();
  }
  A.blocks.clear();
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (obs) timer_.resolve(obs, stream_);
}

template <typename T>
double CudaGPT<T>::grad_norm_sq() {
  const int L = num_layers();
  double* part = sumsq_.data() + L;
  for (int l = 0; l < L; ++l) {
    sumsq_partial_kernel<<<kSumSqBlocks, kThreads, 0, stream_>>>(part + size_t(l) * kSumSqBlocks, grads_[l].data(), layer_params(l));
    KERNEL_CHECK();
    sum_ordered_kernel<<<1, 32, 0, stream_>>>(sumsq_.data() + l, part + size_t(l) * kSumSqBlocks, kSumSqBlocks);
    KERNEL_CHECK();
  }
  std::vector<double> per(size_t(L), 0.0);
  CUDA_CHECK(cudaMemcpyAsync(per.data(), sumsq_.data(), L * sizeof(double), cudaMemcpyDeviceToHost, stream_));
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  double s = 0;
  for (double v : per) s += v;
  return s;
}

template <typename T>
void CudaGPT<T>::adamw_step(double lr, double beta1, double beta2, double eps, double wd, int64_t t,
                            LayerObserver* obs) {
  for (int l = num_layers() - 1; l >= 0; --l) {
    Scope s(this, obs, l, Phase::optim);
    for (const TensorInfo& ti : tensors_) {
      if (ti.layer != l) continue;
      const auto upd = k::AdamW<float>::make(lr, beta1, beta2, eps, ti.decay ? wd : 0.0, t);
      T* low = nullptr;
      if constexpr (!std::is_same<T, float>::value) low = wlow_[l].data() + ti.offset;
      adamw_kernel<<<blocks_for(ti.count, kThreads), kThreads, 0, stream_>>>(
          params_[l].data() + ti.offset, grads_[l].data() + ti.offset, m_[l].data() + ti.offset,
          v_[l].data() + ti.offset, low, ti.count, upd);
      KERNEL_CHECK();
    }
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (obs) timer_.resolve(obs, stream_);
}

// The state's host copies (host_: params, grads, m, v) from the device
// (pull_state) or back to it (push_state), which also refreshes the
// 16-bit weights from the parameters it wrote.
template <typename T>
void CudaGPT<T>::copy_state(bool to_host) {
  std::vector<Buffer<float>>* device[4] = {&params_, &grads_, &m_, &v_};
  for (int l = 0; l < num_layers(); ++l) {
    const size_t bytes = layer_params(l) * sizeof(float);
    for (int i = 0; i < 4; ++i) {
      float* host = host_[i][l].data();
      float* dev = (*device[i])[l].data();
      CUDA_CHECK(to_host ? cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, stream_)
                         : cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, stream_));
    }
    if (!to_host) refresh_low(l);
  }
  CUDA_CHECK(cudaStreamSynchronize(stream_));
}

DeviceMemory g_memory;

}  // namespace
}  // namespace ts::cuda

// ---------------------------------------------------------------------------
// The plugin's entry points (core/model/backend.h).

extern "C" __attribute__((visibility("default"))) int trainscope_cuda_abi() { return ts::kCudaPluginAbi; }

extern "C" __attribute__((visibility("default"))) bool trainscope_cuda_probe(ts::DeviceInfo* info, std::string* err) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *err = std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
    return false;
  }
  if (n == 0) {
    *err = "no CUDA device found";
    return false;
  }
  cudaDeviceProp prop;
  if (cudaSetDevice(0) != cudaSuccess || cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
    *err = std::string("cannot use GPU 0: ") + cudaGetErrorString(cudaGetLastError());
    return false;
  }
  if (prop.major < 8) {
    *err = std::string(prop.name) + " has compute capability " + std::to_string(prop.major) + "." +
           std::to_string(prop.minor) + "; this build needs 8.0 or newer (bf16 tensor cores)";
    return false;
  }
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    *err = std::string("cudaMemGetInfo: ") + cudaGetErrorString(cudaGetLastError());
    return false;
  }
  info->type = "cuda";
  info->name = prop.name;
  info->compute_capability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  info->capacity_bytes = total_b;
  info->free_bytes = free_b;
  return true;
}

extern "C" __attribute__((visibility("default"))) ts::RawMemory* trainscope_cuda_memory() { return &ts::cuda::g_memory; }

extern "C" __attribute__((visibility("default"))) ts::TrainModel* trainscope_cuda_create(
    const ts::ModelConfig* mc, int batch, ts::Allocator* alloc, uint64_t seed, const ts::Segments* segs,
    int precision, bool fused_attention, std::string* err) {
  try {
    switch (ts::Precision(precision)) {
      case ts::Precision::bf16:
        return new ts::cuda::CudaGPT<__nv_bfloat16>(*mc, batch, *alloc, seed, *segs, fused_attention);
      case ts::Precision::fp16:
        return new ts::cuda::CudaGPT<__half>(*mc, batch, *alloc, seed, *segs, fused_attention);
      default:
        return new ts::cuda::CudaGPT<float>(*mc, batch, *alloc, seed, *segs, fused_attention);
    }
  } catch (const std::bad_alloc&) {
    *err = "out of GPU memory allocating the model";
  } catch (const std::exception& e) {
    *err = e.what();
  }
  return nullptr;
}
