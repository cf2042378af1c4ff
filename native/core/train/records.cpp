#include "train/records.h"

#include <unistd.h>

#include <cmath>
#include <ctime>

#include "base/events.h"
#include "base/json.h"
#include "model/gemm.h"
#include "plan/planner.h"

namespace ts {

namespace {

std::string iso_time_utc() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

}  // namespace

Where where_of(const Config& cfg, const std::string& key) {
  Where w{cfg.file, 0, 0, key};
  auto it = cfg.where.find(key);
  if (it != cfg.where.end() && it->second.line > 0) {
    w.file = it->second.file;
    w.line = it->second.line;
    w.col = it->second.value_col ? it->second.value_col : it->second.col;
  }
  return w;
}

std::string error_prefix(const Where& w) {
  return w.line > 0 ? w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.col) + ": error: "
                    : "trainscope-train: error: ";
}

std::string run_record(const RunFacts& f) {
  const Config& cfg = *f.cfg;
  const DeviceInfo& device = *f.device;
  const World& world = *f.world;
  const Dataset& data = *f.data;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string s;
  Json j(s);
  j.begin_object();
  j.field("type", "run").field("schema", kEventSchema).field("trainscope", TRAINSCOPE_VERSION);
  j.field("time", iso_time_utc()).field("host", std::string(host));
  j.field("config_file", cfg.file);
  j.key("config").raw(config_to_json(cfg));
  j.field("model", cfg.model.type).field("params", f.params);
  j.field("ranks", world.size).field("device", device.type).field("threads", f.threads).field("blas", blas_name());
  j.key("device_info").begin_object();
  j.field("type", device.type).field("requested", device.requested).field("name", device.name);
  if (!device.compute_capability.empty()) j.field("compute_capability", device.compute_capability);
  j.field("capacity_bytes", device.capacity_bytes).field("free_bytes", device.free_bytes);
  if (!device.note.empty()) j.field("note", device.note);
  j.end_object();
  j.field("precision", cfg.train.precision).field("checkpoint", f.pred->checkpoint);
  j.field("tokens_per_step",
          uint64_t(cfg.train.batch) * cfg.model.context * cfg.train.accumulate * world.size);
  j.field("accumulate", cfg.train.accumulate);
  j.key("clock_offsets_us").begin_array();
  for (double o : f.clock_offsets_us) j.value(o);
  j.end_array();
  if (world.size > 1) {
    j.key("rank_pids").begin_array();
    for (int64_t p : world.pids) j.value(p);
    j.end_array();
    j.key("rank_hosts").begin_array();
    for (const auto& h : world.hosts) j.value(h);
    j.end_array();
    j.field("mpi", mpi_library_version()).field("comm_backend", f.comm_backend);
    j.field("buckets", f.buckets);
  }
  if (!f.resumed_from.empty())
    j.key("resumed_from").begin_object().field("snapshot", f.resumed_from).field("step", f.resumed_step).end_object();
  j.key("data").begin_object();
  j.field("source", data.source()).field("description", data.describe());
  j.field("train_tokens", data.train_tokens()).field("val_tokens", data.val_tokens());
  if (data.entropy_floor() >= 0) j.field("entropy_floor", data.entropy_floor());
  j.end_object();
  j.key("layers").begin_array();
  for (const auto& l : *f.layers) j.value(l.name);
  j.end_array();
  j.key("predicted").raw(memory_prediction_to_json(*f.pred));
  // Every schedule, precision and accumulation the planner weighs, so a
  // reader (the panel's checkpoint curve, report.html) needs no addon.
  j.key("plan").raw(plan_report_json(cfg, 0));
  j.end_object();
  return s;
}

std::string layer_record(int index, const LayerInfo& li, const LayerBytesMeasured& m, const LayerBytes& pl) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "layer").field("index", index).field("name", li.name);
  j.field("kind", li.kind).field("params", uint64_t(li.params));
  j.field("checkpointed", pl.checkpointed).field("segment_start", pl.segment_start);
  j.key("bytes").begin_object();
  j.field("param", m.param).field("grad", m.grad);
  j.field("optim", m.optim).field("act", m.act);
  j.field("act_peak", m.act_peak);
  j.field("workspace", m.workspace).field("comm", m.comm);
  j.end_object();
  j.key("predicted").begin_object();
  j.field("param", pl.param).field("grad", pl.grad).field("optim", pl.optim);
  j.field("act", pl.act).field("act_peak", pl.act_full).field("workspace", pl.workspace).field("comm", pl.comm);
  j.end_object();
  j.end_object();
  return s;
}

