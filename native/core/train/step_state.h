// What an optimizer step carries from one step to the next besides the
// model: the learning-rate schedule, fp16's dynamic loss scale, and the
// gradient noise scale behind the accumulation suggestion. Snapshots save
// and restore the last two.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>

#include "config/config.h"

namespace ts {

// train.lr at an optimizer step (1-based): cosine (default), constant or
// onecycle, after train.warmup steps of linear warm-up.
double lr_at(const TrainConfig& t, int64_t step);

// The gradient noise scale of McCandlish et al. (2018), B_simple =
// tr(Sigma) / |G|^2, from the squared norms of a small-batch gradient (one
// micro-batch, B_s sequences) and a big-batch one (the accumulated step,
// B_b): |G|^2 ~ (B_b|G_b|^2 - B_s|G_s|^2) / (B_b - B_s) and tr(Sigma) ~
// (|G_s|^2 - |G_b|^2) / (1/B_s - 1/B_b). Each estimate is averaged over
// steps (bias-corrected EMA, beta 0.99) before the ratio: the per-step
// estimates are far too noisy on their own.
class NoiseScale {
 public:
  void add(double g_small_sq, double g_big_sq, double b_small, double b_big);
  // After a few steps, and only while the averaged |G|^2 is positive.
  bool ready() const { return n_ >= 10 && g2_ > 0 && tr_ > 0; }
  double b_simple() const { return tr_ / g2_; }  // the bias corrections cancel in the ratio
  // K ~ B_simple / (ranks * micro-batch), never below the current K.
  int suggested_accumulate(int ranks, int micro_batch, int current) const;

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
  bool update(bool finite);

  int clean_steps() const { return clean_; }
  void restore(double scale, int clean) { scale_ = scale; clean_ = clean; }

 private:
  static constexpr int kGrowthInterval = 2000;
  bool enabled_;
  double scale_;
  int clean_ = 0;
};

// How far the run has come: what the summary reports and a snapshot keeps.
struct Progress {
  int64_t steps_done = 0;
  uint64_t tokens_done = 0;
  double first_loss = NAN, last_loss = NAN, last_val_loss = NAN;
  int64_t optimizer_steps = 0, skipped_steps = 0;
};

// The trainer's state in a snapshot after `step` (train.save_every), and
// back (--resume): progress, the two averages above, and the data position
// and seeds. Doubles travel as hex floats, so a resumed run is bitwise the
// run that never stopped. restore_state: false + err naming the first key
// whose value this trainer could not have written.
std::map<std::string, std::string> snapshot_state(int64_t step, const Config& cfg, int ranks, const Progress& p,
                                                  const NoiseScale& noise, const LossScaler& scaler);
bool restore_state(const std::map<std::string, std::string>& st, int64_t step, Progress& p, NoiseScale& noise,
                   LossScaler& scaler, std::string& err);

}  // namespace ts
