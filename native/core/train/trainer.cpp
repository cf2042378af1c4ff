#include "train/trainer.h"

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <stdexcept>
#include <vector>

#include "base/events.h"
#include "base/json.h"
#include "dist/comm.h"
#include "dist/nccl_loader.h"
#include "model/alloc.h"
#include "model/backend.h"
#include "model/gemm.h"
#include "model/model.h"
#include "plan/memory_model.h"
#include "plan/planner.h"
#include "train/snapshot.h"
#include "train/data.h"

namespace ts {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void on_signal(int s) { g_signal = s; }

using Clock = std::chrono::steady_clock;

struct RunClock {
  Clock::time_point start = Clock::now();
  double us() const {
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  }
};

constexpr int kNumPhases = 5;  // fwd, bwd, optim, recompute, comm (model.h's Phase)

// Records per-layer spans, only on sampled steps: a span costs two clock
// reads and a couple of string appends, but thousands a step would still
// show up in the step time of a small model.
class Profiler : public LayerObserver {
 public:
  Profiler(const RunClock& clk, const std::vector<LayerInfo>& layers, EventWriter& ev,
           TraceSink& trace, Allocator& alloc)
      : clk_(clk), layers_(layers), ev_(ev), trace_(trace), alloc_(alloc),
        t0_(layers.size() * kNumPhases, 0.0) {}
  void set_step(int64_t step, bool sampled) {
    step_ = step;
    sampled_ = sampled;
    recompute_us_ = 0;
  }
  // Recompute time of the step so far: measured on every step (a handful of
  // clock reads), since the bwd phase is reported without it.
  double recompute_ms() const { return recompute_us_ / 1e3; }
  // GPU runs: the backend reports each span from its CUDA events (span()),
  // so begin()/end(), called when the work is queued, time nothing.
  void set_timed_by_device(bool on) { timed_by_device_ = on; }
  bool sampled() const { return sampled_; }
  void begin(int layer, Phase phase) override {
    if (timed_by_device_) return;
    if (sampled_ || phase == Phase::recompute) t0_[size_t(layer) * kNumPhases + int(phase)] = clk_.us();
  }
  void end(int layer, Phase phase) override {
    if (timed_by_device_ || (!sampled_ && phase != Phase::recompute)) return;
    span(layer, phase, t0_[size_t(layer) * kNumPhases + int(phase)], clk_.us());
  }
  double now_us() const override { return clk_.us(); }
  void span(int layer, Phase phase, double t0, double t1) override {
    if (phase == Phase::recompute) recompute_us_ += t1 - t0;
    if (!sampled_) return;
    std::string s;
    Json j(s);
    j.begin_object().field("type", "span").field("rank", trace_.rank()).field("step", step_);
    j.field("layer", layer).field("name", layers_[layer].name).field("phase", phase_name(phase));
    j.field("t0", t0).field("t1", t1).end_object();
    ev_.record(s);
    trace_.span({trace_.rank(), 1, layers_[layer].name + " " + phase_name(phase), phase_name(phase), t0, t1,
                 step_, layer});
    trace_.counter({trace_.rank(), "memory (MB)", t1,
                    {{"act", alloc_.category(Cat::act).live / 1e6},
                     {"workspace", alloc_.category(Cat::workspace).live / 1e6}}});
  }

 private:
  const RunClock& clk_;
  const std::vector<LayerInfo>& layers_;
  EventWriter& ev_;
  TraceSink& trace_;
  Allocator& alloc_;
  std::vector<double> t0_;
  int64_t step_ = 0;
  bool sampled_ = false;
  bool timed_by_device_ = false;
  double recompute_us_ = 0;
};

double lr_at(const TrainConfig& t, int64_t step) {
  const double s = double(step);
  if (t.schedule == "onecycle") {
    // PyTorch's OneCycleLR shape: from lr/25 up to lr over the warm-up
    // (30% of the steps unless train.warmup says), then cosine down to
    // min_lr (or lr/25/1e4 when min_lr is 0).
    const double up = t.warmup > 0 ? t.warmup : std::max(1.0, 0.3 * t.steps);
    const double lo = t.lr / 25.0;
    const double end = t.min_lr > 0 ? t.min_lr : lo / 1e4;
    if (s <= up) return lo + (t.lr - lo) * 0.5 * (1 - std::cos(M_PI * s / up));
    const double p = std::min(1.0, (s - up) / std::max(1.0, t.steps - up));
    return end + (t.lr - end) * 0.5 * (1 + std::cos(M_PI * p));
  }
  if (t.warmup > 0 && s <= t.warmup) return t.lr * s / t.warmup;
  if (t.schedule == "constant") return t.lr;
  const double p = std::min(1.0, (s - t.warmup) / std::max(1.0, double(t.steps - t.warmup)));
  return t.min_lr + (t.lr - t.min_lr) * 0.5 * (1 + std::cos(M_PI * p));
}

std::string iso_time_utc() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return buf;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (b >= 1e3) std::snprintf(buf, sizeof buf, "%.1f KB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Where an error points: a config key's value (file, line, column), or
// nowhere in particular (line 0) for failures that no key explains.
struct Where {
  std::string file;
  int line = 0, col = 0;
  std::string key;
};

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

// The gradient noise scale of McCandlish et al. (2018), B_simple =
// tr(Sigma) / |G|^2, from the squared norms of a small-batch gradient (one
// micro-batch, B_s sequences) and a big-batch one (the accumulated step,
// B_b): |G|^2 ~ (B_b|G_b|^2 - B_s|G_s|^2) / (B_b - B_s) and tr(Sigma) ~
// (|G_s|^2 - |G_b|^2) / (1/B_s - 1/B_b). Each estimate is averaged over
// steps (bias-corrected EMA, beta 0.99) before the ratio: the per-step
// estimates are far too noisy on their own.
class NoiseScale {
 public:
  void add(double g_small_sq, double g_big_sq, double b_small, double b_big) {
    const double g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small);
    const double tr = (g_small_sq - g_big_sq) / (1.0 / b_small - 1.0 / b_big);
    g2_ = kBeta * g2_ + (1 - kBeta) * g2;
    tr_ = kBeta * tr_ + (1 - kBeta) * tr;
    ++n_;
  }
  // After a few steps, and only while the averaged |G|^2 is positive.
  bool ready() const { return n_ >= 10 && g2_ > 0 && tr_ > 0; }
  double b_simple() const { return tr_ / g2_; }  // the bias corrections cancel in the ratio
  // K ~ B_simple / (ranks * micro-batch), never below the current K.
  int suggested_accumulate(int ranks, int micro_batch, int current) const {
    const double k = std::round(b_simple() / (double(ranks) * micro_batch));
    return std::max(current, int(std::min(k, 65536.0)));
  }

  // Snapshots save and restore the averages.
  void get(double& g2, double& tr, int64_t& n) const { g2 = g2_; tr = tr_; n = n_; }
  void set(double g2, double tr, int64_t n) { g2_ = g2; tr_ = tr; n_ = n; }

 private:
  static constexpr double kBeta = 0.99;
  double g2_ = 0, tr_ = 0;
  int64_t n_ = 0;
};

// Dynamic loss scaling for fp16, as PyTorch's GradScaler does by default:
// start at 2^16, double after 2000 consecutive clean steps, halve (and skip
// the step) on an inf/NaN gradient. Off (scale 1) for fp32 and bf16, whose
// exponent range is fp32's.
class LossScaler {
 public:
  explicit LossScaler(bool enabled) : enabled_(enabled), scale_(enabled ? 65536.0 : 1.0) {}
  bool enabled() const { return enabled_; }
  double scale() const { return scale_; }
  // Whether the step's update is applied.
  bool update(bool finite) {
    if (!enabled_) return finite;
    if (!finite) {
      scale_ *= 0.5;
      clean_ = 0;
      return false;
    }
    if (++clean_ == kGrowthInterval) {
      scale_ *= 2.0;
      clean_ = 0;
    }
    return true;
  }

