// libFuzzer target: the training data a config names (`data text` or
// `data tokens`, an llm.c .bin), read as the trainer reads it.
//
// Input layout: byte 0 picks the source (even: tokens, odd: text) and the
// validation share (byte 0 / 2 % 5 tenths), byte 1 the context (1 + b % 64),
// bytes 2-3 the vocab (2 + (little-endian u16 % 65535)), in a config the
// parser must accept (configs it refuses never reach the reader); the rest is the
// file's bytes, written to a temporary file (the reader takes a path, and
// only regular files). A dataset that opens must give batches whose
// tokens are below the vocab and whose targets are the inputs shifted by one.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/config.h"
#include "harness.h"
#include "train/data.h"

namespace {

[[noreturn]] void broken(const char* what) { ts::fuzz::broken("fuzz_data", what); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = ts::fuzz::scratch_file("fuzz_data", "data.bin");
  if (size < 4) return 0;
  ts::fuzz::write_file("fuzz_data", path, data + 4, size - 4);

  // Through the parser, as the trainer does: the reader may assume what the
  // config rules promise (text data has vocab >= 256, ...).
  const std::string text = "[model]\nvocab " + std::to_string(2 + (uint32_t(data[2]) | uint32_t(data[3]) << 8) % 65535) +
                           "\ncontext " + std::to_string(1 + data[1] % 64) + "\nlayers 1\nwidth 4\nheads 1\n[data]\n" +
                           ((data[0] & 1) ? "text " : "tokens ") + path + "\nval_fraction " +
                           std::to_string((data[0] >> 1) % 5) + "e-1\n";
  const ts::ParseResult parsed = ts::parse_config(text, "fuzz.train");
  if (!parsed.ok()) return 0;
  const ts::Config& cfg = parsed.config;

  ts::Dataset ds;
  ts::DataError err;
  if (!ds.open(cfg, err)) {
    if (err.message.find(path) == std::string::npos) broken("a data error that does not name the file");
    return 0;
  }
  const int B = 2, T = cfg.model.context;
  std::vector<int32_t> in(size_t(B) * T), tgt(size_t(B) * T);
  for (int split = 0; split < (ds.val_tokens() ? 2 : 1); ++split) {
    for (uint64_t step = 0; step < 3; ++step) {
      ds.batch(split == 1, step, B, T, in.data(), tgt.data());
      for (int b = 0; b < B; ++b) {
        for (int t = 0; t < T; ++t) {
          const int32_t x = in[size_t(b) * T + t], y = tgt[size_t(b) * T + t];
          if (x < 0 || x >= cfg.model.vocab || y < 0 || y >= cfg.model.vocab) broken("a token outside the vocab");
          if (t + 1 < T && in[size_t(b) * T + t + 1] != y) broken("targets are not the inputs shifted by one");
        }
      }
    }
  }
  return 0;
}