std::string span_record(int rank, int64_t step, int layer, const std::string& name, const char* phase,
                        double t0, double t1) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "span").field("rank", rank).field("step", step);
  j.field("layer", layer).field("name", name).field("phase", phase);
  j.field("t0", t0).field("t1", t1).end_object();
  return s;
}

std::string step_record(const StepFacts& f) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "step").field("step", f.step);
  if (f.rank >= 0) j.field("rank", f.rank);
  j.field("loss", f.loss);
  j.field("t0", f.t0).field("t1", f.t1);
  j.field("lr", f.lr).field("grad_norm", f.grad_norm).field("ms", f.ms);
  j.field("tokens_per_s", f.tokens_per_s);
  if (f.accumulate > 1) j.field("accumulate", f.accumulate);
  if (f.loss_scaled) j.field("loss_scale", f.loss_scale).field("skipped", f.skipped);
  if (f.noise_ready) {
    j.field("noise_scale", f.noise_scale);
    j.field("suggested_accumulate", f.suggested_accumulate);
  }
  j.key("phases").begin_object();
  j.field("data", f.data_ms).field("fwd", f.fwd_ms).field("bwd", f.bwd_ms);
  j.field("optim", f.optim_ms);
  if (f.has_comm) j.field("comm", f.comm_ms);
  if (f.has_recompute) j.field("recompute", f.recompute_ms);
  j.end_object();
  if (!f.comm_json.empty()) j.key("comm").raw(f.comm_json);
  j.key("mem").begin_object();
  j.field("live_bytes", f.live_bytes).field("peak_bytes", f.peak_bytes);
  j.end_object();
  j.end_object();
  return s;
}

std::string comm_record(int rank, int ranks, const CommRecord& c) {
  const double alg = algbw_gbs(c.bytes, (c.t1 - c.t0) / 1e6);
  std::string s;
  Json j(s);
  j.begin_object().field("type", "comm").field("rank", rank).field("step", c.step);
  j.field("op", "allreduce").field("bucket", c.bucket).field("bytes", c.bytes);
  j.field("t0", c.t0).field("t1", c.t1).field("algbw", alg);
  j.field("busbw", allreduce_busbw(alg, ranks)).end_object();
  return s;
}

std::string step_comm_json(double total_us, double exposed_us) {
  std::string s;
  Json j(s);
  j.begin_object().field("ms", total_us / 1e3).field("exposed_ms", exposed_us / 1e3);
  j.field("overlap", total_us > 0 ? 100.0 * (1.0 - exposed_us / total_us) : 0.0).end_object();
  return s;
}

std::string eval_record(int64_t step, double val_loss) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "eval").field("step", step).field("val_loss", val_loss).end_object();
  return s;
}

std::string save_record(int64_t step, const std::string& path, uint64_t bytes, double ms) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "save").field("step", step).field("path", path);
  j.field("bytes", bytes).field("ms", ms).end_object();
  return s;
}

std::string error_record(const std::string& message, const Where& w, int64_t step) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "error").field("message", message);
  if (w.line > 0) j.field("file", w.file).field("line", w.line).field("col", w.col);
  if (!w.key.empty()) j.field("key", w.key);
  if (step > 0) j.field("step", step);
  j.end_object();
  return s;
}

std::string summary_record(const SummaryFacts& f) {
  const Allocator& a = *f.alloc;
  std::string s;
  Json j(s);
  j.begin_object().field("type", "summary").field("status", f.status);
  j.field("steps", f.steps).field("tokens", f.tokens);
  if (f.loss_scaled) j.field("skipped_steps", f.skipped_steps).field("loss_scale", f.loss_scale);
  if (f.steps > 0) j.field("first_loss", f.first_loss).field("final_loss", f.final_loss);
  if (!std::isnan(f.final_val_loss)) j.field("final_val_loss", f.final_val_loss);
  j.field("ms_per_step", f.ms_per_step).field("tokens_per_s", f.tokens_per_s);
  j.field("wall_s", f.wall_s);
  j.field("peak_bytes", a.total().peak).field("peak_act_bytes", a.category(Cat::act).peak);
  j.key("peak_by_category").begin_object();
  for (int c = 0; c < kNumCats; ++c) j.field(cat_name(Cat(c)), a.category(Cat(c)).peak);
  j.end_object();
  j.field("predicted_peak_bytes", f.pred->peak).field("predicted_peak_act_bytes", f.pred->peak_act);
  j.field("rss_peak_bytes", f.rss_peak_bytes);
  j.end_object();
  return s;
}

std::string failed_summary_record(double wall_s) {
  std::string s;
  Json j(s);
  j.begin_object().field("type", "summary").field("status", "failed").field("steps", 0);
  j.field("tokens", 0).field("wall_s", wall_s).end_object();
  return s;
}

}  // namespace ts
