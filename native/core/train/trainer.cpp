// The training run, read top to bottom: go() sets up (outputs, device,
// data, model, the data-parallel world), then loops over steps, each one
// data -> forward -> backward (gradients all-reduced bucket by bucket on
// several ranks) -> loss scale and clipping -> AdamW -> its records, and
// ends with the summary. The records' fields are spelled in records.cpp;
// the step state (schedule, loss scale, noise scale) lives in
// step_state.cpp, the per-layer spans in profiler.cpp.
#include "train/trainer.h"

#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "base/bytes.h"
#include "base/json.h"
#include "model/gemm.h"
#include "train/run.h"
#include "train/snapshot.h"

namespace ts {

volatile std::sig_atomic_t g_signal = 0;

namespace {

extern "C" void on_signal(int s) { g_signal = s; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

// ---------------------------------------------------------------------------
// The run

int Run::go() {
  // Installed first: a Ctrl-C at any point ends the run with its records.
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (const int rc = set_up(); rc >= 0) return rc;
  const TrainConfig& tc = cfg_.train;
  sink_.reset(new TraceSink(trace_, world_.rank));
  Profiler prof(clk_, model_->layers(), ev_, *sink_, *alloc_);
  prof.set_timed_by_device(cuda_ != nullptr);
  keep_abort_records();
  const char* status = "completed";
  for (int64_t s = first_step_; s <= tc.steps; ++s) {
    if (stop_requested()) {
      status = "interrupted";
      break;
    }
    if (const int rc = step(s, prof); rc >= 0) return rc;
    if (tc.eval_every > 0 && (s % tc.eval_every == 0 || s == tc.steps)) {
      // The step's records reach the disk before an evaluation that may be long.
      if (!ev_.flush()) return fail_during_run(Where{}, stream_error(), true);
      double val = 0;
      if (!evaluate(s, val)) {
        status = "interrupted";
        break;
      }
      progress_.last_val_loss = val;
    }
    std::string err;
    // A snapshot that could not be saved is a run that cannot be resumed:
    // the run fails rather than carry on as if it could.
    if (tc.save_every > 0 && s % tc.save_every == 0 && !save_snapshot(s, err))
      return fail_during_run(Where{}, err, true);
    // The first failed write of the stream ends the run (this rank's alone).
    if (!ev_.flush()) return fail_during_run(Where{}, stream_error(), true);
    keep_abort_records();
  }
  // The last step is saved too (also when interrupted): a run can resume
  // from wherever it stopped.
  std::string err;
  if (tc.save_every > 0 && progress_.steps_done > last_saved_ && !save_snapshot(progress_.steps_done, err))
    return fail_during_run(Where{}, err, true);
  if (opt_.final_params) {
    model_->pull_state();
    for (int l = 0; l < model_->num_layers(); ++l)
      opt_.final_params->insert(opt_.final_params->end(), model_->params(l),
                                model_->params(l) + model_->layer_params(l));
  }
  if (!finish(status)) return kExitRuntime;
  if (std::string(status) == "interrupted") return 128 + (stop_signal_ ? stop_signal_ : int(g_signal));
  return kExitOk;
}

// ---------------------------------------------------------------------------
// One step

int Run::step(int64_t step, Profiler& prof) {
  const TrainConfig& tc = cfg_.train;
  const int B = tc.batch, T = cfg_.model.context, K = tc.accumulate, R = world_.size;
  const bool sampled = step == first_step_ || (tc.profile_every > 0 && step % tc.profile_every == 0);
  prof.set_step(step, sampled);
  const double t_start = clk_.us();
  PhaseTimes ph;
  double loss = 0;
  double g_small_sq = 0;  // |gradient of one micro-batch|^2, for the noise scale
  if (const int rc = micro_batches(step, prof, ph, loss, g_small_sq); rc >= 0) return rc;
  const double t_wait = clk_.us();
  if (reducer_) {
    sync_step(loss, g_small_sq, K);
    ph.comm += (clk_.us() - t_wait) / 1e3;
  }
  const double t_wait_end = clk_.us();
  if (!std::isfinite(loss))
    return fail_during_run(where_of(cfg_, "train.lr"),
                           "the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") + " at step " +
                               std::to_string(step) + " (try a lower train.lr or train.grad_clip)",
                           false);

  // The update: fp16 skips a step whose gradients overflowed anywhere (the
  // decision is taken on the final gradients, so every rank agrees) and
  // halves the scale; the others fail on non-finite gradients.
  if (step == opt_.inject_overflow_at) model_->poison_grad();
  const double used_scale = scaler_.scale();
  const double g_raw_sq = model_->grad_norm_sq();
  const bool finite = std::isfinite(g_raw_sq);
  const bool apply = scaler_.update(finite);
  if (!finite && !scaler_.enabled())
    return fail_during_run(where_of(cfg_, "train.lr"),
                           "the gradients are not finite at step " + std::to_string(step) +
                               " (try a lower train.lr or train.grad_clip)",
                           false);
  const double g_big_sq = g_raw_sq / (used_scale * used_scale);
  const double gnorm = std::sqrt(g_big_sq);
  const double lr = lr_at(tc, step);
  if (apply) {
    if (K > 1 || R > 1) noise_.add(g_small_sq, g_big_sq, B, double(B) * K * R);
    // Unscaling and clipping in one pass over the gradients.
    const double clip = tc.grad_clip > 0 && gnorm > tc.grad_clip ? tc.grad_clip / gnorm : 1.0;
    if (clip != 1.0 || used_scale != 1.0) model_->scale_grads(float(clip / used_scale));
    ++progress_.optimizer_steps;
    model_->adamw_step(lr, tc.beta1, tc.beta2, tc.eps, tc.weight_decay, progress_.optimizer_steps, &prof);
  } else {
    ++progress_.skipped_steps;
  }
  const double t_end = clk_.us();
  ph.optim += (t_end - t_wait_end) / 1e3;

  // Bookkeeping and the step's records.
  const double ms = (t_end - t_start) / 1e3;
  // The median covers the last kStepWindow steps: bounded memory on runs
  // of millions of steps, and what a reader wants (the current speed).
  if (step > first_step_) {
    if (step_ms_.size() == kStepWindow) step_ms_.erase(step_ms_.begin());
    step_ms_.push_back(ms);
  } else {
    first_step_ms_ = ms;
  }
  if (step == first_step_) {
    if (first_step_ == 1) progress_.first_loss = loss;
    write_layer_records();
  }
  progress_.last_loss = loss;
  if (opt_.step_losses) opt_.step_losses->push_back(loss);
  progress_.steps_done = step;
  progress_.tokens_done += uint64_t(B) * T * K * R;
  if (sampled) sink_->span({world_.rank, 0, "step " + std::to_string(step), "step", t_start, clk_.us(), step, -1});

  StepFacts f;
  f.step = step;
  if (R > 1) f.rank = world_.rank;
  f.loss = loss;
  f.t0 = t_start;
  f.t1 = t_start + ms * 1e3;
  f.lr = lr;
  f.grad_norm = gnorm;
  f.ms = ms;
  f.tokens_per_s = B * double(T) * K * R / (ms / 1e3);
  f.accumulate = K;
  f.loss_scaled = scaler_.enabled();
  f.loss_scale = used_scale;
  f.skipped = !apply;
  f.noise_ready = noise_.ready();
  if (f.noise_ready) {
    f.noise_scale = noise_.b_simple();
    f.suggested_accumulate = noise_.suggested_accumulate(R, B, K);
  }
  // Backward's wall time includes the recompute; the two are reported apart.
  f.data_ms = ph.data;
  f.fwd_ms = ph.fwd;
  f.bwd_ms = ph.bwd - prof.recompute_ms();
  f.optim_ms = ph.optim;
  f.has_comm = reducer_ != nullptr;
  f.comm_ms = ph.comm;
  f.has_recompute = !pred_.segments.empty();
  f.recompute_ms = prof.recompute_ms();
  if (reducer_) f.comm_json = comm_step(step, sampled, t_start, t_wait, t_wait_end, f.t1);
  f.live_bytes = alloc_->total().live;
  f.peak_bytes = alloc_->total().peak;
  ev_.record(step_record(f));
  const int log_every = std::max(1, tc.steps / 20);
  if (opt_.log_steps && (step % log_every == 0 || step == 1 || step == tc.steps))
    std::fprintf(stderr, "step %5lld/%d | loss %.4f | lr %.2e | %.1f ms | %.0f tok/s\n", (long long)step,
                 tc.steps, loss, lr, ms, f.tokens_per_s);
  return -1;
}

// K micro-batches of `batch` sequences per optimizer step: micro-batch m of
// step s reads the rows batch K*batch would have read at step s, and each
// backward is scaled by 1/K, so the summed gradient is the mean over all
// K*batch sequences.
int Run::micro_batches(int64_t step, Profiler& prof, PhaseTimes& ph, double& loss, double& g_small_sq) {
  const int B = cfg_.train.batch, T = cfg_.model.context, K = cfg_.train.accumulate, R = world_.size;
  double t0 = clk_.us();
  auto lap = [&](double& phase) {
    const double t = clk_.us();
    phase += (t - t0) / 1e3;
    t0 = t;
  };
  model_->zero_grad();
  for (int m = 0; m < K; ++m) {
    // With R ranks, rank r reads rows [r*B, (r+1)*B) of what one rank with
    // batch R*B would read: R ranks x B train like one rank x R*B.
    data_->batch(false, (uint64_t(step - 1) * K + m) * R + world_.rank, B, T, inputs_.data(), targets_.data());
    lap(ph.data);
    double micro_loss;
    try {
      micro_loss = model_->forward(inputs_.data(), targets_.data(), &prof);
      lap(ph.fwd);
      if (step == first_step_ && m == 0) measure_end_of_forward();
      // The last micro-batch's backward all-reduces each bucket of
      // gradients as soon as backward has finished it.
      if (reducer_ && m == K - 1) reducer_->arm(step, K == 1);
      model_->backward(reducer_ ? reducer_->observer(&prof) : &prof, float(scaler_.scale() / K));
    } catch (const std::bad_alloc&) {
      return fail_during_run(Where{}, std::string("out of ") + (cuda_ ? "GPU " : "") + "memory at step " +
                                          std::to_string(step) + " (predicted peak " + bytes_text(pred_.peak) + ")",
                             true);
    } catch (const std::runtime_error& e) {
      // A device error (the CUDA backend's checks throw): the run ends
      // with its records, like any other failure.
      return fail_during_run(Where{}, "at step " + std::to_string(step) + ": " + e.what(), true);
    }
    lap(ph.bwd);
    loss += micro_loss / K;
    if (K > 1 && m == 0)
      g_small_sq = model_->grad_norm_sq() * double(K) * double(K) / (scaler_.scale() * scaler_.scale());
  }
  return -1;
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
// returns the step record's "comm" object: communication time, and the
// part of it no compute covered (the step minus the wait for the buckets).
std::string Run::comm_step(int64_t step, bool sampled, double t_start, double t_wait0, double t_wait1,
                           double t_end) {
  std::vector<Interval> comm;
  for (const CommRecord& c : reducer_->records()) {
    ev_.record(comm_record(world_.rank, world_.size, c));
    if (sampled)
      sink_->span({world_.rank, 2, "allreduce bucket " + std::to_string(c.bucket), "comm", c.t0, c.t1, step, -1});
    comm.push_back({c.t0, c.t1});
  }
  return step_comm_json(union_length(comm), uncovered_length(comm, {{t_start, t_wait0}, {t_wait1, t_end}}));
}

// A stop signal between evaluation batches (agreed across ranks, as each
// step agrees on it) abandons the evaluation without a record, and the loop
// then ends the run as interrupted: an evaluation of many batches would
// otherwise outlast the editor's patience (it kills the trainer 5 s after
// asking it to stop) and lose the summary.
bool Run::evaluate(int64_t step, double& val) {
  const int B = cfg_.train.batch, T = cfg_.model.context;
  double total = 0;
  for (int i = 0; i < cfg_.train.eval_batches; ++i) {
    if (eval_stop_agreed()) return false;
    // Validation batches are the same every evaluation, so curves compare.
    // Rank r takes rows [r*B, (r+1)*B) of what one rank with R*B would read.
    data_->batch(true, uint64_t(i) * world_.size + world_.rank, B, T, inputs_.data(), targets_.data());
    total += model_->forward(inputs_.data(), targets_.data(), nullptr);
    model_->release_activations();
  }
  std::string err;
  if (!world_allreduce_sum(world_, &total, 1, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  val = total / cfg_.train.eval_batches / world_.size;
  if (world_.rank == 0) ev_.record(eval_record(step, val));
  return true;
}

bool Run::eval_stop_agreed() {
  if (world_.size < 2) return g_signal != 0;
  double sig = double(g_signal);
  std::string err;
  if (!world_allreduce_max(world_, &sig, 1, err))
    world_abort(world_, 1, "trainscope-train: error: rank " + std::to_string(world_.rank) + ": " + err);
  stop_signal_ = int(sig);
  return stop_signal_ != 0;
}

// train.save_every: rank 0 writes the model, AdamW's moments and the
// trainer's state (data position, RNG seeds, loss scale, noise scale).
bool Run::save_snapshot(int64_t step, std::string& err) {
  last_saved_ = step;
  if (world_.rank != 0) return true;
  const auto st = snapshot_state(step, cfg_, world_.size, progress_, noise_, scaler_);
  const double t0 = clk_.us();
  model_->pull_state();
  if (!ts::save_snapshot(opt_.snapshot_path, cfg_, *model_, step, st, err)) {
    err = "snapshot at step " + std::to_string(step) + " not saved: " + err;
    return false;
  }
  uint64_t bytes = 0;
  for (int l = 0; l < model_->num_layers(); ++l) bytes += 3 * model_->layer_params(l) * sizeof(float);
  ev_.record(save_record(step, opt_.snapshot_path, bytes, (clk_.us() - t0) / 1e3));
  return true;
}

// The stream's write error, marked as reported: the caller reports it, and
// finish() does not again.
std::string Run::stream_error() {
  stream_error_reported_ = true;
  return ev_.error();
}

// ---------------------------------------------------------------------------
// Records and the end of the run

// Reports an error on stderr ("file:line:col: error: ..." when a config key
// explains it) and as an error record, which says where in its own fields so
// the editor needs no parsing to place a diagnostic.
void Run::fail(const Where& w, const std::string& message) {
  // Errors every rank meets alike (after start-up) are printed by rank 0 only.
  if (world_.rank == 0 || !agreed_ || local_failure_)
    std::fprintf(stderr, "%s%s\n", error_prefix(w).c_str(), message.c_str());
  ev_.record(error_record(message, w, progress_.steps_done > 0 ? progress_.steps_done + 1 : 0));
  ev_.flush();
}

// A run that fails before its first step still ends its stream with a
// summary, so readers always find one.
int Run::fail_before_start(const Where& w, const std::string& message, int exit_code) {
  fail(w, message);
  const std::string s = failed_summary_record(clk_.us() / 1e6);
  ev_.record(s);
  std::string err;
  if (!opt_.summary_path.empty() && !write_file_atomic(opt_.summary_path, s + "\n", err))
    std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
  close_stream();
  return exit_code;
}

// A step that fails ends the run with its records. `local`: this rank
// failed alone (out of memory, a device error), so settle() ends the job.
int Run::fail_during_run(const Where& w, const std::string& message, bool local) {
  if (local) local_failure_ = true;
  fail(w, message);
  finish("failed");
  return kExitRuntime;
}

void Run::write_run_record() {
  if (world_.rank != 0) return;  // other ranks' files hold their spans, comm and steps only
  RunFacts f;
  f.cfg = &cfg_;
  f.device = &device_;
  f.world = &world_;
  f.data = data_.get();
  f.layers = &model_->layers();
  f.pred = &pred_;
  f.params = uint64_t(model_->num_params());
  f.threads = threads_;
  f.clock_offsets_us = clock_offsets_;
  if (world_.size > 1) {
    f.comm_backend = backend_->name();
    f.buckets = uint64_t(reducer_->buckets().size());
  }
  f.resumed_from = resumed_from_;
  f.resumed_step = first_step_ - 1;
  ev_.record(run_record(f));
  ev_.flush();
}

void Run::measure_end_of_forward() {
  act_end_of_forward_.clear();
  for (int l = 0; l < model_->num_layers(); ++l) act_end_of_forward_.push_back(alloc_->layer(l, Cat::act).live);
}

// One record per layer, measured by the allocator after the first step
// (activations and workspace have then reached their per-step peak),
// beside the memory model's prediction. `act` is what the layer holds for
// backward when the forward pass ends (what checkpointing shrinks);
// `act_peak` its largest live activation bytes (its forward or recompute).
void Run::write_layer_records() {
  if (world_.rank != 0) return;
  const Allocator& a = *alloc_;
  for (int l = 0; l < model_->num_layers(); ++l) {
    LayerBytesMeasured m;
    m.param = a.layer(l, Cat::param).peak;
    m.grad = a.layer(l, Cat::grad).peak;
    m.optim = a.layer(l, Cat::optim).peak;
    m.act = act_end_of_forward_[l];
    m.act_peak = a.layer(l, Cat::act).peak;
    m.workspace = a.layer(l, Cat::workspace).peak;
    m.comm = a.layer(l, Cat::comm).peak;
    ev_.record(layer_record(l, model_->layers()[l], m, pred_.layers[l]));
  }
}

bool Run::finish(const char* status) {
  // Every rank's trace events go to rank 0's trace; other ranks write no
  // summary.
  if (world_.size > 1) {
    std::string err;
    if (sink_ && agreed_ && !local_failure_ && !sink_->gather(world_, err))
      std::fprintf(stderr, "trainscope-train: warning: rank %d: %s\n", world_.rank, err.c_str());
    if (world_.rank != 0) return close_stream();
  }
  // An output that cannot be written fails the run: its error goes to
  // stderr and the stream, and the summary says "failed". The trace comes
  // first so the summary can say so.
  bool ok = true;
  std::string err;
  if (!opt_.trace_path.empty()) {
    std::string meta;
    Json m(meta);
    m.begin_object().field("trainscope", TRAINSCOPE_VERSION).field("config_file", cfg_.file);
    m.field("schema", kEventSchema).end_object();
    if (!trace_.write(opt_.trace_path, {"steps", "layers", "comm"}, meta, err)) {
      fail(Where{}, err);
      ok = false;
    }
  }
  double ms = 0, tps = 0;
  std::string s = summary_json(ok ? status : "failed", ms, tps);
  if (!opt_.summary_path.empty() && !write_file_atomic(opt_.summary_path, s + "\n", err)) {
    fail(Where{}, err);
    ok = false;
    s = summary_json("failed", ms, tps);
  }
  ev_.record(s);
  if (!close_stream()) ok = false;
  print_summary(ok ? status : "failed", ms, tps);
  if (!opt_.report_command.empty() && !opt_.events_path.empty())
    std::printf("  report   %s\n", opt_.report_command.c_str());
  std::fflush(stdout);
  return ok;
}

// The summary record as of now; `ms` and `tps` are its median step time
// and throughput.
std::string Run::summary_json(const char* status, double& ms, double& tps) const {
  const TrainConfig& tc = cfg_.train;
  // Step 1 (first touches of every buffer) counts only when it is all there is.
  ms = step_ms_.empty() ? first_step_ms_ : median(step_ms_);
  tps = ms > 0 ? tc.batch * double(cfg_.model.context) * tc.accumulate * world_.size / (ms / 1e3) : 0;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  SummaryFacts f;
  f.status = status;
  f.steps = progress_.steps_done;
  f.tokens = progress_.tokens_done;
  f.loss_scaled = scaler_.enabled();
  f.skipped_steps = progress_.skipped_steps;
  f.loss_scale = scaler_.scale();
  f.first_loss = progress_.first_loss;
  f.final_loss = progress_.last_loss;
  f.final_val_loss = progress_.last_val_loss;
  f.ms_per_step = ms;
  f.tokens_per_s = tps;
  f.wall_s = clk_.us() / 1e6;
  f.alloc = alloc_.get();
  f.pred = &pred_;
  f.rss_peak_bytes = uint64_t(ru.ru_maxrss) * 1024;
  return summary_record(f);
}

// Flushes, syncs and closes the stream; a failure not yet reported is.
bool Run::close_stream() {
  if (ev_.close()) return true;
  if (!stream_error_reported_) std::fprintf(stderr, "trainscope-train: error: %s\n", stream_error().c_str());
  return false;
}

void Run::keep_abort_records() {
  if (world_.size < 2) return;  // only a data-parallel job is ended by world_abort
  double ms = 0, tps = 0;
  std::string s = summary_json("failed", ms, tps);
  std::lock_guard<std::mutex> lock(abort_mu_);
  abort_summary_.swap(s);
  abort_step_ = progress_.steps_done;
}

// On the aborting thread, while the main thread may be anywhere (blocked in
// a collective, usually, or flushing the stream): the records are appended
// after the last finished step's (the stream is flushed at every step's
// end, and a flush in flight completes first) and the stream is sealed, so
// no record the main thread makes afterwards lands after the summary;
// what the writer holds of the unfinished step is dropped, as a failed
// step's records are. (Seen once in CI without the seal: comm records of
// the step that hung, flushed after the summary.)
void Run::write_abort_records(const std::string& message) {
  std::string summary;
  int64_t step = 0;
  {
    std::lock_guard<std::mutex> lock(abort_mu_);
    summary = abort_summary_;
    step = abort_step_;
  }
  if (summary.empty()) return;
  const std::string prefix = "trainscope-train: error: ";
  const std::string text = message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
  const std::string lines = error_record(text, Where{}, step + 1) + "\n" + summary + "\n";
  ev_.append_final(lines);
  std::string err;
  if (!opt_.summary_path.empty()) write_file_atomic(opt_.summary_path, summary + "\n", err);
}

// The human summary, on stdout.
void Run::print_summary(const char* status, double ms, double tps) const {
  const Allocator& a = *alloc_;
  const Progress& p = progress_;
  std::printf("\nTrainScope run %s: %s\n", status, cfg_.file.c_str());
  std::printf("  model    gpt, %d layers, width %d, %d heads, %.2fM parameters\n", cfg_.model.layers,
              cfg_.model.width, cfg_.model.heads, model_->num_params() / 1e6);
  std::printf("  data     %s\n", data_->describe().c_str());
  if (p.steps_done > 0) {
    std::printf("  loss     %.4f -> %.4f over %lld steps (ln(vocab) = %.3f", p.first_loss, p.last_loss,
                (long long)p.steps_done, std::log(double(cfg_.model.vocab)));
    if (data_->entropy_floor() >= 0) std::printf(", best possible %.3f", data_->entropy_floor());
    std::printf(")\n");
  }
  if (!std::isnan(p.last_val_loss)) std::printf("  val loss %.4f\n", p.last_val_loss);
  if (device_.type == "cuda")
    std::printf("  speed    %.2f ms/step (median), %.0f tokens/s, %s (cuBLAS)\n", ms, tps, device_.name.c_str());
  else
    std::printf("  speed    %.2f ms/step (median), %.0f tokens/s, %d threads, %s\n", ms, tps,
                omp_get_max_threads(), blas_name());
  if (!device_.note.empty()) std::printf("  device   %s\n", device_.note.c_str());
  std::string by_cat;
  for (int c = 0; c < kNumCats; ++c)
    if (a.category(Cat(c)).peak)
      by_cat += std::string(by_cat.empty() ? " " : ", ") + cat_name(Cat(c)) + " " +
                bytes_text(a.category(Cat(c)).peak);
  std::printf("  memory   peak %s (predicted %s):%s\n", bytes_text(a.total().peak).c_str(),
              bytes_text(pred_.peak).c_str(), by_cat.c_str());
  std::printf("  top layers by memory:\n");
  std::vector<std::pair<uint64_t, int>> by;
  for (int l = 0; l < model_->num_layers(); ++l) {
    uint64_t t = 0;
    for (int c = 0; c < kNumCats; ++c) t += a.layer(l, Cat(c)).peak;
    by.push_back({t, l});
  }
  std::sort(by.begin(), by.end(), [](auto& x, auto& y) { return x.first > y.first; });
  // Every part of a layer's total, the zero ones left out, so the line adds up.
  for (size_t i = 0; i < by.size() && i < 5; ++i) {
    const int l = by[i].second;
    std::string parts;
    for (int c = 0; c < kNumCats; ++c)
      if (a.layer(l, Cat(c)).peak)
        parts += std::string(parts.empty() ? "" : ", ") + cat_name(Cat(c)) + " " + bytes_text(a.layer(l, Cat(c)).peak);
    std::printf("    %-10s %10s  (%s)\n", model_->layers()[l].name.c_str(), bytes_text(by[i].first).c_str(),
                parts.c_str());
  }
  std::fflush(stdout);
}

int run_training(const Config& cfg, const RunOptions& opt) {
  Run run(cfg, opt);
  const int rc = run.go();
  return run.settle(rc);
}

}  // namespace ts
