#include "train/step_state.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "train/snapshot.h"

namespace ts {

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

void NoiseScale::add(double g_small_sq, double g_big_sq, double b_small, double b_big) {
  const double g2 = (b_big * g_big_sq - b_small * g_small_sq) / (b_big - b_small);
  const double tr = (g_small_sq - g_big_sq) / (1.0 / b_small - 1.0 / b_big);
  g2_ = kBeta * g2_ + (1 - kBeta) * g2;
  tr_ = kBeta * tr_ + (1 - kBeta) * tr;
  ++n_;
}

int NoiseScale::suggested_accumulate(int ranks, int micro_batch, int current) const {
  const double k = std::round(b_simple() / (double(ranks) * micro_batch));
  return std::max(current, int(std::min(k, 65536.0)));
}

bool LossScaler::update(bool finite) {
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

std::map<std::string, std::string> snapshot_state(int64_t step, const Config& cfg, int ranks, const Progress& p,
                                                  const NoiseScale& noise, const LossScaler& scaler) {
  double g2, tr;
  int64_t n;
  noise.get(g2, tr, n);
  const TrainConfig& tc = cfg.train;
  return {
      {"steps", std::to_string(step)},
      {"tokens", std::to_string(p.tokens_done)},
      {"first_loss", hex_double(p.first_loss)},
      {"last_loss", hex_double(p.last_loss)},
      {"last_val_loss", hex_double(p.last_val_loss)},
      {"noise_g2", hex_double(g2)},
      {"noise_tr", hex_double(tr)},
      {"noise_n", std::to_string(n)},
      {"optimizer_steps", std::to_string(p.optimizer_steps)},
      {"skipped_steps", std::to_string(p.skipped_steps)},
      {"loss_scale", hex_double(scaler.scale())},
      {"loss_scale_clean", std::to_string(scaler.clean_steps())},
      // Batches are a pure function of (seed, split, row): the data
      // position and the RNG state are the next row and the seeds.
      {"data_next_row", std::to_string(uint64_t(step) * tc.accumulate * ranks * tc.batch)},
      {"data_seed", std::to_string(cfg.data.seed)},
      {"train_seed", std::to_string(tc.seed)},
  };
}

bool restore_state(const std::map<std::string, std::string>& st, int64_t step, Progress& p, NoiseScale& noise,
                   LossScaler& scaler, std::string& err) {
  // The values passed the snapshot's checksums, so a bad one was written
  // by something else than this trainer: refused by name, never cast
  // (a double outside an integer's range is undefined behaviour).
  auto bad = [&](const char* k, const std::string& v, const char* want) {
    err = "its state key '" + std::string(k) + "' is '" + v + "', not " + want;
    return false;
  };
  auto real = [&](const char* k, double d, double& out) {
    auto it = st.find(k);
    if (it == st.end()) return (out = d, true);  // older writers
    out = parse_double(it->second, NAN);
    return (std::isnan(out) && it->second != "nan") ? bad(k, it->second, "a number") : true;
  };
  // Counts are written as decimal integers and read back only as such.
  auto count = [&](const char* k, int64_t d, int64_t limit, int64_t& out) {
    auto it = st.find(k);
    if (it == st.end()) return (out = d, true);
    const std::string& v = it->second;
    errno = 0;
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != 0 || errno == ERANGE || n < 0 || n > limit)
      return bad(k, v, ("a count from 0 to " + std::to_string(limit)).c_str());
    out = n;
    return true;
  };
  constexpr int64_t kMax = int64_t(1) << 62;
  int64_t tokens = 0, noise_n = 0, optimizer_steps = 0, skipped = 0, clean = 0;
  double first = NAN, last = NAN, last_val = NAN, g2 = 0, tr = 0, scale = scaler.scale();
  if (!count("tokens", 0, kMax, tokens) || !count("noise_n", 0, kMax, noise_n) ||
      !count("optimizer_steps", step, kMax, optimizer_steps) || !count("skipped_steps", 0, kMax, skipped) ||
      !count("loss_scale_clean", 0, INT32_MAX, clean) || !real("first_loss", NAN, first) ||
      !real("last_loss", NAN, last) || !real("last_val_loss", NAN, last_val) || !real("noise_g2", 0, g2) ||
      !real("noise_tr", 0, tr) || !real("loss_scale", scaler.scale(), scale))
    return false;
  if (scaler.enabled() && !(std::isfinite(scale) && scale > 0))
    return bad("loss_scale", st.at("loss_scale"), "a finite positive scale");
  p.steps_done = step;
  p.tokens_done = uint64_t(tokens);
  p.first_loss = first;
  p.last_loss = last;
  p.last_val_loss = last_val;
  noise.set(g2, tr, noise_n);
  p.optimizer_steps = optimizer_steps;
  p.skipped_steps = skipped;
  if (scaler.enabled()) scaler.restore(scale, int(clean));
  return true;
}

}  // namespace ts
