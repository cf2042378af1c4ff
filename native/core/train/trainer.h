// The training loop: data, forward, backward, AdamW, evaluation, and the
// measurements around them (phase times, per-layer spans on sampled steps,
// the allocator's per-layer memory), written to the event stream and the
// Chrome trace.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"

namespace ts {

struct RunOptions {
  std::string events_path;  // JSON Lines (docs/events.md); "" = none
  std::string trace_path;   // Chrome trace JSON; "" = none
  std::string summary_path; // the summary record alone, as JSON; "" = none
  // train.save_every writes here (atomically); "" = snapshot.bin beside
  // the events file (or in the current folder without one).
  std::string snapshot_path;
  // --resume: a snapshot file, or a run folder holding snapshot.bin.
  std::string resume_path;
  // --memory-budget (the editor's trainscope.memoryBudget): a run whose
  // predicted peak exceeds it is refused before allocating; 0 = none.
  uint64_t memory_budget = 0;
  bool log_steps = true;    // a progress line on stderr every few steps
  // Printed under the summary by rank 0 once the stream is written: the
  // CLI's command that renders the run folder's report.html ("" = none).
  std::string report_command;
  // When set, receives every step's loss at full precision (the event stream
  // rounds to 9 digits): for callers that compare runs bit for bit.
  std::vector<double>* step_losses = nullptr;
  // When set, receives every parameter (layer by layer) after the last step.
  std::vector<float>* final_params = nullptr;
  // Fault injection for tests: step N's gradients are made non-finite.
  int64_t inject_overflow_at = 0;
};

// Exit codes of the trainer CLI.
constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// Trains; returns an exit code. Errors go to stderr as
// "file:line:col: error: message" (or "trainscope-train: error: ...") and,
// when the stream is open, as an error record. SIGINT/SIGTERM end the run
// after the step in flight, with every record written and status
// "interrupted" (exit 128 + signal).
int run_training(const Config& cfg, const RunOptions& opt);

}  // namespace ts
