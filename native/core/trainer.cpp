#include "trainer.h"

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
#include <memory>
#include <vector>

#include "alloc.h"
#include "data.h"
#include "events.h"
#include "gemm.h"
#include "json.h"
#include "memory_model.h"
#include "model.h"

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
           TraceBuilder& trace, Allocator& alloc)
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
  bool sampled() const { return sampled_; }
  void begin(int layer, Phase phase) override {
    if (sampled_ || phase == Phase::recompute) t0_[size_t(layer) * kNumPhases + int(phase)] = clk_.us();
  }
  void end(int layer, Phase phase) override {
    if (!sampled_ && phase != Phase::recompute) return;
    const double t1 = clk_.us();
    const double t0 = t0_[size_t(layer) * kNumPhases + int(phase)];
    if (phase == Phase::recompute) recompute_us_ += t1 - t0;
    if (!sampled_) return;
    std::string s;
    Json j(s);
    j.begin_object().field("type", "span").field("rank", 0).field("step", step_);
    j.field("layer", layer).field("name", layers_[layer].name).field("phase", phase_name(phase));
    j.field("t0", t0).field("t1", t1).end_object();
    ev_.record(s);
    trace_.span({0, 1, layers_[layer].name + " " + phase_name(phase), phase_name(phase), t0, t1,
                 step_, layer});
    trace_.counter({0, "memory (MB)", t1,
                    {{"act", alloc_.category(Cat::act).live / 1e6},
                     {"workspace", alloc_.category(Cat::workspace).live / 1e6}}});
  }

 private:
  const RunClock& clk_;
  const std::vector<LayerInfo>& layers_;
  EventWriter& ev_;
  TraceBuilder& trace_;
  Allocator& alloc_;
  std::vector<double> t0_;
  int64_t step_ = 0;
  bool sampled_ = false;
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

 private:
  void fail(const Where& w, const std::string& message);
  int fail_before_start(const Where& w, const std::string& message, int exit_code);
  void write_run_record(const MemoryPrediction& pred, const Dataset& data, int threads);
  void write_layer_records(const MemoryPrediction& pred);
  void snapshot_end_of_forward();
  double evaluate(int64_t step);
  void finish(const char* status, const MemoryPrediction& pred);

  const Config& cfg_;
  const RunOptions& opt_;
  RunClock clk_;
  EventWriter ev_;
  TraceBuilder trace_;
  std::unique_ptr<Allocator> alloc_;
  std::unique_ptr<GPT<float>> model_;
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
};

// Reports an error on stderr ("file:line:col: error: ..." when a config key
// explains it) and as an error record, which says where in its own fields so
// the editor needs no parsing to place a diagnostic.
void Run::fail(const Where& w, const std::string& message) {
  const std::string line =
      w.line > 0 ? w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.col) + ": error: " + message
                 : "trainscope-train: error: " + message;
  std::fprintf(stderr, "%s\n", line.c_str());
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
  j.field("ranks", 1).field("device", "cpu").field("threads", threads).field("blas", blas_name());
  j.field("precision", cfg_.train.precision).field("checkpoint", pred.checkpoint);
  j.field("tokens_per_step",
          uint64_t(cfg_.train.batch) * cfg_.model.context * cfg_.train.accumulate);
  j.field("accumulate", cfg_.train.accumulate);
  j.key("data").begin_object();
  j.field("source", data.source()).field("description", data.describe());
  j.field("train_tokens", data.train_tokens()).field("val_tokens", data.val_tokens());
  if (data.entropy_floor() >= 0) j.field("entropy_floor", data.entropy_floor());
  j.end_object();
  j.key("layers").begin_array();
  for (const auto& l : model_->layers()) j.value(l.name);
  j.end_array();
  j.key("predicted").raw(memory_prediction_to_json(pred));
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
    data_->batch(true, uint64_t(i), B, T, inputs_.data(), targets_.data());
    total += model_->forward(inputs_.data(), targets_.data());
    model_->release_activations();
  }
  const double val = total / cfg_.train.eval_batches;
  std::string s;
  Json j(s);
  j.begin_object().field("type", "eval").field("step", step).field("val_loss", val).end_object();
  ev_.record(s);
  return val;
}

