#include "config/rules.h"

#include <cstdint>

#include "config/text.h"

namespace ts {
namespace cfg {

std::vector<RuleProblem> cross_key_problems(const Config& c,
                                            const std::function<std::string(const char*, double)>& written) {
  std::vector<RuleProblem> out;
  auto add = [&](std::vector<const char*> keys, const std::string& msg) { out.push_back({std::move(keys), msg}); };
  if (c.model.width % c.model.heads != 0)
    add({"model.heads", "model.width"},
        "model.width " + std::to_string(c.model.width) + " is not divisible by model.heads " +
            std::to_string(c.model.heads));
  if (c.data.source == "text" && c.model.vocab < 256)
    add({"model.vocab", "data.text"},
        "model.vocab " + std::to_string(c.model.vocab) +
            " is too small for text data: byte tokens need vocab 256 or more");
  if (c.data.source == "synthetic" && c.model.vocab < 4)
    add({"model.vocab", "data.synthetic"},
        "model.vocab " + std::to_string(c.model.vocab) +
            " is too small for the synthetic task: it needs vocab 4 or more");
  if (c.train.min_lr > c.train.lr)
    add({"train.min_lr", "train.lr"},
        "train.min_lr " + written("train.min_lr", c.train.min_lr) +
            " is larger than train.lr " + written("train.lr", c.train.lr));
  if (c.train.attention == "fused") {
    const int hs = c.model.heads ? c.model.width / c.model.heads : 0;
    if (c.train.device == "cpu")
      add({"train.attention", "train.device"},
          "train.attention fused runs on the GPU: set train.device cuda (or auto)");
    else if (!flash_attention_fits(c.train.precision != "fp32", uint64_t(c.model.context),
                                  uint64_t(c.model.width), uint64_t(c.model.heads)))
      add({"train.attention"},
          "train.attention fused needs train.precision bf16 or fp16 (it is " + c.train.precision +
              "), heads of 32 or 64 (model.width / model.heads is " + std::to_string(hs) +
              ") and model.context a multiple of 64 (it is " + std::to_string(c.model.context) + ")");
  }
  // Shortening the run (--set train.steps=20 on a config that warms up for
  // 30) lands here: the message says what to set, the run is not changed behind
  // the user's back.
  if (c.train.warmup >= c.train.steps)
    add({"train.warmup", "train.steps"},
        "train.warmup " + std::to_string(c.train.warmup) + " must be less than train.steps " +
            std::to_string(c.train.steps) + ": lower train.warmup (e.g. --set train.warmup=" +
            std::to_string(c.train.steps / 10) + ", a tenth of the steps) or raise train.steps");
  // The model counts a micro-batch's tokens (its matrices' rows) in an int,
  // as BLAS and cuBLAS take them.
  const uint64_t tokens = uint64_t(c.train.batch) * uint64_t(c.model.context);
  if (tokens > uint64_t(INT32_MAX))
    add({"train.batch", "model.context"},
        "train.batch " + std::to_string(c.train.batch) + " x model.context " +
            std::to_string(c.model.context) + " is " + std::to_string(tokens) +
            " tokens per micro-batch, more than the " + std::to_string(INT32_MAX) +
            " the matrix products can index: lower train.batch (train.accumulate keeps the global batch)");
  // A step's bytes: the bound is generous on purpose (every layer holding
  // every tensor, 256 bytes an element), so nothing it accepts can wrap a
  // 64-bit sum; what it refuses is past 30 PB anyway.
  const long double B = c.train.batch, T = c.model.context, C = c.model.width, H = c.model.heads,
                    V = c.model.vocab, L = c.model.layers;
  const long double elems = (L + 2) * (B * T * (C + V + 1) + B * H * T * T + V * C + T * C + 13 * C * C);
  if (elems * 256 > 9.2e18L)
    add({"train.batch", "model.context", "model.width", "model.vocab", "model.layers"},
        "this model and batch are too large for the trainer to count their memory in 64 bits (about " +
            number_text(double(elems * 4)) +
            " bytes of fp32 tensors): lower train.batch, model.context, model.width, model.vocab or "
            "model.layers");
  for (const auto& seg : c.train.checkpoint_segments) {
    const int layer = seg.second;
    if (layer >= c.model.layers) {
      add({"train.checkpoint"},
          "train.checkpoint layer " + std::to_string(layer) +
              " is out of range: model.layers is " + std::to_string(c.model.layers) +
              ", so indices go from 0 to " + std::to_string(c.model.layers - 1));
      break;
    }
  }
  return out;
}

}  // namespace cfg
}  // namespace ts
