#include "plan/memory_model.h"

#include <algorithm>

#include "base/json.h"
#include "plan/buckets.h"
#include "plan/flops.h"

namespace ts {

MemoryPrediction predict_memory(const Config& cfg, const Segments& segs, int eb, const std::string& device) {
  const bool cuda = device.empty() ? cfg.train.device == "cuda" : device == "cuda";
  const uint64_t B = cfg.train.batch, T = cfg.model.context, C = cfg.model.width,
                 NH = cfg.model.heads, V = cfg.model.vocab, L = cfg.model.layers;
  const uint64_t N = B * T;
  MemoryPrediction p;
  auto states = [&](LayerBytes& lb) {
    lb.param = lb.params * eb;
    lb.grad = lb.params * eb;
    lb.optim = 2 * lb.params * eb;  // AdamW m and v
  };

  // Under mixed precision (float models) activations are stored in 16 bits;
  // LayerNorm statistics and per-token losses stay in the model's type.
  const bool lowp = eb == 4 && cfg.train.precision != "fp32";
  const uint64_t ab = lowp ? 2 : eb;

  // CUDA: under mixed precision every layer keeps a 16-bit copy of its
  // weights for the tensor cores (workspace, for the whole run).
  auto low_copy = [&](const LayerBytes& lb) { return cuda && lowp ? lb.params * 2 : 0; };

  LayerBytes embed{"embed"};
  embed.params = V * C + T * C;
  states(embed);
  embed.act = embed.act_full = N * C * ab;  // the embedding output, block 0's input
  // Token ids and targets (int32) live for the whole step.
  embed.workspace = 2 * N * 4 + low_copy(embed);
  // CUDA: the embedding's backward groups the batch's positions by token
  // (tokens, starts, positions: int32), at the very end of backward.
  const uint64_t csr = cuda ? (2 * CudaFootprint::max_distinct(V, N) + 1 + N) * 4 : 0;
  embed.workspace += csr;
  p.layers.push_back(embed);

  // Per block, what backward needs: ln1 (NC + 2N stats), qkv (3NC),
  // attention probabilities (B*NH*T*T), attention output (NC), residual after
  // attention (NC), ln2 (NC + 2N), MLP pre- and post-GELU (4NC each) and the
  // block output (NC).
  // train.attention fused (checked by the parser: GPU, mixed precision, shape).
  const bool flash = cuda && cfg.train.attention == "fused" && flash_attention_fits(lowp, T, C, NH);
  const uint64_t block_act = flash ? 16 * N * C * ab + 4 * N * eb + B * NH * T * 4
                                   : (16 * N * C + B * NH * T * T) * ab + 4 * N * eb;
  const uint64_t out_bytes = N * C * ab;  // a block's output
  // Backward scratch for one block, at its largest: the MLP's 4NC gradient
  // and an NC gradient, or later the 3NC qkv gradient, an NC gradient and one
  // T x T attention tile. Mixed precision adds, at each product, fp32 copies
  // of the stored input and of the rounded weight and incoming gradient
  // (model.cpp's backward_block, phase by phase).
  //
  // CUDA (gpt_cuda.cu's backward_block): the 4NC and NC gradients in the
  // activation type, plus (mixed precision) a 16-bit copy of the residual
  // gradient; later the 3NC qkv gradient, the NC gradient and the score
  // gradients of every (batch, head) at once. Fused attention recomputes
  // the layer's probabilities there, from fp32 scores, first.
  const uint64_t block_ws =
      flash ? std::max(6 * N * C * ab, 4 * N * C * ab + B * NH * T * T * (4 + ab))
      : cuda ? std::max((lowp ? 6 : 5) * N * C, 4 * N * C + B * NH * T * T) * ab
      : lowp ? std::max({10 * N * C + 4 * C * C, 9 * N * C, 6 * N * C + 4 * C * C,
                         6 * N * C + T * T + C * C, 7 * N * C + T * T + B * NH * T * T,
                         5 * N * C + T * T + 3 * C * C}) * eb
             : std::max(5 * N * C, 4 * N * C + T * T) * eb;
  std::vector<int> seg_of(L, -1);
  for (size_t k = 0; k < segs.size(); ++k)
    for (int l = segs[k].first; l <= segs[k].second && l < int(L); ++l) seg_of[l] = int(k);
  for (uint64_t l = 0; l < L; ++l) {
    LayerBytes b{"block." + std::to_string(l)};
    b.params = 12 * C * C + 13 * C;
    states(b);
    b.act_full = block_act;
    b.checkpointed = seg_of[l] >= 0;
    b.segment_start = b.checkpointed && segs[seg_of[l]].first == int(l);
    // A checkpointed block keeps only its output, and only when it ends its
    // segment (the next layer's input, and the segment boundary).
    const bool seg_end = b.checkpointed && segs[seg_of[l]].second == int(l);
    b.act = !b.checkpointed ? block_act : (seg_end ? out_bytes : 0);
    b.workspace = block_ws + low_copy(b);
    p.layers.push_back(b);
  }

  LayerBytes head{"head"};
  head.params = 2 * C;  // final LayerNorm; the LM head is tied to wte
  states(head);
  // lnf, probs; lnf stats, losses. CUDA pads the logits' rows.
  const uint64_t Vrow = cuda ? CudaFootprint::padded_vocab(V) : V;
  head.act = head.act_full = (N * C + N * Vrow) * ab + 3 * N * eb;
  // Head backward: the residual gradient (fp32) + d(lnf) (fp32 on the CPU,
  // the activation type on the GPU).
  const uint64_t head_ws = cuda ? N * C * 4 + N * C * ab : 2 * N * C * eb;
  // CUDA: buffers the backend keeps for the whole run, on the head's
  // account: cuBLAS's workspace, column-sum and gradient-norm partials, the
  // mean loss, attention's per-head operand pointers.
  const uint64_t cuda_fixed =
      cuda ? CudaFootprint::kBlasWorkspace + CudaFootprint::kColChunks * 4 * C * 4 +
                 (L + 2) * (CudaFootprint::kSumSqBlocks + 1) * 8 + 8 + 3 * B * NH * 8
           : 0;
  head.workspace = head_ws + cuda_fixed + low_copy(head);
  p.layers.push_back(head);

  // Data parallel: the gradient all-reduce's staging buffer (plan/buckets.h),
  // allocated once before step 1 and charged to layer 0, as the reducer does.
  if (cfg.parallel.ranks > 1) {
    std::vector<size_t> elems;
    for (const auto& lb : p.layers) elems.push_back(size_t(lb.params));
    p.layers[0].comm = staging_elems(plan_buckets(elems, cfg.parallel.bucket)) * sizeof(float);
  }

  for (const auto& lb : p.layers) {
    p.comm += lb.comm;
    p.params_total += lb.params;
    p.param += lb.param;
    p.grad += lb.grad;
    p.optim += lb.optim;
    p.act_end_of_forward += lb.act;
  }

  // Walk the step in time order; `stored` is what earlier blocks keep.
  // ws_fixed: workspace live the whole step.
  uint64_t low_total = 0;
  for (const auto& lb : p.layers) low_total += low_copy(lb);
  const uint64_t ws_fixed = 2 * N * 4 + low_total + cuda_fixed;
  // The residual-stream gradient, live through backward.
  const uint64_t dres = cuda ? N * C * 4 : out_bytes;
  uint64_t peak_act = p.act_end_of_forward, peak_total = p.act_end_of_forward + ws_fixed + head_ws;
  uint64_t stored = 0;
  for (int l = 0; l < int(L);) {
    const int k = seg_of[l];
    if (k < 0) {
      // Kept block: at its backward, it and everything before it is live.
      peak_total = std::max(peak_total, embed.act + stored + block_act + ws_fixed + dres + block_ws);
      stored += block_act;
      ++l;
      continue;
    }
    const int s = segs[k].first, e = segs[k].second;
    uint64_t sum = 0;
    for (int m = s; m <= e; ++m) {
      // Forward: the block's activations plus the previous block's output.
      const uint64_t fwd = embed.act + stored + (m > s ? out_bytes : 0) + block_act;
      peak_act = std::max(peak_act, fwd);
      peak_total = std::max(peak_total, fwd + ws_fixed);
      sum += block_act;
    }
    // The recompute holds every block of the segment but the last output.
    const uint64_t rec = embed.act + stored + sum - out_bytes;
    peak_act = std::max(peak_act, rec);
    peak_total = std::max(peak_total, rec + ws_fixed + dres + block_ws);
    stored += out_bytes;
    l = e + 1;
  }
  // The embedding's backward comes last: only its own output is still live.
  peak_total = std::max(peak_total, embed.act + ws_fixed + dres + csr);
  p.peak_act = peak_act;
  p.peak_workspace = ws_fixed + std::max({head_ws, L ? dres + block_ws : 0, dres + csr});
  p.peak = p.param + p.grad + p.optim + p.comm + peak_total;
  p.segments = segs;
  p.checkpoint = segments_text(segs);
  p.step_flops = step_flops(cfg);
  for (const auto& sg : segs) p.recompute_flops += (sg.second - sg.first + 1) * block_forward_flops(cfg);
  return p;
}

std::string memory_prediction_to_json(const MemoryPrediction& p) {
  std::string s;
  Json j(s);
  j.begin_object();
  j.field("param", p.param).field("grad", p.grad).field("optim", p.optim);
  j.field("act_end_of_forward", p.act_end_of_forward);
  j.field("peak_act_bytes", p.peak_act).field("peak_workspace_bytes", p.peak_workspace);
  j.field("comm", p.comm);
  j.field("peak_bytes", p.peak).field("params", p.params_total);
  j.field("checkpoint", p.checkpoint);
  j.field("recompute_flops", p.recompute_flops).field("step_flops", p.step_flops);
  if (!p.error.empty()) j.field("error", p.error);
  j.key("layers").begin_array();
  for (const auto& l : p.layers) {
    j.begin_object();
    j.field("name", l.name).field("params", l.params);
    j.field("checkpointed", l.checkpointed).field("segment_start", l.segment_start);
    j.key("bytes").begin_object();
    j.field("param", l.param).field("grad", l.grad).field("optim", l.optim).field("act", l.act);
    j.field("act_peak", l.act_full).field("workspace", l.workspace).field("comm", l.comm);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return s;
}

}  // namespace ts
