#include "memory_model.h"

#include <algorithm>

#include "json.h"
#include "planner.h"

namespace ts {

MemoryPrediction predict_memory(const Config& cfg, int eb) {
  Segments segs;
  std::string err;
  if (!resolve_checkpoint(cfg, eb, segs, err)) {
    MemoryPrediction p = predict_memory(cfg, Segments{}, eb);
    p.error = err;
    return p;
  }
  return predict_memory(cfg, segs, eb);
}

MemoryPrediction predict_memory(const Config& cfg, const Segments& segs, int eb) {
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

  LayerBytes embed{"embed"};
  embed.params = V * C + T * C;
  states(embed);
  embed.act = embed.act_full = N * C * ab;  // the embedding output, block 0's input
  // Token ids and targets (int32) live for the whole step.
  embed.workspace = 2 * N * 4;
  p.layers.push_back(embed);

  // Per block, what backward needs: ln1 (NC + 2N stats), qkv (3NC),
  // attention probabilities (B*NH*T*T), attention output (NC), residual after
  // attention (NC), ln2 (NC + 2N), MLP pre- and post-GELU (4NC each) and the
  // block output (NC).
  const uint64_t block_act = (16 * N * C + B * NH * T * T) * ab + 4 * N * eb;
  const uint64_t out_bytes = N * C * ab;  // a block's output
  // Backward scratch for one block, at its largest: the MLP's 4NC gradient
  // and an NC gradient, or later the 3NC qkv gradient, an NC gradient and one
  // T x T attention tile. Mixed precision adds, at each product, fp32 copies
  // of the stored input and of the rounded weight and incoming gradient
  // (model.cpp's backward_block, phase by phase).
  const uint64_t block_ws =
      lowp ? std::max({10 * N * C + 4 * C * C, 9 * N * C, 6 * N * C + 4 * C * C,
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
    b.workspace = block_ws;
    p.layers.push_back(b);
  }

  LayerBytes head{"head"};
  head.params = 2 * C;  // final LayerNorm; the LM head is tied to wte
  states(head);
  head.act = head.act_full = (N * C + N * V) * ab + 3 * N * eb;  // lnf, probs; lnf stats, losses
  head.workspace = 2 * N * C * eb;  // residual gradient + d(lnf)
  p.layers.push_back(head);

  for (const auto& lb : p.layers) {
    p.params_total += lb.params;
    p.param += lb.param;
    p.grad += lb.grad;
    p.optim += lb.optim;
    p.act_end_of_forward += lb.act;
  }

  // Walk the step in time order; `stored` is what earlier blocks keep.
  const uint64_t ws_fixed = embed.workspace;
  const uint64_t dres = out_bytes;  // residual-stream gradient, live through backward
  uint64_t peak_act = p.act_end_of_forward, peak_total = p.act_end_of_forward + ws_fixed + head.workspace;
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
  p.peak_act = peak_act;
  p.peak_workspace = ws_fixed + std::max(head.workspace, L ? dres + block_ws : 0);
  p.peak = p.param + p.grad + p.optim + peak_total;
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
    j.field("act_peak", l.act_full).field("workspace", l.workspace);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return s;
}

}  // namespace ts