  // Snapshots save and restore the scaler.
  int clean_steps() const { return clean_; }
  void restore(double scale, int clean) { scale_ = scale; clean_ = clean; }

 private:
  static constexpr int kGrowthInterval = 2000;
  bool enabled_;
  double scale_;
  int clean_ = 0;
};

class Run {
 public:
  Run(const Config& cfg, const RunOptions& opt) : cfg_(cfg), opt_(opt) {}
  int go();
  // After go(), on every rank: settles a data-parallel run (a rank that
  // failed alone ends the job; the others stop their threads). Returns the
  // exit code.
  int settle(int rc);

 private:
  void fail(const Where& w, const std::string& message);
  int fail_before_start(const Where& w, const std::string& message, int exit_code);
  void write_run_record(const MemoryPrediction& pred, const Dataset& data, int threads);
  void write_layer_records(const MemoryPrediction& pred);
  void snapshot_end_of_forward();
  double evaluate(int64_t step);
  void finish(const char* status, const MemoryPrediction& pred);
  // Data parallelism and snapshots (docs/distributed.md).
  int start_parallel();
  int vote(bool ok);
  bool stop_requested() const { return world_.size > 1 ? stop_signal_ != 0 : g_signal != 0; }
  void sync_step(double& loss, double& g_small_sq, int K);
  std::string comm_step(int64_t step, bool sampled, double t_start, double t_wait0,
                        double t_wait1, double t_end);
  void save_snapshot(int64_t step);
  int choose_device(const CudaBackend*& cuda);

  const Config& cfg_;
  RunOptions opt_;  // a copy: the output paths depend on the rank
  RunClock clk_;
  EventWriter ev_;
  TraceBuilder trace_;
  // The model's memory (host, or the GPU's through the CUDA backend) and,
  // for GPU runs, the host memory of the token batches.
  std::unique_ptr<Allocator> alloc_, host_alloc_;
  std::unique_ptr<TrainModel> model_;
  DeviceInfo device_;
  std::unique_ptr<Dataset> data_;
  Buffer<int32_t> inputs_, targets_;
  static constexpr size_t kStepWindow = 1000;
  std::vector<double> step_ms_;
  double first_step_ms_ = 0;
  std::vector<uint64_t> act_end_of_forward_;  // per layer, measured on step 1
  NoiseScale noise_;
  LossScaler scaler_{cfg_.train.precision == "fp16"};
  int64_t optimizer_steps_ = 0, skipped_steps_ = 0;
  double first_loss_ = NAN, last_loss_ = NAN, last_val_ = NAN;
  int64_t steps_done_ = 0;
  uint64_t tokens_done_ = 0;
  // Data parallelism (docs/distributed.md).
  World world_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<GradReducer> reducer_;
  Watchdog watchdog_;
  std::unique_ptr<TraceSink> sink_;
  std::vector<double> clock_offsets_{0.0};
  bool voted_ = false;          // this rank took part in the start-up vote
  bool agreed_ = false;         // every rank started
  bool local_failure_ = false;  // this rank failed alone: the job must end
  int stop_signal_ = 0;         // a signal some rank got (agreed every step)
  int64_t first_step_ = 1;      // > 1 when resumed
  int64_t last_saved_ = 0;
  std::string resumed_from_;
};

// Reports an error on stderr ("file:line:col: error: ..." when a config key
// explains it) and as an error record, which says where in its own fields so
// the editor needs no parsing to place a diagnostic.
void Run::fail(const Where& w, const std::string& message) {
  const std::string line =
      w.line > 0 ? w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.col) + ": error: " + message
                 : "trainscope-train: error: " + message;
  // Errors every rank meets alike (after start-up) are printed by rank 0 only.
  if (world_.rank == 0 || !agreed_ || local_failure_) std::fprintf(stderr, "%s\n", line.c_str());
  std::string s;
  Json j(s);
  j.begin_object().field("type", "error").field("message", message);
  if (w.line > 0) j.field("file", w.file).field("line", w.line).field("col", w.col);
  if (!w.key.empty()) j.field("key", w.key);
  if (steps_done_ > 0) j.field("step", steps_done_ + 1);
  j.end_object();
  ev_.record(s);
  ev_.flush();
}

