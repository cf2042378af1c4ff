// trainscope-train: the trainer's command line.
//   trainscope-train CONFIG [--events PATH] [--trace PATH] [--out DIR]
//                    [--set section.key=value]... [--resume RUN_DIR] [--memory-budget SIZE]
//                    [--check] [--predict] [--quiet]
// Exit 0 on success, 2 on a bad config or usage, 1 on a run-time failure.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/json.h"
#include "config/config.h"
#include "plan/memory_model.h"
#include "plan/planner.h"
#include "train/trainer.h"

namespace {

const char* kUsage =
    "usage: trainscope-train CONFIG [options]\n"
    "\n"
    "Trains the model a *.train config describes and records what it measures.\n"
    "\n"
    "options:\n"
    "  --events PATH        write the event stream (JSON Lines, docs/events.md)\n"
    "  --trace PATH         write a Chrome trace (open it in ui.perfetto.dev)\n"
    "  --out DIR            write DIR/events.jsonl, DIR/trace.json, DIR/summary.json, and\n"
    "                       print the command that writes DIR/report.html\n"
    "  --set KEY=VALUE      override a config key, e.g. --set train.steps=20 (repeatable)\n"
    "  --resume RUN_DIR     continue from RUN_DIR/snapshot.bin (train.save_every); the\n"
    "                       resumed run writes its records to its own --out folder\n"
    "  --memory-budget SIZE refuse to start when the predicted peak memory exceeds SIZE\n"
    "                       (e.g. 16GB, 12GiB; the editor's trainscope.memoryBudget), naming\n"
    "                       the checkpoint plan that fits; the device's free memory is\n"
    "                       always checked\n"
    "  --check              only check the config; print its errors\n"
    "  --predict            print the memory model's prediction (JSON) and exit\n"
    "  --plan               print every checkpoint schedule, precision and accumulation\n"
    "                       with its predicted memory and recompute, as tables, and exit\n"
    "  --json               with --plan: the same as JSON (what the editor reads)\n"
    "  --quiet              no progress lines on stderr\n"
    "  --version, --help\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "trainscope-train: error: %s\n%s", msg.c_str(), kUsage);
  return ts::kExitUsage;
}

// mkdir -p
bool make_dirs(const std::string& path, std::string& err) {
  std::string cur;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty() && mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST) {
        err = "cannot create folder '" + cur + "': " + std::strerror(errno);
        return false;
      }
    }
    if (i < path.size()) cur.push_back(path[i]);
  }
  return true;
}

// The command that renders DIR/report.html: out/report.js of the checkout
// or the installed extension this trainer belongs to (native/build/ beside
// out/ in both), or "" when there is none.
std::string report_command(const std::string& dir) {
  char exe[4096];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  exe[n] = 0;
  std::string script = exe;
  for (int up = 0; up < 3 && !script.empty(); ++up) script = script.substr(0, script.rfind('/'));
  script += "/out/report.js";
  struct stat st {};
  if (stat(script.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
  // Shell-quoted where needed, so the line can be pasted as it is.
  auto quoted = [](const std::string& p) {
    if (p.find_first_of(" '\"$`\\*?&;|<>()") == std::string::npos) return p;
    std::string q = "'";
    for (char c : p) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  return "node " + quoted(script) + " " + quoted(dir) + "   (writes " + dir + "/report.html, the panel for any browser)";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path, out_dir;
  std::vector<std::string> overrides;
  ts::RunOptions opt;
  bool check_only = false, predict = false, plan = false, json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    // An option's value; a following option ("--quiet") is not one.
    auto next = [&]() -> const char* {
      if (i + 1 >= argc || std::strncmp(argv[i + 1], "--", 2) == 0) return nullptr;
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--version") {
      std::printf("trainscope-train %s\n", TRAINSCOPE_VERSION);
      return 0;
    } else if (a == "--events" || a == "--trace" || a == "--out" || a == "--set" || a == "--resume") {
      const char* v = next();
      if (!v || !*v) return usage_error(a + " needs a value");
      if (a == "--events") opt.events_path = v;
      else if (a == "--trace") opt.trace_path = v;
      else if (a == "--out") out_dir = v;
      else if (a == "--resume") opt.resume_path = v;
      else overrides.push_back(v);
    } else if (a == "--memory-budget") {
      const char* v = next();
      if (!v || !*v) return usage_error(a + " needs a value");
      std::string err;
      if (!ts::parse_size_text(v, opt.memory_budget, err) || opt.memory_budget == 0)
        return usage_error("--memory-budget: " + (err.empty() ? std::string("must be more than 0 bytes") : err));
    } else if (a.rfind("--set=", 0) == 0) {
      overrides.push_back(a.substr(6));
    } else if (a == "--check") {
      check_only = true;
    } else if (a == "--predict") {
      predict = true;
    } else if (a == "--plan") {
      plan = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--quiet") {
      opt.log_steps = false;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option '" + a + "'");
    } else if (config_path.empty()) {
      config_path = a;
    } else {
      return usage_error("one config file at a time (got '" + config_path + "' and '" + a + "')");
    }
  }
  if (config_path.empty()) return usage_error("no config file given");
  if (json && !plan) return usage_error("--json goes with --plan (--predict always prints JSON)");

  const ts::ParseResult pr = ts::load_config(config_path, overrides);
  for (const auto& d : pr.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!pr.ok()) return ts::kExitUsage;
  if (check_only) {
    // What a run would refuse at start beyond the parser: a checkpoint
    // budget no plan fits. (A run reports it itself, with its records;
    // --predict and --plan describe it in their JSON.)
    ts::Diagnostic plan_error;
    if (ts::checkpoint_diagnostic(pr.config, plan_error)) {
      std::fprintf(stderr, "%s\n", plan_error.format().c_str());
      return ts::kExitUsage;
    }
    return 0;
  }
  if (plan) {
    if (json) std::printf("%s\n", ts::plan_report_json(pr.config, 0).c_str());
    else std::fputs(ts::plan_report_text(pr.config, 0).c_str(), stdout);
    return 0;
  }
  if (predict) {
    std::printf("%s\n", ts::memory_prediction_to_json(ts::predict_memory(pr.config)).c_str());
    return 0;
  }
  if (!out_dir.empty()) {
    std::string err;
    if (!make_dirs(out_dir, err)) {
      std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
      return ts::kExitRuntime;
    }
    if (opt.events_path.empty()) opt.events_path = out_dir + "/events.jsonl";
    if (opt.trace_path.empty()) opt.trace_path = out_dir + "/trace.json";
    opt.summary_path = out_dir + "/summary.json";
    opt.snapshot_path = out_dir + "/snapshot.bin";
    opt.report_command = report_command(out_dir);
  }
  return ts::run_training(pr.config, opt);
}
