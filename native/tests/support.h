// Shared by the native tests (not a test itself: CMake builds test_*.cpp):
// the checks of check.h, training the bundled example through run_training as
// the CLI does, and one forward/backward step of a model under a plan.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "base/rng.h"
#include "check.h"
#include "config/config.h"
#include "model/alloc.h"
#include "model/model.h"
#include "plan/memory_model.h"
#include "train/trainer.h"

namespace ts::test {

// A file the test writes, in its build folder (CMake passes it), so the
// sanitizer build (native/build-asan) and the normal one never share files.
inline std::string build_file(const std::string& name) { return std::string(TRAINSCOPE_TEST_BUILD_DIR) + "/" + name; }

struct ExampleRun {
  std::vector<double> losses;   // every step's loss, full precision
  std::vector<float> params;    // after the last step, when asked for
  int exit_code = -1;
};

// Where a run writes and what it resumes from (RunOptions' paths).
struct RunFiles {
  std::string events;      // "" = no stream
  std::string snapshot;    // train.save_every's file ("" = beside the stream)
  std::string resume;      // --resume: a run folder or snapshot file
};

// examples/tiny-gpt.train with overrides; the human summary on stdout is
// silenced (the tests read losses, records and parameters instead).
inline ExampleRun train_example(const std::vector<std::string>& overrides, const RunFiles& files,
                                bool want_params = false, int64_t inject_overflow_at = 0) {
  ExampleRun run;
  ParseResult pr = load_config("examples/tiny-gpt.train", overrides);
  if (!pr.ok()) {
    for (auto& d : pr.diagnostics) std::printf("%s\n", d.format().c_str());
    ++failures;
    return run;
  }
  RunOptions opt;
  opt.log_steps = false;
  opt.events_path = files.events;
  opt.snapshot_path = files.snapshot;
  opt.resume_path = files.resume;
  opt.step_losses = &run.losses;
  opt.final_params = want_params ? &run.params : nullptr;
  opt.inject_overflow_at = inject_overflow_at;
  std::fflush(stdout);
  std::FILE* keep = stdout;
  stdout = std::fopen("/dev/null", "w");
  run.exit_code = run_training(pr.config, opt);
  std::fclose(stdout);
  stdout = keep;
  return run;
}

inline ExampleRun train_example(const std::vector<std::string>& overrides,
                                const std::string& events = "", bool want_params = false,
                                int64_t inject_overflow_at = 0) {
  return train_example(overrides, RunFiles{events, "", ""}, want_params, inject_overflow_at);
}

// A small model (6 blocks) that still has every part of the real one: the
// checkpoint and precision tests step it under each plan.
inline Config small_model_config() {
  Config cfg;
  cfg.model.vocab = 40;
  cfg.model.context = 16;
  cfg.model.layers = 6;
  cfg.model.width = 32;
  cfg.model.heads = 4;
  cfg.train.batch = 3;
  return cfg;
}

struct StepResult {
  double loss = 0;
  std::vector<std::vector<float>> grads;  // per layer
  uint64_t peak_act = 0;
  std::vector<uint64_t> act_end_of_forward;  // per layer
};

// One forward and backward of a fresh model (fixed seed and batch) under a
// checkpoint plan and the config's precision.
inline StepResult one_step(const Config& cfg, const Segments& segs) {
  Allocator alloc(cfg.model.layers + 2);
  GPT<float> model(cfg.model, cfg.train.batch, alloc, 11);
  model.set_checkpoint(segs);
  model.set_precision(precision_from_name(cfg.train.precision));
  const size_t n = size_t(cfg.train.batch) * cfg.model.context;
  std::vector<int32_t> in(n), tg(n);
  Rng r(9);
  for (auto& t : in) t = int32_t(r.below(cfg.model.vocab));
  for (auto& t : tg) t = int32_t(r.below(cfg.model.vocab));
  StepResult res;
  model.zero_grad();
  res.loss = model.forward(in.data(), tg.data());
  for (int l = 0; l < model.num_layers(); ++l)
    res.act_end_of_forward.push_back(alloc.layer(l, Cat::act).live);
  model.backward();
  for (int l = 0; l < model.num_layers(); ++l)
    res.grads.emplace_back(model.grads(l), model.grads(l) + model.layer_params(l));
  res.peak_act = alloc.category(Cat::act).peak;
  return res;
}

}  // namespace ts::test