// A run that fails before its first step still ends its stream with a
// summary, so readers always find one.
int Run::fail_before_start(const Where& w, const std::string& message, int exit_code) {
  fail(w, message);
  std::string s;
  Json j(s);
  j.begin_object().field("type", "summary").field("status", "failed").field("steps", 0);
  j.field("tokens", 0).field("wall_s", clk_.us() / 1e6).end_object();
  ev_.record(s);
  ev_.flush();
  std::string err;
  if (!opt_.summary_path.empty()) write_file_atomic(opt_.summary_path, s + "\n", err);
  return exit_code;
}

void Run::write_run_record(const MemoryPrediction& pred, const Dataset& data, int threads) {
  if (world_.rank != 0) return;  // other ranks' files hold their spans, comm and steps only
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string s;
  Json j(s);
  j.begin_object();
  j.field("type", "run").field("schema", kEventSchema).field("trainscope", TRAINSCOPE_VERSION);
  j.field("time", iso_time_utc()).field("host", std::string(host));
  j.field("config_file", cfg_.file);
  j.key("config").raw(config_to_json(cfg_));
  j.field("model", cfg_.model.type).field("params", uint64_t(model_->num_params()));
  j.field("ranks", world_.size).field("device", device_.type).field("threads", threads).field("blas", blas_name());
  j.key("device_info").begin_object();
  j.field("type", device_.type).field("requested", device_.requested).field("name", device_.name);
  if (!device_.compute_capability.empty()) j.field("compute_capability", device_.compute_capability);
  j.field("capacity_bytes", device_.capacity_bytes).field("free_bytes", device_.free_bytes);
  if (!device_.note.empty()) j.field("note", device_.note);
  j.end_object();
  j.field("precision", cfg_.train.precision).field("checkpoint", pred.checkpoint);
  j.field("tokens_per_step",
          uint64_t(cfg_.train.batch) * cfg_.model.context * cfg_.train.accumulate * world_.size);
  j.field("accumulate", cfg_.train.accumulate);
  j.key("clock_offsets_us").begin_array();
  for (double o : clock_offsets_) j.value(o);
  j.end_array();
  if (world_.size > 1) {
    j.key("rank_pids").begin_array();
    for (int64_t p : world_.pids) j.value(p);
    j.end_array();
    j.key("rank_hosts").begin_array();
    for (const auto& h : world_.hosts) j.value(h);
    j.end_array();
    j.field("mpi", mpi_library_version()).field("comm_backend", backend_->name());
    j.field("buckets", uint64_t(reducer_->buckets().size()));
  }
  if (!resumed_from_.empty())
    j.key("resumed_from").begin_object().field("snapshot", resumed_from_).field("step", first_step_ - 1).end_object();
  j.key("data").begin_object();
  j.field("source", data.source()).field("description", data.describe());
  j.field("train_tokens", data.train_tokens()).field("val_tokens", data.val_tokens());
  if (data.entropy_floor() >= 0) j.field("entropy_floor", data.entropy_floor());
  j.end_object();
  j.key("layers").begin_array();
  for (const auto& l : model_->layers()) j.value(l.name);
  j.end_array();
  j.key("predicted").raw(memory_prediction_to_json(pred));
  // Every schedule, precision and accumulation the planner weighs, so a
  // reader (the panel's checkpoint curve, report.html) needs no addon.
  j.key("plan").raw(plan_report_json(cfg_, 0));
  j.end_object();
  ev_.record(s);
  ev_.flush();
}

void Run::snapshot_end_of_forward() {
  act_end_of_forward_.clear();
  for (int l = 0; l < model_->num_layers(); ++l)
    act_end_of_forward_.push_back(alloc_->layer(l, Cat::act).live);
}

// One record per layer, measured by the allocator after the first step
// (activations and workspace have then reached their per-step peak),
// beside the memory model's prediction. `act` is what the layer holds for
// backward when the forward pass ends (what checkpointing shrinks);
// `act_peak` its largest live activation bytes (its forward or recompute).
void Run::write_layer_records(const MemoryPrediction& pred) {
  if (world_.rank != 0) return;
  const Allocator& a = *alloc_;
  for (int l = 0; l < model_->num_layers(); ++l) {
    const LayerInfo& li = model_->layers()[l];
    const LayerBytes& pl = pred.layers[l];
    std::string s;
    Json j(s);
    j.begin_object().field("type", "layer").field("index", l).field("name", li.name);
    j.field("kind", li.kind).field("params", uint64_t(li.params));
    j.field("checkpointed", pl.checkpointed).field("segment_start", pl.segment_start);
    j.key("bytes").begin_object();
    j.field("param", a.layer(l, Cat::param).peak).field("grad", a.layer(l, Cat::grad).peak);
    j.field("optim", a.layer(l, Cat::optim).peak).field("act", act_end_of_forward_[l]);
    j.field("act_peak", a.layer(l, Cat::act).peak);
    j.field("workspace", a.layer(l, Cat::workspace).peak);
    j.end_object();
    j.key("predicted").begin_object();
    j.field("param", pl.param).field("grad", pl.grad).field("optim", pl.optim);
    j.field("act", pl.act).field("act_peak", pl.act_full).field("workspace", pl.workspace);
    j.end_object();
    j.end_object();
    ev_.record(s);
  }
}

