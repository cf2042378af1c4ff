// Causal self-attention's forward fused on the GPU (FlashAttention-2's
// scheme) for mixed precision: the T x T scores and probabilities never
// leave the chip. A block keeps, per head, only the log-sum-exp of each
// query's scores (B x NH x T floats) instead of the probabilities (B x NH x
// T x T); backward (gpt_cuda.cu) recomputes the scores with one batched
// cuBLAS product per layer and the probabilities from the log-sum-exp
// (attention.cuh), then runs the materialised backward. The memory model
// knows which layout a run uses (flash_attention_fits).
//
// Tiles of 64 queries x 64 keys, one CTA of 4 warps per (batch, head, query
// tile); each warp owns 16 rows. Products on the tensor cores through WMMA
// (16x16x16, bf16/fp16 in, fp32 accumulate); each warp's scores and output
// accumulator go through shared memory, where the online softmax runs (two
// lanes a row). q, k, v are read in place from the [B, T, 3C] qkv tensor;
// y goes to [B, T, C].
//
// A fused backward (two kernels, per key tile and per query tile, no
// atomics) was written and measured too: correct, but its WMMA tiles took
// 50.7 ms of a GPT-2 step's backward against 34.3 ms for cuBLAS on
// materialised tiles, so backward materialises one layer's tiles at a time.
//
// Numerics: the probabilities multiply V in the 16-bit format, as the
// materialised path rounds them; exp is core/model/fastmath.h's. CPU reference:
// k::attention_forward (native/gpu_tests/test_kernels.cu).
#pragma once
#include <mma.h>

#include "common.cuh"
#include "model/fastmath.h"

