// The resolved config as JSON (config_to_json): what the run record, the
// trainer's --print-config and the addon hand on, with the checkpoint
// setting written back in config-language form.
#include "base/json.h"
#include "config/config.h"

namespace ts {

namespace {

// The checkpoint value in config-language form.
std::string checkpoint_text(const TrainConfig& t) {
  if (t.checkpoint == "every") return "every " + std::to_string(t.checkpoint_every);
  if (t.checkpoint == "budget") return "budget " + std::to_string(t.checkpoint_budget);
  if (t.checkpoint == "layers") {
    std::string s = "layers ";
    for (size_t i = 0; i < t.checkpoint_segments.size(); ++i) {
      const auto& seg = t.checkpoint_segments[i];
      s += (i ? "," : "") + std::to_string(seg.first);
      if (seg.second != seg.first) s += "-" + std::to_string(seg.second);
    }
    return s;
  }
  return t.checkpoint;
}

}  // namespace

std::string config_to_json(const Config& c) {
  std::string out;
  Json j(out);
  j.begin_object();
  j.key("model").begin_object();
  j.field("type", c.model.type).field("vocab", c.model.vocab).field("context", c.model.context);
  j.field("layers", c.model.layers).field("width", c.model.width).field("heads", c.model.heads);
  j.end_object();
  j.key("data").begin_object();
  j.field("source", c.data.source).field("path", c.data.path);
  j.field("val_fraction", c.data.val_fraction).field("seed", c.data.seed);
  j.end_object();
  const TrainConfig& t = c.train;
  j.key("train").begin_object();
  j.field("steps", t.steps).field("batch", t.batch).field("lr", t.lr).field("min_lr", t.min_lr);
  j.field("warmup", t.warmup).field("schedule", t.schedule);
  j.field("weight_decay", t.weight_decay).field("beta1", t.beta1).field("beta2", t.beta2);
  j.field("eps", t.eps).field("grad_clip", t.grad_clip).field("seed", t.seed);
  j.field("threads", t.threads).field("eval_every", t.eval_every);
  j.field("eval_batches", t.eval_batches).field("profile_every", t.profile_every);
  j.field("precision", t.precision).field("checkpoint", checkpoint_text(t));
  j.field("accumulate", t.accumulate).field("device", t.device).field("attention", t.attention);
  j.field("save_every", t.save_every);
  j.end_object();
  j.key("parallel").begin_object();
  j.field("ranks", c.parallel.ranks).field("bucket", c.parallel.bucket);
  j.field("backend", c.parallel.backend);
  j.end_object();
  j.end_object();
  return out;
}

}  // namespace ts