double Run::evaluate(int64_t step) {
  const int B = cfg_.train.batch, T = cfg_.model.context;
  double total = 0;
  for (int i = 0; i < cfg_.train.eval_batches; ++i) {
    // Validation batches are the same every evaluation, so curves compare.
    // Rank r takes rows [r*B, (r+1)*B) of what one rank with R*B would read.
    data_->batch(true, uint64_t(i) * world_.size + world_.rank, B, T, inputs_.data(), targets_.data());
    total += model_->forward(inputs_.data(), targets_.data(), nullptr);
    model_->release_activations();
  }
  std::string err;
  if (!world_allreduce_sum(world_, &total, 1, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  const double val = total / cfg_.train.eval_batches / world_.size;
  if (world_.rank != 0) return val;
  std::string s;
  Json j(s);
  j.begin_object().field("type", "eval").field("step", step).field("val_loss", val).end_object();
  ev_.record(s);
  return val;
}

void Run::finish(const char* status, const MemoryPrediction& pred) {
  // Every rank's trace events go to rank 0's trace; other ranks write no
  // summary.
  if (world_.size > 1) {
    std::string err;
    if (sink_ && agreed_ && !local_failure_ && !sink_->gather(world_, err))
      std::fprintf(stderr, "trainscope-train: warning: rank %d: %s\n", world_.rank, err.c_str());
    if (world_.rank != 0) {
      ev_.flush();
      return;
    }
  }
  const Allocator& a = *alloc_;
  // Step 1 (first touches of every buffer) counts only when it is all there is.
  const double ms = step_ms_.empty() ? first_step_ms_ : median(step_ms_);
  const double tps =
      ms > 0 ? cfg_.train.batch * double(cfg_.model.context) * cfg_.train.accumulate * world_.size / (ms / 1e3) : 0;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::string s;
  Json j(s);
  j.begin_object().field("type", "summary").field("status", status);
  j.field("steps", steps_done_).field("tokens", tokens_done_);
  if (scaler_.enabled()) j.field("skipped_steps", skipped_steps_).field("loss_scale", scaler_.scale());
  if (steps_done_ > 0) j.field("first_loss", first_loss_).field("final_loss", last_loss_);
  if (!std::isnan(last_val_)) j.field("final_val_loss", last_val_);
  j.field("ms_per_step", ms).field("tokens_per_s", tps);
  j.field("wall_s", clk_.us() / 1e6);
  j.field("peak_bytes", a.total().peak).field("peak_act_bytes", a.category(Cat::act).peak);
  j.key("peak_by_category").begin_object();
  for (int c = 0; c < kNumCats; ++c) j.field(cat_name(Cat(c)), a.category(Cat(c)).peak);
  j.end_object();
  j.field("predicted_peak_bytes", pred.peak).field("predicted_peak_act_bytes", pred.peak_act);
  j.field("rss_peak_bytes", uint64_t(ru.ru_maxrss) * 1024);
  j.end_object();
  ev_.record(s);
  ev_.flush();
  std::string err;
  if (!opt_.summary_path.empty() && !write_file_atomic(opt_.summary_path, s + "\n", err))
    std::fprintf(stderr, "trainscope-train: warning: %s\n", err.c_str());
  if (!opt_.trace_path.empty()) {
    std::string meta;
    Json m(meta);
    m.begin_object().field("trainscope", TRAINSCOPE_VERSION).field("config_file", cfg_.file);
    m.field("schema", kEventSchema).end_object();
    if (!trace_.write(opt_.trace_path, {"steps", "layers", "comm"}, meta, err))
      std::fprintf(stderr, "trainscope-train: warning: %s\n", err.c_str());
  }

  // The human summary, on stdout.
  std::printf("\nTrainScope run %s: %s\n", status, cfg_.file.c_str());
  std::printf("  model    gpt, %d layers, width %d, %d heads, %.2fM parameters\n",
              cfg_.model.layers, cfg_.model.width, cfg_.model.heads, model_->num_params() / 1e6);
  std::printf("  data     %s\n", data_->describe().c_str());
  if (steps_done_ > 0) {
    std::printf("  loss     %.4f -> %.4f over %lld steps (ln(vocab) = %.3f", first_loss_, last_loss_,
                (long long)steps_done_, std::log(double(cfg_.model.vocab)));
    if (data_->entropy_floor() >= 0) std::printf(", best possible %.3f", data_->entropy_floor());
    std::printf(")\n");
  }
  if (!std::isnan(last_val_)) std::printf("  val loss %.4f\n", last_val_);
  if (device_.type == "cuda")
    std::printf("  speed    %.2f ms/step (median), %.0f tokens/s, %s (cuBLAS)\n", ms, tps,
                device_.name.c_str());
  else
    std::printf("  speed    %.2f ms/step (median), %.0f tokens/s, %d threads, %s\n", ms, tps,
                omp_get_max_threads(), blas_name());
  if (!device_.note.empty()) std::printf("  device   %s\n", device_.note.c_str());
  std::string by_cat;
  for (int c = 0; c < kNumCats; ++c)
    if (a.category(Cat(c)).peak)
      by_cat += std::string(by_cat.empty() ? " " : ", ") + cat_name(Cat(c)) + " " +
                human_bytes(a.category(Cat(c)).peak);
  std::printf("  memory   peak %s (predicted %s):%s\n", human_bytes(a.total().peak).c_str(),
              human_bytes(pred.peak).c_str(), by_cat.c_str());
  std::printf("  top layers by memory:\n");
  std::vector<std::pair<uint64_t, int>> by;
  for (int l = 0; l < model_->num_layers(); ++l) {
    uint64_t t = 0;
    for (int c = 0; c < kNumCats; ++c) t += a.layer(l, Cat(c)).peak;
    by.push_back({t, l});
  }
  std::sort(by.begin(), by.end(), [](auto& x, auto& y) { return x.first > y.first; });
  for (size_t i = 0; i < by.size() && i < 5; ++i) {
    const int l = by[i].second;
    std::printf("    %-10s %10s  (param %s, grad %s, optim %s, act %s)\n",
                model_->layers()[l].name.c_str(), human_bytes(by[i].first).c_str(),
                human_bytes(a.layer(l, Cat::param).peak).c_str(),
                human_bytes(a.layer(l, Cat::grad).peak).c_str(),
                human_bytes(a.layer(l, Cat::optim).peak).c_str(),
                human_bytes(a.layer(l, Cat::act).peak).c_str());
  }
  std::fflush(stdout);
}

// Output files are created up front: a path that cannot be written fails the
// run before any training, not after it.
bool can_create(const std::string& path, std::string& err) {
  if (path.empty()) return true;
  const std::string probe = path + ".tmp";
  FILE* f = std::fopen(probe.c_str(), "wb");
  if (!f) {
    err = "cannot create '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::fclose(f);
  std::remove(probe.c_str());
  return true;
}

// train.device: cpu; cuda (a usable GPU or a clear error); auto (the GPU
// when one is usable, else the cpu with a note in the run record saying
// why). Returns -1 to go on, else the exit code.
int Run::choose_device(const CudaBackend*& cuda) {
  device_ = cpu_device_info();
  device_.requested = cfg_.train.device;
  if (cfg_.train.device == "cpu") return -1;
  std::string why;
  if (cfg_.train.device == "auto" && cfg_.parallel.ranks > 1) {
    device_.note = "train.device auto: data-parallel training on GPUs is not built yet; training on the cpu";
    return -1;
  }
  const CudaBackend* b = CudaBackend::get(why);
  DeviceInfo gpu;
  if (b && b->probe(gpu, why)) {
    cuda = b;
    gpu.requested = cfg_.train.device;
    device_ = gpu;
    return -1;
  }
  if (cfg_.train.device == "cuda")
    return fail_before_start(where_of(cfg_, "train.device"), "train.device cuda: no usable GPU: " + why,
                             kExitRuntime);
  device_.note = "train.device auto: no usable GPU (" + why + "); training on the cpu" +
                 (cfg_.train.attention == "fused" ? " (attention materialized: fused runs on the GPU)" : "");
  if (opt_.log_steps) std::fprintf(stderr, "trainscope: %s\n", device_.note.c_str());
  return -1;
}

int Run::go() {
  // Installed first: a Ctrl-C at any point ends the run with its records.
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::string err;
  // Data parallelism: join the MPI world before opening any file. Rank 0
  // writes the stream, trace, summary and snapshots; rank r > 0 its own
  // events.rankR.jsonl beside the stream (docs/distributed.md).
  if (opt_.snapshot_path.empty() && cfg_.train.save_every > 0) {
    const size_t slash = opt_.events_path.find_last_of('/');
    opt_.snapshot_path = slash == std::string::npos ? std::string("snapshot.bin")
                                                      : opt_.events_path.substr(0, slash) + "/snapshot.bin";
  }
  if (!world_init(cfg_.parallel.ranks, world_, err)) {
    if (world_.rank == 0) {
      const Where w = where_of(cfg_, "parallel.ranks");
      std::fprintf(stderr, "%s%s\n",
                   w.line > 0 ? (w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.col) + ": error: ").c_str()
                              : "trainscope-train: error: ",
                   err.c_str());
    }
    return kExitUsage;
  }
  if (world_.rank > 0) {
    opt_.events_path = rank_path(opt_.events_path, world_.rank);
    opt_.trace_path.clear();
    opt_.summary_path.clear();
    opt_.log_steps = false;
  }
  if (!ev_.open(opt_.events_path, err) || !can_create(opt_.trace_path, err) ||
      !can_create(opt_.summary_path, err) ||
      (world_.rank == 0 && cfg_.train.save_every > 0 && !can_create(opt_.snapshot_path, err))) {
    std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
    return kExitRuntime;
  }
  if (cfg_.parallel.backend == "nccl") {
    // NCCL is opened at run time; the model itself runs on the cpu so far.
    Nccl nccl;
    if (!nccl.load(err)) return fail_before_start(where_of(cfg_, "parallel.backend"), err, kExitRuntime);
    if (cfg_.train.device != "cuda")
      return fail_before_start(
          where_of(cfg_, "parallel.backend"),
          "parallel.backend nccl (NCCL " + nccl.version_string() +
              ") all-reduces GPU memory, but this model trains on the cpu (train.device " +
              cfg_.train.device + "): use train.device cuda, or parallel.backend mpi",
          kExitUsage);
  }
  const TrainConfig& tc = cfg_.train;
  const int threads = tc.threads > 0 ? tc.threads : omp_get_num_procs();
  set_compute_threads(threads);
  const CudaBackend* cuda = nullptr;
  if (const int rc = choose_device(cuda); rc >= 0) return rc;

  data_.reset(new Dataset);
  DataError derr;
  if (!data_->open(cfg_, derr))
    return fail_before_start(where_of(cfg_, "data." + cfg_.data.source),
                             "data." + cfg_.data.source + ": " + derr.message, kExitRuntime);
  if (tc.eval_every > 0 && data_->source() != "synthetic" && data_->val_tokens() == 0) {
    return fail_before_start(where_of(cfg_, "train.eval_every"),
                             "train.eval_every needs a held-out split, but data.val_fraction is 0",
                             kExitRuntime);
  }

  const int B = tc.batch, T = cfg_.model.context;
  // The prediction of the device that trains (auto's choice included).
  const MemoryPrediction pred = predict_memory(cfg_, 4, device_.type);
  // A checkpoint budget no plan fits is a config error, reported at the key.
  if (!pred.error.empty())
    return fail_before_start(where_of(cfg_, "train.checkpoint"), pred.error, kExitUsage);
  try {
    const Precision prec = precision_from_name(tc.precision);
    alloc_.reset(new Allocator(cfg_.model.layers + 2, cuda ? cuda->memory() : nullptr));
    if (cuda) {
      std::string cerr;
      model_ = cuda->create(cfg_.model, B, *alloc_, tc.seed, pred.segments, prec, tc.attention == "fused", cerr);
      if (!model_) return fail_before_start(where_of(cfg_, "train.device"), "train.device cuda: " + cerr, kExitRuntime);
      // The batches' tokens stay in host memory; the model copies them over.
      host_alloc_.reset(new Allocator(cfg_.model.layers + 2));
    } else {
      model_ = make_cpu_model(cfg_.model, B, *alloc_, tc.seed, pred.segments, prec);
    }
    Allocator& io = host_alloc_ ? *host_alloc_ : *alloc_;
    inputs_ = Buffer<int32_t>(io, size_t(B) * T, 0, Cat::workspace);
    targets_ = Buffer<int32_t>(io, size_t(B) * T, 0, Cat::workspace);
  } catch (const std::bad_alloc&) {
    return fail_before_start(Where{}, std::string("out of ") + (cuda ? "GPU " : "") +
                                          "memory allocating the model (predicted peak " +
                                          human_bytes(pred.peak) + ")",
                             kExitRuntime);
  } catch (const std::runtime_error& e) {
    return fail_before_start(where_of(cfg_, "train.device"), e.what(), kExitRuntime);
  }
  const int prc = start_parallel();
  if (prc >= 0) return prc;
  write_run_record(pred, *data_, threads);
  if (opt_.log_steps)
    std::fprintf(stderr, "trainscope: %s | %.2fM params | %s | %d threads\n", cfg_.file.c_str(),
                 model_->num_params() / 1e6, data_->describe().c_str(), threads);

  sink_.reset(new TraceSink(trace_, world_.rank));
  Profiler prof(clk_, model_->layers(), ev_, *sink_, *alloc_);
  prof.set_timed_by_device(cuda != nullptr);
  const int log_every = std::max(1, tc.steps / 20);
  const char* status = "completed";
  for (int64_t step = first_step_; step <= tc.steps; ++step) {
    if (stop_requested()) {
      status = "interrupted";
      break;
    }
    const bool sampled = step == first_step_ || (tc.profile_every > 0 && step % tc.profile_every == 0);
    prof.set_step(step, sampled);
    const double t_start = clk_.us();
    double ph[5] = {0, 0, 0, 0, 0};  // data, fwd, bwd, optim, comm (ms), summed over micro-batches
    double t0 = t_start;
    auto lap = [&](int i) {
      const double t = clk_.us();
      ph[i] += (t - t0) / 1e3;
      t0 = t;
    };
    // K micro-batches of `batch` sequences per optimizer step: micro-batch m
    // of step s reads the rows batch K*batch would have read at step s, and
    // each backward is scaled by 1/K, so the summed gradient is the mean over
    // all K*batch sequences.
    const int K = tc.accumulate;
    const int R = world_.size;
    double loss = 0;
    double g_small_sq = 0;  // |gradient of one micro-batch|^2, for the noise scale
    model_->zero_grad();
    for (int m = 0; m < K; ++m) {
      // With R ranks, rank r reads rows [r*B, (r+1)*B) of what one rank with
      // batch R*B would read: R ranks x B train like one rank x R*B.
      data_->batch(false, (uint64_t(step - 1) * K + m) * R + world_.rank, B, T, inputs_.data(),
                   targets_.data());
      lap(0);
      double micro_loss;
      try {
        micro_loss = model_->forward(inputs_.data(), targets_.data(), &prof);
        lap(1);
        if (step == first_step_ && m == 0) snapshot_end_of_forward();
        // The last micro-batch's backward all-reduces each bucket of
        // gradients as soon as backward has finished it.
        if (reducer_ && m == K - 1) reducer_->arm(step, K == 1);
        model_->backward(reducer_ ? reducer_->observer(&prof) : &prof, float(scaler_.scale() / K));
      } catch (const std::bad_alloc&) {
        local_failure_ = true;
        fail(Where{}, std::string("out of ") + (cuda ? "GPU " : "") + "memory at step " +
                          std::to_string(step) + " (predicted peak " + human_bytes(pred.peak) + ")");
        finish("failed", pred);
        return kExitRuntime;
      } catch (const std::runtime_error& e) {
        // A device error (the CUDA backend's checks throw): the run ends
        // with its records, like any other failure.
        local_failure_ = true;
        fail(Where{}, "at step " + std::to_string(step) + ": " + e.what());
        finish("failed", pred);
        return kExitRuntime;
      }
      lap(2);
      loss += micro_loss / K;
      if (K > 1 && m == 0)
        g_small_sq = model_->grad_norm_sq() * double(K) * double(K) / (scaler_.scale() * scaler_.scale());
    }
    const double t_wait = clk_.us();
    if (reducer_) {
      sync_step(loss, g_small_sq, K);
      lap(4);
    }
    const double t_wait_end = clk_.us();
    if (!std::isfinite(loss)) {
      fail(where_of(cfg_, "train.lr"),
           "the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at step " +
               std::to_string(step) + " (try a lower train.lr or train.grad_clip)");
      finish("failed", pred);
      return kExitRuntime;
    }
    if (step == opt_.inject_overflow_at) model_->poison_grad();
    const double used_scale = scaler_.scale();
    const double g_raw_sq = model_->grad_norm_sq();
    // fp16: an overflow anywhere skips the step on every rank alike (the
    // decision is taken on the final gradients) and halves the scale.
    const bool finite = std::isfinite(g_raw_sq);
    const bool apply = scaler_.update(finite);
    if (!finite && !scaler_.enabled()) {
      fail(where_of(cfg_, "train.lr"),
           "the gradients are not finite at step " + std::to_string(step) +
               " (try a lower train.lr or train.grad_clip)");
      finish("failed", pred);
      return kExitRuntime;
    }
    const double g_big_sq = g_raw_sq / (used_scale * used_scale);
    const double gnorm = std::sqrt(g_big_sq);
    const double lr = lr_at(tc, step);
    if (apply) {
      if (K > 1 || R > 1) noise_.add(g_small_sq, g_big_sq, B, double(B) * K * R);
      // Unscaling and clipping in one pass over the gradients.
      const double clip = tc.grad_clip > 0 && gnorm > tc.grad_clip ? tc.grad_clip / gnorm : 1.0;
      if (clip != 1.0 || used_scale != 1.0) model_->scale_grads(float(clip / used_scale));
      ++optimizer_steps_;
      model_->adamw_step(lr, tc.beta1, tc.beta2, tc.eps, tc.weight_decay, optimizer_steps_, &prof);
    } else {
      ++skipped_steps_;
    }
    lap(3);
    const double ms = (clk_.us() - t_start) / 1e3;
    // The median covers the last kStepWindow steps: bounded memory on runs
    // of millions of steps, and what a reader wants (the current speed).
    if (step > first_step_) {
      if (step_ms_.size() == kStepWindow) step_ms_.erase(step_ms_.begin());
      step_ms_.push_back(ms);
    } else {
      first_step_ms_ = ms;
    }
    if (step == first_step_) {
      if (first_step_ == 1) first_loss_ = loss;
      write_layer_records(pred);
    }
    last_loss_ = loss;
    if (opt_.step_losses) opt_.step_losses->push_back(loss);
    steps_done_ = step;
    tokens_done_ += uint64_t(B) * T * K * R;
    if (sampled) sink_->span({world_.rank, 0, "step " + std::to_string(step), "step", t_start, clk_.us(), step, -1});
    const std::string comm_json =
        reducer_ ? comm_step(step, sampled, t_start, t_wait, t_wait_end, t_start + ms * 1e3) : "";

    std::string s;
    Json j(s);
    j.begin_object().field("type", "step").field("step", step);
    if (R > 1) j.field("rank", world_.rank);
    j.field("loss", loss);
    j.field("t0", t_start).field("t1", t_start + ms * 1e3);
    j.field("lr", lr).field("grad_norm", gnorm).field("ms", ms);
    j.field("tokens_per_s", B * double(T) * K * R / (ms / 1e3));
    if (K > 1) j.field("accumulate", K);
    if (scaler_.enabled()) j.field("loss_scale", used_scale).field("skipped", !apply);
    if (noise_.ready()) {
      j.field("noise_scale", noise_.b_simple());
      j.field("suggested_accumulate", noise_.suggested_accumulate(R, B, K));
    }
    j.key("phases").begin_object();
    // Backward's wall time includes the recompute; the two are reported apart.
    j.field("data", ph[0]).field("fwd", ph[1]).field("bwd", ph[2] - prof.recompute_ms());
    j.field("optim", ph[3]);
    if (reducer_) j.field("comm", ph[4]);
    if (!pred.segments.empty()) j.field("recompute", prof.recompute_ms());
    j.end_object();
    if (!comm_json.empty()) j.key("comm").raw(comm_json);
    j.key("mem").begin_object();
    j.field("live_bytes", alloc_->total().live).field("peak_bytes", alloc_->total().peak);
    j.end_object();
    j.end_object();
    ev_.record(s);
    if (tc.eval_every > 0 && (step % tc.eval_every == 0 || step == tc.steps))
      last_val_ = evaluate(step);
    if (tc.save_every > 0 && step % tc.save_every == 0) save_snapshot(step);
    ev_.flush();
    if (opt_.log_steps && (step % log_every == 0 || step == 1 || step == tc.steps))
      std::fprintf(stderr, "step %5lld/%d | loss %.4f | lr %.2e | %.1f ms | %.0f tok/s\n",
                   (long long)step, tc.steps, loss, lr, ms, B * double(T) * K * R / (ms / 1e3));
  }
  // The last step is saved too (also when interrupted): a run can resume
  // from wherever it stopped.
  if (tc.save_every > 0 && steps_done_ > last_saved_) save_snapshot(steps_done_);
  if (opt_.final_params) model_->pull_state();
  if (opt_.final_params)
    for (int l = 0; l < model_->num_layers(); ++l)
      opt_.final_params->insert(opt_.final_params->end(), model_->params(l),
                                model_->params(l) + model_->layer_params(l));
  finish(status, pred);
  if (std::string(status) == "interrupted") return 128 + (stop_signal_ ? stop_signal_ : int(g_signal));
  return kExitOk;
}

// ---------------------------------------------------------------------------
// Data parallelism and snapshots (docs/distributed.md)

// Every rank votes whether it started; returns the lowest rank that failed,
// or -1 when all did. A rank that fails before voting votes from settle().
int Run::vote(bool ok) {
  voted_ = true;
  if (world_.size < 2) return ok ? -1 : 0;
  double v = ok ? 1e9 : double(world_.rank);
  std::string err;
  if (!world_allreduce_min(world_, &v, 1, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  return v >= 1e9 ? -1 : int(v);
}

// After the model exists: --resume (rank 0 reads, every rank receives),
// the start-up vote, clock alignment, the gradient reducer and the
// watchdog. Returns -1 to go on, else the exit code.
int Run::start_parallel() {
  std::string err;
  int64_t step = 0;
  std::map<std::string, std::string> st;
  if (!opt_.resume_path.empty() && world_.rank == 0) {
    const std::string file = snapshot_file_for(opt_.resume_path);
    std::vector<std::string> warnings;
    if (!load_snapshot(file, cfg_, *model_, step, st, warnings, err))
      return fail_before_start(Where{}, "--resume " + opt_.resume_path + ": " + err, kExitRuntime);
    for (const auto& w : warnings) std::fprintf(stderr, "trainscope-train: warning: %s\n", w.c_str());
    resumed_from_ = file;
  }
  const int failed = vote(true);
  if (failed >= 0) {
    if (world_.rank == 0)
      std::fprintf(stderr, "trainscope-train: error: rank %d (pid %lld on %s) failed while starting (its error is above); every rank stops\n",
                   failed, (long long)world_.pids[size_t(failed)], world_.hosts[size_t(failed)].c_str());
    return kExitRuntime;
  }
  agreed_ = true;
  auto die = [&](const std::string& e) {
    world_abort(world_, 1, "trainscope-train: error: rank " + std::to_string(world_.rank) + ": " + e);
  };
  if (!opt_.resume_path.empty()) {
    if (!broadcast_training_state(world_, *model_, step, st, err)) die(err);
    auto num = [&](const char* k, double d) { return parse_double(st.count(k) ? st[k] : "", d); };
    first_step_ = step + 1;
    steps_done_ = step;
    last_saved_ = step;
    tokens_done_ = uint64_t(num("tokens", 0));
    first_loss_ = num("first_loss", NAN);
    last_loss_ = num("last_loss", NAN);
    last_val_ = num("last_val_loss", NAN);
    noise_.set(num("noise_g2", 0), num("noise_tr", 0), int64_t(num("noise_n", 0)));
    optimizer_steps_ = int64_t(num("optimizer_steps", double(step)));
    skipped_steps_ = int64_t(num("skipped_steps", 0));
    if (scaler_.enabled()) scaler_.restore(num("loss_scale", scaler_.scale()), int(num("loss_scale_clean", 0)));
    model_->push_state();
  }
  if (world_.size < 2) return -1;
  // Rank clocks: shift this rank's origin onto rank 0's.
  if (!align_clocks(world_, [this] { return clk_.us(); }, clock_offsets_, err)) die(err);
  clk_.start += std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::micro>(clock_offsets_[size_t(world_.rank)]));
  backend_ = make_mpi_backend(world_, err);
  if (!backend_) die(err);
  std::vector<size_t> sizes;
  std::vector<float*> grads;
  for (int l = 0; l < model_->num_layers(); ++l) {
    sizes.push_back(model_->layer_params(l));
    grads.push_back(model_->grads(l));
  }
  reducer_.reset(new GradReducer(world_, *backend_, *alloc_, plan_buckets(sizes, cfg_.parallel.bucket),
                                 grads, [this] { return clk_.us(); }));
  if (!watchdog_.start(world_, watchdog_timeout_s(), err)) die(err);
  return -1;
}

int Run::settle(int rc) {
  if (world_.size < 2) return rc;
  if (!voted_) vote(false);  // failed before the vote: tell the others
  if (local_failure_) world_abort(world_, rc ? rc : 1, "");
  watchdog_.stop();
  reducer_.reset();
  return rc;
}

// The step's communication: waits for every bucket, then agrees on the
// loss, the ranks' own gradient norms (noise scale) and whether any rank
// got a signal.
void Run::sync_step(double& loss, double& g_small_sq, int K) {
  std::string err;
  if (!reducer_->wait(err))
    world_abort(world_, 1, "trainscope-train: error: rank " + std::to_string(world_.rank) + ": " + err);
  if (K == 1) g_small_sq = reducer_->local_sq() / (scaler_.scale() * scaler_.scale());
  double v[2] = {loss, g_small_sq};
  double sig = double(g_signal);
  if (!world_allreduce_sum(world_, v, 2, err) || !world_allreduce_max(world_, &sig, 1, err))
    world_abort(world_, 1, "trainscope-train: error: rank " + std::to_string(world_.rank) + ": " + err);
  loss = v[0] / world_.size;
  g_small_sq = v[1] / world_.size;
  stop_signal_ = int(sig);
}

// Writes the step's comm records (and trace spans on sampled steps) and
// returns the step record's "comm" object: communication time, the part of
// it no compute covered (the step minus the wait for the buckets), overlap.
std::string Run::comm_step(int64_t step, bool sampled, double t_start, double t_wait0,
                           double t_wait1, double t_end) {
  std::vector<Interval> comm;
  for (const CommRecord& c : reducer_->records()) {
    const double alg = algbw_gbs(c.bytes, (c.t1 - c.t0) / 1e6);
    std::string s;
    Json j(s);
    j.begin_object().field("type", "comm").field("rank", world_.rank).field("step", c.step);
    j.field("op", "allreduce").field("bucket", c.bucket).field("bytes", c.bytes);
    j.field("t0", c.t0).field("t1", c.t1).field("algbw", alg);
    j.field("busbw", allreduce_busbw(alg, world_.size)).end_object();
    ev_.record(s);
    if (sampled)
      sink_->span({world_.rank, 2, "allreduce bucket " + std::to_string(c.bucket), "comm", c.t0, c.t1, step, -1});
    comm.push_back({c.t0, c.t1});
  }
  const double total = union_length(comm);
  const double exposed = uncovered_length(comm, {{t_start, t_wait0}, {t_wait1, t_end}});
  std::string s;
  Json j(s);
  j.begin_object().field("ms", total / 1e3).field("exposed_ms", exposed / 1e3);
  j.field("overlap", total > 0 ? 100.0 * (1.0 - exposed / total) : 0.0).end_object();
  return s;
}

// train.save_every: rank 0 writes the model, AdamW's moments and the
// trainer's state (data position, RNG seeds, loss scale, noise scale).
void Run::save_snapshot(int64_t step) {
  last_saved_ = step;
  if (world_.rank != 0) return;
  double g2, tr;
  int64_t n;
  noise_.get(g2, tr, n);
  const TrainConfig& tc = cfg_.train;
  std::map<std::string, std::string> st = {
      {"steps", std::to_string(step)},
      {"tokens", std::to_string(tokens_done_)},
      {"first_loss", hex_double(first_loss_)},
      {"last_loss", hex_double(last_loss_)},
      {"last_val_loss", hex_double(last_val_)},
      {"noise_g2", hex_double(g2)},
      {"noise_tr", hex_double(tr)},
      {"noise_n", std::to_string(n)},
      {"optimizer_steps", std::to_string(optimizer_steps_)},
      {"skipped_steps", std::to_string(skipped_steps_)},
      {"loss_scale", hex_double(scaler_.scale())},
      {"loss_scale_clean", std::to_string(scaler_.clean_steps())},
      // Batches are a pure function of (seed, split, row): the data
      // position and the RNG state are the next row and the seeds.
      {"data_next_row", std::to_string(uint64_t(step) * tc.accumulate * world_.size * tc.batch)},
      {"data_seed", std::to_string(cfg_.data.seed)},
      {"train_seed", std::to_string(tc.seed)},
  };
  const double t0 = clk_.us();
  std::string err;
  model_->pull_state();
  if (!ts::save_snapshot(opt_.snapshot_path, cfg_, *model_, step, st, err)) {
    std::fprintf(stderr, "trainscope-train: warning: snapshot at step %lld not saved: %s\n",
                 (long long)step, err.c_str());
    return;
  }
  uint64_t bytes = 0;
  for (int l = 0; l < model_->num_layers(); ++l) bytes += 3 * model_->layer_params(l) * sizeof(float);
  std::string s;
  Json j(s);
  j.begin_object().field("type", "save").field("step", step).field("path", opt_.snapshot_path);
  j.field("bytes", bytes).field("ms", (clk_.us() - t0) / 1e3).end_object();
  ev_.record(s);
}

}  // namespace

int run_training(const Config& cfg, const RunOptions& opt) {
  Run run(cfg, opt);
  const int rc = run.go();
  return run.settle(rc);
}

}  // namespace ts
