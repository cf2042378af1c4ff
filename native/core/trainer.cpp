#include "trainer.h"

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
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

// Where a data error points: the data key's value in the config.
std::string data_error_location(const Config& cfg) {
  auto it = cfg.where.find("data." + cfg.data.source);
  if (it == cfg.where.end() || it->second.line == 0) return cfg.file + ":1:1";
  return it->second.file + ":" + std::to_string(it->second.line) + ":" +
         std::to_string(it->second.value_col ? it->second.value_col : it->second.col);
}

class Run {
 public:
  Run(const Config& cfg, const RunOptions& opt) : cfg_(cfg), opt_(opt) {}
  int go();

 private:
  int fail(const std::string& located_message);
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
  std::vector<double> step_ms_;
  std::vector<uint64_t> act_end_of_forward_;  // per layer, measured on step 1
  double first_loss_ = NAN, last_loss_ = NAN, last_val_ = NAN;
  int64_t steps_done_ = 0;
  uint64_t tokens_done_ = 0;
};

int Run::fail(const std::string& located_message) {
  std::fprintf(stderr, "%s\n", located_message.c_str());
  std::string s;
  Json j(s);
  j.begin_object().field("type", "error").field("message", located_message).end_object();
  ev_.record(s);
  ev_.flush();
  return kExitRuntime;
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
  j.field("tokens_per_step", uint64_t(cfg_.train.batch) * cfg_.model.context);
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
  std::vector<double> timed(step_ms_.size() > 1 ? step_ms_.begin() + 1 : step_ms_.begin(),
                            step_ms_.end());
  const double ms = median(timed);
  const double tps = ms > 0 ? cfg_.train.batch * double(cfg_.model.context) / (ms / 1e3) : 0;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::string s;
  Json j(s);
  j.begin_object().field("type", "summary").field("status", status);
  j.field("steps", steps_done_).field("tokens", tokens_done_);
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

int Run::go() {
  std::string err;
  if (!ev_.open(opt_.events_path, err)) {
    std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
    return kExitRuntime;
  }
  const TrainConfig& tc = cfg_.train;
  const int threads = tc.threads > 0 ? tc.threads : omp_get_num_procs();
  set_compute_threads(threads);

  data_.reset(new Dataset);
  DataError derr;
  if (!data_->open(cfg_, derr))
    return fail(data_error_location(cfg_) + ": error: data." + cfg_.data.source + ": " +
                derr.message);
  if (tc.eval_every > 0 && data_->source() != "synthetic" && data_->val_tokens() == 0) {
    auto it = cfg_.where.find("train.eval_every");
    const std::string at = it != cfg_.where.end()
                               ? it->second.file + ":" + std::to_string(it->second.line) + ":" +
                                     std::to_string(it->second.value_col)
                               : cfg_.file + ":1:1";
    return fail(at + ": error: train.eval_every needs a held-out split, but data.val_fraction is 0");
  }

  const int B = tc.batch, T = cfg_.model.context;
  const MemoryPrediction pred = predict_memory(cfg_);
  if (!pred.error.empty()) {
    // A budget no plan fits: a config error, reported at the key.
    auto it = cfg_.where.find("train.checkpoint");
    const std::string at = it != cfg_.where.end()
                               ? it->second.file + ":" + std::to_string(it->second.line) + ":" +
                                     std::to_string(it->second.value_col)
                               : cfg_.file + ":1:1";
    fail(at + ": error: " + pred.error);
    return kExitUsage;
  }
  try {
    alloc_.reset(new Allocator(cfg_.model.layers + 2));
    model_.reset(new GPT<float>(cfg_.model, B, *alloc_, tc.seed));
    model_->set_checkpoint(pred.segments);
    inputs_ = Buffer<int32_t>(*alloc_, size_t(B) * T, 0, Cat::workspace);
    targets_ = Buffer<int32_t>(*alloc_, size_t(B) * T, 0, Cat::workspace);
  } catch (const std::bad_alloc&) {
    return fail("trainscope-train: error: out of memory allocating the model (predicted peak " +
                human_bytes(pred.peak) + ")");
  }
  write_run_record(pred, *data_, threads);
  if (opt_.log_steps)
    std::fprintf(stderr, "trainscope: %s | %.2fM params | %s | %d threads\n", cfg_.file.c_str(),
                 model_->num_params() / 1e6, data_->describe().c_str(), threads);

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
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
    double t0 = t_start;
    double ph[kNumPhases + 1];  // data, fwd, bwd, optim (ms)
    auto lap = [&](int i) {
      const double t = clk_.us();
      ph[i] = (t - t0) / 1e3;
      t0 = t;
    };
    data_->batch(false, uint64_t(step - 1), B, T, inputs_.data(), targets_.data());
    lap(0);
    double loss;
    try {
      loss = model_->forward(inputs_.data(), targets_.data(), &prof);
      lap(1);
      if (step == 1) snapshot_end_of_forward();
      model_->zero_grad();
      model_->backward(&prof);
    } catch (const std::bad_alloc&) {
      fail("trainscope-train: error: out of memory at step " + std::to_string(step) +
           " (predicted peak " + human_bytes(pred.peak) + ")");
      finish("failed", pred);
      return kExitRuntime;
    }
    lap(2);
    if (!std::isfinite(loss)) {
      fail("trainscope-train: error: the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                  " at step " + std::to_string(step) + " (try a lower train.lr or train.grad_clip)");
      finish("failed", pred);
      return kExitRuntime;
    }
    const double gnorm = std::sqrt(model_->grad_norm_sq());
    if (tc.grad_clip > 0 && gnorm > tc.grad_clip) model_->scale_grads(float(tc.grad_clip / gnorm));
    const double lr = lr_at(tc, step);
    model_->adamw_step(lr, tc.beta1, tc.beta2, tc.eps, tc.weight_decay, step, &prof);
    lap(3);
    const double ms = (clk_.us() - t_start) / 1e3;
    step_ms_.push_back(ms);
    if (step == 1) {
      first_loss_ = loss;
      write_layer_records(pred);
    }
    last_loss_ = loss;
    if (opt_.step_losses) opt_.step_losses->push_back(loss);
    steps_done_ = step;
    tokens_done_ += uint64_t(B) * T;
    if (sampled) trace_.span({0, 0, "step " + std::to_string(step), "step", t_start, clk_.us(), step, -1});

    std::string s;
    Json j(s);
    j.begin_object().field("type", "step").field("step", step).field("loss", loss);
    j.field("lr", lr).field("grad_norm", gnorm).field("ms", ms);
    j.field("tokens_per_s", B * double(T) / (ms / 1e3));
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
                   (long long)step, tc.steps, loss, lr, ms, B * double(T) / (ms / 1e3));
  }
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
