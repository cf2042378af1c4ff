#include "train/data.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "base/files.h"
#include "base/rng.h"

namespace ts {

namespace {

// The most a data file may hold. A token file's header counts in 32 bits,
// so no file beyond that many tokens is needed; text is held as 16-bit
// tokens, one per byte, and past 1 GiB belongs in a token file.
constexpr uint64_t kMaxTokenFileBytes = 256 * sizeof(int32_t) + 2 * uint64_t(UINT32_MAX);
constexpr uint64_t kMaxTextBytes = uint64_t(1) << 30;

}  // namespace

// The synthetic task: a fixed vocabulary of "phrases" (P random token
// strings of 4..12 tokens, each starting with a distinct token) emitted one
// after another in random order. Inside a phrase the next token is certain
// once the model knows which phrase it is in, which takes looking back past
// the previous token (tokens recur across phrases); at a phrase boundary it
// is uniform over P. The best possible loss is therefore ln(P) / mean length
// nats per token, far below ln(vocab), and a model gets there only by using
// its context.
bool Dataset::open(const Config& cfg, DataError& err) {
  source_ = cfg.data.source;
  path_ = cfg.data.path;
  seed_ = cfg.data.seed;
  vocab_ = cfg.model.vocab;
  const int T = cfg.model.context;
  if (source_ == "synthetic") {
    Rng rng(seed_, 0x5EED);
    const int P = std::max(2, std::min(vocab_ * 3 / 4, 256));
    // Distinct first tokens: a random permutation's prefix.
    std::vector<int32_t> perm(vocab_);
    for (int i = 0; i < vocab_; ++i) perm[i] = i;
    for (int i = vocab_ - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
    double total_len = 0;
    for (int p = 0; p < P; ++p) {
      const int len = 4 + int(rng.below(9));
      std::vector<int32_t> ph(len);
      ph[0] = perm[p];
      for (int i = 1; i < len; ++i) ph[i] = int32_t(rng.below(vocab_));
      total_len += len;
      phrases_.push_back(std::move(ph));
    }
    entropy_ = std::log(double(P)) / (total_len / P);
    return true;
  }

  std::string bytes, e;
  const bool text = source_ == "text";
  if (!read_regular_file(path_, text ? kMaxTextBytes : kMaxTokenFileBytes,
                         text ? "byte-level text of more than 1 GiB belongs in a token file"
                              : "the most tokens a token file's header can count",
                         bytes, e)) {
    err.message = "cannot open '" + path_ + "': " + e;
    return false;
  }
  if (text) {
    tokens_.assign(reinterpret_cast<const unsigned char*>(bytes.data()),
                   reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size());
  } else {  // tokens: llm.c .bin
    if (bytes.size() < 256 * sizeof(int32_t)) {
      err.message = "'" + path_ + "' is not a token file: " + std::to_string(bytes.size()) +
                    " bytes, shorter than the 1024-byte header (truncated header)";
      return false;
    }
    int32_t header[256];
    std::memcpy(header, bytes.data(), sizeof header);
    if (header[0] != kTokenFileMagic) {
      err.message = "'" + path_ + "' has magic " + std::to_string(header[0]) + ", expected " +
                    std::to_string(kTokenFileMagic) + " (an llm.c token file)";
      return false;
    }
    if (header[1] != kTokenFileVersion) {
      err.message = "'" + path_ + "' is token file version " + std::to_string(header[1]) +
                    ", only version 1 (uint16 tokens) is supported";
      return false;
    }
    const uint64_t n = uint32_t(header[2]);
    const uint64_t have = (bytes.size() - sizeof header) / 2;
    if (n > have) {
      err.message = "'" + path_ + "' header says " + std::to_string(n) + " tokens but the file holds " +
                    std::to_string(have) + " (truncated file)";
      return false;
    }
    tokens_.resize(n);
    // A header of 0 tokens leaves data() null, and memcpy to null is undefined
    // even for 0 bytes (found by fuzz_data); the context check below refuses it.
    if (n) std::memcpy(tokens_.data(), bytes.data() + sizeof header, n * 2);
    for (uint64_t i = 0; i < n; ++i)
      if (tokens_[i] >= vocab_) {
        err.message = "'" + path_ + "' token " + std::to_string(i) + " is " +
                      std::to_string(tokens_[i]) + ", not below model.vocab " +
                      std::to_string(vocab_);
        return false;
      }
  }
  const uint64_t n = tokens_.size();
  val_n_ = uint64_t(std::floor(double(n) * cfg.data.val_fraction));
  train_n_ = n - val_n_;
  const uint64_t need = uint64_t(T) + 1;
  if (train_n_ < need) {
    err.message = "'" + path_ + "' has " + std::to_string(train_n_) +
                  " training tokens; a sequence of model.context " + std::to_string(T) +
                  " needs at least " + std::to_string(need);
    return false;
  }
  if (val_n_ > 0 && val_n_ < need) {
    err.message = "'" + path_ + "' leaves " + std::to_string(val_n_) +
                  " validation tokens (data.val_fraction " + std::to_string(cfg.data.val_fraction) +
                  "); a sequence needs " + std::to_string(need) +
                  ": raise val_fraction or set it to 0";
    return false;
  }
  return true;
}

void Dataset::synthetic_sequence(uint64_t a, uint64_t b, int n, int32_t* out) const {
  Rng rng(seed_, a, b);
  // Start somewhere inside a random phrase, as a window into an endless stream.
  const auto* ph = &phrases_[rng.below(phrases_.size())];
  size_t pos = rng.below(ph->size());
  for (int i = 0; i < n; ++i) {
    out[i] = (*ph)[pos];
    if (++pos == ph->size()) {
      ph = &phrases_[rng.below(phrases_.size())];
      pos = 0;
    }
  }
}

void Dataset::batch(bool val, uint64_t step, int B, int T, int32_t* inputs,
                    int32_t* targets) const {
  std::vector<int32_t> seq(size_t(T) + 1);
  for (int b = 0; b < B; ++b) {
    // Stream ids: split, then (step, row) — batches never depend on each other.
    const uint64_t row = step * uint64_t(B) + uint64_t(b);
    if (source_ == "synthetic") {
      synthetic_sequence(val ? 2 : 1, row, T + 1, seq.data());
    } else {
      const uint64_t base = val ? train_n_ : 0;
      const uint64_t span = (val ? val_n_ : train_n_) - uint64_t(T);
      Rng rng(seed_, val ? 4 : 3, row);
      const uint64_t off = base + rng.below(span);
      for (int t = 0; t <= T; ++t) seq[t] = tokens_[off + t];
    }
    std::memcpy(inputs + size_t(b) * T, seq.data(), size_t(T) * 4);
    std::memcpy(targets + size_t(b) * T, seq.data() + 1, size_t(T) * 4);
  }
}

std::string Dataset::describe() const {
  if (source_ == "synthetic") {
    char buf[160];
    std::snprintf(buf, sizeof buf, "synthetic phrase task: %zu phrases, best possible loss %.3f",
                  phrases_.size(), entropy_);
    return buf;
  }
  return source_ + " " + path_ + ": " + std::to_string(train_n_) + " train + " +
         std::to_string(val_n_) + " val tokens";
}

}  // namespace ts
