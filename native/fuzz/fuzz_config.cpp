// libFuzzer target: a .train config through everything the editor runs on
// each keystroke (the addon's analyze): the parser, then for a config it
// accepts the planner's report (every schedule, the budget plan, the
// whole-run fit), the memory model and the config JSON.
//
// What counts as a failure: a crash, a sanitizer report, a hang (libFuzzer's
// -timeout), or a broken promise of the parser: a diagnostic without a
// position, more than the diagnostic cap, or an accepted config the planner
// cannot describe (an empty report).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "plan/memory_model.h"
#include "plan/planner.h"
#include "harness.h"

namespace {

[[noreturn]] void broken(const char* what) { ts::fuzz::broken("fuzz_config", what); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ts::ParseResult r = ts::parse_config(text, "fuzz.train");
  if (r.diagnostics.size() > ts::kMaxDiagnostics + 1) broken("more diagnostics than the cap");
  for (const ts::Diagnostic& d : r.diagnostics) {
    if (d.line < 1 || d.col < 1 || d.message.empty()) broken("a diagnostic without a position or message");
  }
  if (!r.ok()) return 0;
  // The memory budget the editor passes when trainscope.memoryBudget is set:
  // half the prediction, so the whole-run fit has work to do.
  const ts::MemoryPrediction p = ts::predict_memory(r.config);
  const ts::PlanReport report = ts::plan_report(r.config, p.peak / 2 + 1);
  if (report.json.empty()) broken("an accepted config without a plan report");
  if (!report.checkpoint_error.empty()) ts::checkpoint_diagnostic_for(r.config, report.checkpoint_error);
  if (ts::config_to_json(r.config).empty()) broken("an accepted config without JSON");
  return 0;
}