namespace ts::cuda {

constexpr int kFlashTile = 64;     // queries (and keys) per tile
constexpr int kFlashThreads = 128;  // 4 warps x 16 rows

namespace flash {

using namespace nvcuda;

template <typename T>
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major>;
template <typename T>
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major>;
template <typename T>
using FragBt = wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major>;
using Acc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Shared-memory row strides, padded against bank conflicts (WMMA wants
// multiples of 8 elements for 16-bit, 4 for fp32).
template <int HS>
constexpr int kLd = HS + 8;
constexpr int kLdS = kFlashTile + 8;   // a 64-wide 16-bit tile
constexpr int kLdF = kFlashTile + 4;   // a 64-wide fp32 tile
template <int HS>
constexpr int kLdO = HS + 4;           // an HS-wide fp32 tile

// Copies a 64 x HS tile of rows `stride` elements apart into shared memory,
// 16 bytes a thread at a time.
template <typename T, int HS>
__device__ void load_tile(T* dst, const T* src, long long stride) {
  constexpr int per_row = HS * int(sizeof(T)) / 16;
  for (int i = threadIdx.x; i < kFlashTile * per_row; i += kFlashThreads) {
    const int r = i / per_row, c = i % per_row;
    reinterpret_cast<uint4*>(dst + r * kLd<HS>)[c] = reinterpret_cast<const uint4*>(src + r * stride)[c];
  }
}

}  // namespace flash

// Forward: y and lse for one (b, h) and 64-query tile.
template <typename T, int HS>
__global__ void __launch_bounds__(kFlashThreads) flash_forward_kernel(T* y, float* lse, const T* qkv, int NH,
                                                                      int T_, int C, float scale) {
  using namespace flash;
  extern __shared__ __align__(128) unsigned char smem[];
  T* Qs = reinterpret_cast<T*>(smem);
  T* Ks = Qs + kFlashTile * kLd<HS>;
  T* Vs = Ks + kFlashTile * kLd<HS>;
  T* Ps = Vs + kFlashTile * kLd<HS>;
  float* Ss = reinterpret_cast<float*>(Ps + kFlashTile * kLdS);
  float* Os = Ss + kFlashTile * kLdF;
  float* Ms = Os + kFlashTile * kLdO<HS>;
  float* Lsum = Ms + kFlashTile;
  const int qt = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r0 = warp * 16;
  const long long row = 3LL * C;
  const T* base = qkv + size_t(b) * T_ * row + size_t(h) * HS;
  load_tile<T, HS>(Qs, base + size_t(qt) * kFlashTile * row, row);
  for (int i = threadIdx.x; i < kFlashTile * kLdO<HS>; i += kFlashThreads) Os[i] = 0.0f;
  if (threadIdx.x < kFlashTile) {
    Ms[threadIdx.x] = -INFINITY;
    Lsum[threadIdx.x] = 0.0f;
  }
  // Two lanes per row: lane pairs (2r, 2r+1) own row r0 + r, each half the columns.
  const int rr = r0 + lane / 2, half = lane % 2;
  const int q = qt * kFlashTile + rr;
  for (int kt = 0; kt <= qt; ++kt) {
    __syncthreads();  // the previous tile's K and V are no longer read
    load_tile<T, HS>(Ks, base + size_t(kt) * kFlashTile * row + C, row);
    load_tile<T, HS>(Vs, base + size_t(kt) * kFlashTile * row + 2 * C, row);
    __syncthreads();
    // S (16 x 64) = Q_w K^T
    for (int n = 0; n < kFlashTile / 16; ++n) {
      Acc acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int k = 0; k < HS / 16; ++k) {
        FragA<T> a;
        FragBt<T> bt;
        wmma::load_matrix_sync(a, Qs + r0 * kLd<HS> + k * 16, kLd<HS>);
        wmma::load_matrix_sync(bt, Ks + n * 16 * kLd<HS> + k * 16, kLd<HS>);
        wmma::mma_sync(acc, a, bt, acc);
      }
      wmma::store_matrix_sync(Ss + r0 * kLdF + n * 16, acc, kLdF, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax of row rr over this key tile.
    float* srow = Ss + rr * kLdF;
    float mx = -INFINITY;
    for (int c = half * 32; c < half * 32 + 32; ++c)
      if (kt * kFlashTile + c <= q) mx = fmaxf(mx, srow[c] * scale);
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const float m_old = Ms[rr], m_new = fmaxf(m_old, mx);
    float sum = 0.0f;
    for (int c = half * 32; c < half * 32 + 32; ++c) {
      const float p = kt * kFlashTile + c <= q ? k::exp_(srow[c] * scale - m_new) : 0.0f;
      const T pt = st<T>(p);
      Ps[rr * kLdS + c] = pt;
      sum += ld(pt);  // the rounded probabilities are the ones that multiply V
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    const float alpha = m_old == -INFINITY ? 0.0f : k::exp_(m_old - m_new);
    for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); ++d) Os[rr * kLdO<HS> + d] *= alpha;
    __syncwarp();
    if (half == 0) {
      Ms[rr] = m_new;
      Lsum[rr] = Lsum[rr] * alpha + sum;
    }
    // O_w += P_w V
    for (int n = 0; n < HS / 16; ++n) {
      Acc acc;
      wmma::load_matrix_sync(acc, Os + r0 * kLdO<HS> + n * 16, kLdO<HS>, wmma::mem_row_major);
      for (int k = 0; k < kFlashTile / 16; ++k) {
        FragA<T> a;
        FragB<T> bv;
        wmma::load_matrix_sync(a, Ps + r0 * kLdS + k * 16, kLdS);
        wmma::load_matrix_sync(bv, Vs + k * 16 * kLd<HS> + n * 16, kLd<HS>);
        wmma::mma_sync(acc, a, bv, acc);
      }
      wmma::store_matrix_sync(Os + r0 * kLdO<HS> + n * 16, acc, kLdO<HS>, wmma::mem_row_major);
    }
    __syncwarp();
  }
  const float inv = 1.0f / Lsum[rr];
  T* out = y + (size_t(b) * T_ + q) * C + size_t(h) * HS;
  for (int d = half * (HS / 2); d < (half + 1) * (HS / 2); ++d) out[d] = st<T>(Os[rr * kLdO<HS> + d] * inv);
  if (half == 0) lse[(size_t(b) * NH + h) * T_ + q] = Ms[rr] + logf(Lsum[rr]);
}

namespace flash {

template <typename T, int HS>
constexpr size_t forward_smem() {
  return 3 * kFlashTile * kLd<HS> * sizeof(T) + kFlashTile * kLdS * sizeof(T) +
         (kFlashTile * kLdF + kFlashTile * kLdO<HS> + 2 * kFlashTile) * sizeof(float);
}
template <typename T, int HS>
void forward(T* y, float* lse, const T* qkv, int B, int NH, int T_, int C, cudaStream_t s) {
  constexpr size_t sm = forward_smem<T, HS>();
  CUDA_CHECK(cudaFuncSetAttribute(flash_forward_kernel<T, HS>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(sm)));
  flash_forward_kernel<T, HS><<<dim3(T_ / kFlashTile, NH, B), kFlashThreads, sm, s>>>(y, lse, qkv, NH, T_, C,
                                                                                     1.0f / sqrtf(float(HS)));
  KERNEL_CHECK();
}

}  // namespace flash

// The fused forward: head sizes 32 and 64 (GPT-2's, at every size), T a
// multiple of 64 (flash_attention_fits says when; the model asks
// it first). Other shapes take the materialised path.
template <typename T>
void flash_attention_forward(T* y, float* lse, const T* qkv, int B, int NH, int T_, int C, cudaStream_t s) {
  if (C / NH == 32) flash::forward<T, 32>(y, lse, qkv, B, NH, T_, C, s);
  else flash::forward<T, 64>(y, lse, qkv, B, NH, T_, C, s);
}

}  // namespace ts::cuda
