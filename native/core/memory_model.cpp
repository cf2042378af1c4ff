#include "memory_model.h"

#include <algorithm>

#include "json.h"

namespace ts {

MemoryPrediction predict_memory(const Config& cfg, int eb) {
  const uint64_t B = cfg.train.batch, T = cfg.model.context, C = cfg.model.width,
                 NH = cfg.model.heads, V = cfg.model.vocab, L = cfg.model.layers;
  const uint64_t N = B * T;
  MemoryPrediction p;
  auto states = [&](LayerBytes& lb) {
    lb.param = lb.params * eb;
    lb.grad = lb.params * eb;
    lb.optim = 2 * lb.params * eb;  // AdamW m and v
  };

  LayerBytes embed{"embed"};
  embed.params = V * C + T * C;
  states(embed);
  embed.act = N * C * eb;  // the embedding output, block 0's input
  // Token ids and targets (int32) live for the whole step.
  embed.workspace = 2 * N * 4;
  p.layers.push_back(embed);

  // Per block, what backward needs: ln1 (NC + 2N stats), qkv (3NC),
  // attention probabilities (B*NH*T*T), attention output (NC), residual after
  // attention (NC), ln2 (NC + 2N), MLP pre- and post-GELU (4NC each) and the
  // block output (NC).
  const uint64_t block_act = (16 * N * C + 4 * N + B * NH * T * T) * eb;
  // Backward scratch for one block, at its largest: the MLP's 4NC gradient
  // and an NC gradient, or later the 3NC qkv gradient, an NC gradient and one
  // T x T attention tile.
  const uint64_t block_ws = std::max(5 * N * C, 4 * N * C + T * T) * eb;
  for (uint64_t l = 0; l < L; ++l) {
    LayerBytes b{"block." + std::to_string(l)};
    b.params = 12 * C * C + 13 * C;
    states(b);
    b.act = block_act;
    b.workspace = block_ws;
    p.layers.push_back(b);
  }

  LayerBytes head{"head"};
  head.params = 2 * C;  // final LayerNorm; the LM head is tied to wte
  states(head);
  head.act = (N * C + 2 * N + N * V + N) * eb;  // lnf + stats, logits/probs, losses
  head.workspace = 2 * N * C * eb;              // residual gradient + d(lnf)
  p.layers.push_back(head);

  const uint64_t dres = N * C * eb;  // residual-stream gradient, live through backward
  for (const auto& lb : p.layers) {
    p.params_total += lb.params;
    p.param += lb.param;
    p.grad += lb.grad;
    p.optim += lb.optim;
    p.peak_act += lb.act;
  }
  // Workspace peaks in the first block's backward (all block scratch is the
  // same size) or in the head's, on top of the token ids.
  const uint64_t ws_fixed = embed.workspace;
  p.peak_workspace = ws_fixed + std::max(head.workspace, L ? dres + block_ws : 0);
  // The step's peak: states, then the whole forward's activations, then the
  // head's backward scratch before any activation is freed.
  const uint64_t states_total = p.param + p.grad + p.optim;
  const uint64_t at_head = p.peak_act + ws_fixed + head.workspace;
  // Entering block L-1's backward, the head's activations are gone.
  const uint64_t at_block = L ? p.peak_act - head.act + ws_fixed + dres + block_ws : 0;
  p.peak = states_total + std::max(at_head, at_block);
  return p;
}

std::string memory_prediction_to_json(const MemoryPrediction& p) {
  std::string s;
  Json j(s);
  j.begin_object();
  j.field("param", p.param).field("grad", p.grad).field("optim", p.optim);
  j.field("peak_act_bytes", p.peak_act).field("peak_workspace_bytes", p.peak_workspace);
  j.field("peak_bytes", p.peak).field("params", p.params_total);
  j.key("layers").begin_array();
  for (const auto& l : p.layers) {
    j.begin_object();
    j.field("name", l.name).field("params", l.params);
    j.key("bytes").begin_object();
    j.field("param", l.param).field("grad", l.grad).field("optim", l.optim).field("act", l.act);
    j.field("workspace", l.workspace);
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return s;
}

}  // namespace ts