void Run::finish(const char* status, const MemoryPrediction& pred) {
  const Allocator& a = *alloc_;
  // Step 1 (first touches of every buffer) counts only when it is all there is.
  const double ms = step_ms_.empty() ? first_step_ms_ : median(step_ms_);
  const double tps =
      ms > 0 ? cfg_.train.batch * double(cfg_.model.context) * cfg_.train.accumulate / (ms / 1e3) : 0;
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
    if (!trace_.write(opt_.trace_path, {"steps", "layers"}, meta, err))
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
  std::printf("  speed    %.2f ms/step (median), %.0f tokens/s, %d threads, %s\n", ms, tps,
              omp_get_max_threads(), blas_name());
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

int Run::go() {
  // Installed first: a Ctrl-C at any point ends the run with its records.
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::string err;
  if (!ev_.open(opt_.events_path, err) || !can_create(opt_.trace_path, err) ||
      !can_create(opt_.summary_path, err)) {
    std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
    return kExitRuntime;
  }
  const TrainConfig& tc = cfg_.train;
  const int threads = tc.threads > 0 ? tc.threads : omp_get_num_procs();
  set_compute_threads(threads);

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
  const MemoryPrediction pred = predict_memory(cfg_);
  // A checkpoint budget no plan fits is a config error, reported at the key.
  if (!pred.error.empty())
    return fail_before_start(where_of(cfg_, "train.checkpoint"), pred.error, kExitUsage);
  try {
    alloc_.reset(new Allocator(cfg_.model.layers + 2));
    model_.reset(new GPT<float>(cfg_.model, B, *alloc_, tc.seed));
    model_->set_checkpoint(pred.segments);
    model_->set_precision(precision_from_name(tc.precision));
    inputs_ = Buffer<int32_t>(*alloc_, size_t(B) * T, 0, Cat::workspace);
    targets_ = Buffer<int32_t>(*alloc_, size_t(B) * T, 0, Cat::workspace);
  } catch (const std::bad_alloc&) {
    return fail_before_start(Where{}, "out of memory allocating the model (predicted peak " +
                                          human_bytes(pred.peak) + ")",
                             kExitRuntime);
  }
  write_run_record(pred, *data_, threads);
  if (opt_.log_steps)
    std::fprintf(stderr, "trainscope: %s | %.2fM params | %s | %d threads\n", cfg_.file.c_str(),
                 model_->num_params() / 1e6, data_->describe().c_str(), threads);

  Profiler prof(clk_, model_->layers(), ev_, trace_, *alloc_);
  const int log_every = std::max(1, tc.steps / 20);
  const char* status = "completed";
  for (int64_t step = 1; step <= tc.steps; ++step) {
    if (g_signal) {
      status = "interrupted";
      break;
    }
    const bool sampled = step == 1 || (tc.profile_every > 0 && step % tc.profile_every == 0);
    prof.set_step(step, sampled);
    const double t_start = clk_.us();
    double ph[4] = {0, 0, 0, 0};  // data, fwd, bwd, optim (ms), summed over micro-batches
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
    double loss = 0;
    double g_small_sq = 0;  // |gradient of one micro-batch|^2, for the noise scale
    model_->zero_grad();
    for (int m = 0; m < K; ++m) {
      data_->batch(false, uint64_t(step - 1) * K + m, B, T, inputs_.data(), targets_.data());
      lap(0);
      double micro_loss;
      try {
        micro_loss = model_->forward(inputs_.data(), targets_.data(), &prof);
        lap(1);
        if (step == 1 && m == 0) snapshot_end_of_forward();
        model_->backward(&prof, float(scaler_.scale() / K));
      } catch (const std::bad_alloc&) {
        fail(Where{}, "out of memory at step " + std::to_string(step) + " (predicted peak " +
                          human_bytes(pred.peak) + ")");
        finish("failed", pred);
        return kExitRuntime;
      }
      lap(2);
      loss += micro_loss / K;
      if (K > 1 && m == 0)
        g_small_sq = model_->grad_norm_sq() * double(K) * double(K) / (scaler_.scale() * scaler_.scale());
    }
    if (!std::isfinite(loss)) {
      fail(where_of(cfg_, "train.lr"),
           "the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at step " +
               std::to_string(step) + " (try a lower train.lr or train.grad_clip)");
      finish("failed", pred);
      return kExitRuntime;
    }
    if (step == opt_.inject_overflow_at) model_->grads(0)[0] = INFINITY;
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
      if (K > 1) noise_.add(g_small_sq, g_big_sq, B, double(B) * K);
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
    if (step > 1) {
      if (step_ms_.size() == kStepWindow) step_ms_.erase(step_ms_.begin());
      step_ms_.push_back(ms);
    } else {
      first_step_ms_ = ms;
    }
    if (step == 1) {
      first_loss_ = loss;
      write_layer_records(pred);
    }
    last_loss_ = loss;
    if (opt_.step_losses) opt_.step_losses->push_back(loss);
    steps_done_ = step;
    tokens_done_ += uint64_t(B) * T * K;
    if (sampled) trace_.span({0, 0, "step " + std::to_string(step), "step", t_start, clk_.us(), step, -1});

    std::string s;
    Json j(s);
    j.begin_object().field("type", "step").field("step", step).field("loss", loss);
    j.field("t0", t_start).field("t1", t_start + ms * 1e3);
    j.field("lr", lr).field("grad_norm", gnorm).field("ms", ms);
    j.field("tokens_per_s", B * double(T) * K / (ms / 1e3));
    if (K > 1) j.field("accumulate", K);
    if (scaler_.enabled()) j.field("loss_scale", used_scale).field("skipped", !apply);
    if (noise_.ready()) {
      j.field("noise_scale", noise_.b_simple());
      j.field("suggested_accumulate", noise_.suggested_accumulate(1, B, K));
    }
    j.key("phases").begin_object();
    // Backward's wall time includes the recompute; the two are reported apart.
    j.field("data", ph[0]).field("fwd", ph[1]).field("bwd", ph[2] - prof.recompute_ms());
    j.field("optim", ph[3]);
    if (!pred.segments.empty()) j.field("recompute", prof.recompute_ms());
    j.end_object();
    j.key("mem").begin_object();
    j.field("live_bytes", alloc_->total().live).field("peak_bytes", alloc_->total().peak);
    j.end_object();
    j.end_object();
    ev_.record(s);
    if (tc.eval_every > 0 && (step % tc.eval_every == 0 || step == tc.steps))
      last_val_ = evaluate(step);
    ev_.flush();
    if (opt_.log_steps && (step % log_every == 0 || step == 1 || step == tc.steps))
      std::fprintf(stderr, "step %5lld/%d | loss %.4f | lr %.2e | %.1f ms | %.0f tok/s\n",
                   (long long)step, tc.steps, loss, lr, ms, B * double(T) * K / (ms / 1e3));
  }
  if (opt_.final_params)
    for (int l = 0; l < model_->num_layers(); ++l)
      opt_.final_params->insert(opt_.final_params->end(), model_->params(l),
                                model_->params(l) + model_->layer_params(l));
  finish(status, pred);
  if (std::string(status) == "interrupted") return 128 + int(g_signal);
  return kExitOk;
}

}  // namespace

int run_training(const Config& cfg, const RunOptions& opt) {
  Run run(cfg, opt);
  return run.go();
}

}  // namespace ts
