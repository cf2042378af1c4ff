// Training data: the built-in synthetic task, byte-level text, or llm.c's
// .bin token files, each with a held-out validation split.
//
// Batches are a pure function of (seed, split, step): the same config gives
// the same batches on every run, and (later) every rank can take its own
// shard without coordination.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace ts {

struct DataError {
  std::string message;  // names the data file and what is wrong with it
};

class Dataset {
 public:
  // Loads/validates the data the config names. On failure returns false and
  // fills err; never exits.
  bool open(const Config& cfg, DataError& err);

  // Fills inputs and targets (batch x context each; targets are inputs
  // shifted by one) for a step of a split ("train" | "val").
  void batch(bool val, uint64_t step, int batch, int context, int32_t* inputs,
             int32_t* targets) const;

  const std::string& source() const { return source_; }
  uint64_t train_tokens() const { return train_n_; }  // 0 for the synthetic task (unbounded)
  uint64_t val_tokens() const { return val_n_; }
  // The lowest achievable mean loss (nats/token) when known (synthetic task),
  // else a negative number.
  double entropy_floor() const { return entropy_; }
  std::string describe() const;  // one line for logs

 private:
  void synthetic_sequence(uint64_t seed_a, uint64_t seed_b, int n, int32_t* out) const;

  std::string source_;
  std::string path_;
  std::vector<uint16_t> tokens_;  // text/tokens: the whole file's tokens
  uint64_t train_n_ = 0, val_n_ = 0;
  uint64_t seed_ = 0;
  int vocab_ = 0;
  double entropy_ = -1;
  // Synthetic task: phrases of tokens, concatenated at random.
  std::vector<std::vector<int32_t>> phrases_;
};

// llm.c's token file header: 256 int32, [0] magic, [1] version, [2] count.
constexpr int32_t kTokenFileMagic = 20240520;
constexpr int32_t kTokenFileVersion = 1;

}  // namespace ts
