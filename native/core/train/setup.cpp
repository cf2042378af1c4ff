// Everything before step 1: the output files, the data-parallel world, the
// device, the data, the model (sized by the memory model's prediction),
// --resume, and the start-up vote, clock alignment, gradient reducer and
// watchdog of a data-parallel run. Each stage returns -1 to go on, else
// the exit code, its error already reported.
#include <omp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <utility>
#include <vector>
#include <stdexcept>

#include "base/bytes.h"
#include "base/files.h"
#include "config/config.h"
#include "dist/nccl_loader.h"
#include "model/gemm.h"
#include "model/model.h"
#include "plan/planner.h"
#include "train/run.h"
#include "train/snapshot.h"

namespace ts {

namespace {

// FNV-1a, 64 bits: a config's fingerprint, compared across ranks.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (const unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// config_to_json's two levels flattened: {"section.key", value as JSON
// text}, in the JSON's order.
std::vector<std::pair<std::string, std::string>> config_fields(const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string section;
  size_t i = 0;
  auto string_at = [&](size_t& k) {
    const size_t start = k++;
    while (k < json.size() && json[k] != '"') k += json[k] == '\\' ? 2 : 1;
    ++k;
    return json.substr(start, k - start);
  };
  while (i < json.size()) {
    if (json[i] == '}') section.clear();
    if (json[i] != '"') {
      ++i;
      continue;
    }
    const std::string quoted = string_at(i);
    const std::string key = quoted.substr(1, quoted.size() - 2);
    i = json.find_first_not_of(": ", i);
    if (i == std::string::npos) break;
    if (json[i] == '{') {
      section = key;
      ++i;
    } else if (json[i] == '"') {
      out.push_back({section + "." + key, string_at(i)});
    } else {
      const size_t end = json.find_first_of(",}", i);
      out.push_back({section + "." + key, json.substr(i, end - i)});
      i = end;
    }
  }
  return out;
}

// What every rank must agree on: its resolved config, minus the keys a host
// may set for itself (train.threads only changes speed), and the world the
// launcher announced.
std::vector<std::pair<std::string, std::string>> shared_fields(const Config& cfg) {
  auto f = config_fields(config_to_json(cfg));
  f.erase(std::remove_if(f.begin(), f.end(), [](const auto& kv) { return kv.first == "train.threads"; }), f.end());
  f.push_back({"launcher.world_size", std::to_string(launcher_world_size())});
  return f;
}

std::string fields_text(const std::vector<std::pair<std::string, std::string>>& f) {
  std::string s;
  for (const auto& [k, v] : f) s += k + "=" + v + "\n";
  return s;
}

}  // namespace

int Run::set_up() {
  if (const int rc = open_outputs(); rc >= 0) return rc;
  if (cfg_.parallel.backend == "nccl") {
    // NCCL is opened at run time; the model itself runs on the cpu so far.
    std::string err;
    Nccl nccl;
    if (!nccl.load(err)) return fail_before_start(where_of(cfg_, "parallel.backend"), err, kExitRuntime);
    if (cfg_.train.device != "cuda")
      return fail_before_start(
          where_of(cfg_, "parallel.backend"),
          "parallel.backend nccl (NCCL " + nccl.version_string() +
              ") all-reduces GPU memory, but this model trains on the cpu (train.device " +
              cfg_.train.device + "): use train.device cuda, or parallel.backend mpi",
          kExitUsage);
  }
  threads_ = cfg_.train.threads > 0 ? cfg_.train.threads : omp_get_num_procs();
  set_compute_threads(threads_);
  if (const int rc = choose_device(); rc >= 0) return rc;
  note_oversubscribed_threads();
  if (const int rc = open_data(); rc >= 0) return rc;
  if (const int rc = build_model(); rc >= 0) return rc;
  if (const int rc = start_parallel(); rc >= 0) return rc;
  write_run_record();
  if (opt_.log_steps)
    std::fprintf(stderr, "trainscope: %s | %.2fM params | %s | %d threads\n", cfg_.file.c_str(),
                 model_->num_params() / 1e6, data_->describe().c_str(), threads_);
  return -1;
}

// Data parallelism: join the MPI world before opening any file. Rank 0
// writes the stream, trace, summary and snapshots; rank r > 0 its own
// events.rankR.jsonl beside the stream (docs/distributed.md).
int Run::open_outputs() {
  std::string err;
  if (opt_.snapshot_path.empty() && cfg_.train.save_every > 0) {
    const size_t slash = opt_.events_path.find_last_of('/');
    opt_.snapshot_path = slash == std::string::npos ? std::string("snapshot.bin")
                                                      : opt_.events_path.substr(0, slash) + "/snapshot.bin";
  }
  if (!world_init(cfg_.parallel.ranks, world_, err)) {
    if (world_.rank == 0) std::fprintf(stderr, "%s%s\n", error_prefix(where_of(cfg_, "parallel.ranks")).c_str(), err.c_str());
    return kExitUsage;
  }
  if (world_.rank > 0) {
    opt_.events_path = rank_path(opt_.events_path, world_.rank);
    opt_.trace_path.clear();
    opt_.summary_path.clear();
    opt_.log_steps = false;
  }
  if (!resume_outputs_apart(opt_.resume_path,
                            {opt_.events_path, opt_.trace_path, opt_.summary_path,
                             cfg_.train.save_every > 0 ? opt_.snapshot_path : std::string()},
                            err)) {
    if (world_.rank == 0) std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
    return kExitUsage;
  }
  // Rank 0 alone: the other ranks write no temp files, and must not remove
  // rank 0's while it probes.
  if (world_.rank == 0)
    for (const std::string* p : {&opt_.trace_path, &opt_.summary_path, &opt_.snapshot_path}) remove_stale_temps(*p);
  // Output files are created up front: a path that cannot be written fails
  // the run before any training, not after it.
  if (!ev_.open(opt_.events_path, err) || !probe_output(opt_.trace_path, "trace", err) ||
      !probe_output(opt_.summary_path, "summary", err) ||
      (world_.rank == 0 && cfg_.train.save_every > 0 && !probe_output(opt_.snapshot_path, "snapshot", err))) {
    std::fprintf(stderr, "trainscope-train: error: %s\n", err.c_str());
    return kExitRuntime;
  }
  return -1;
}

// train.device: cpu; cuda (a usable GPU or a clear error); auto (the GPU
// when one is usable, else the cpu with a note in the run record saying
// why).
int Run::choose_device() {
  device_ = cpu_device_info();
  device_.requested = cfg_.train.device;
  if (cfg_.train.device == "cpu") return -1;
  std::string why;
  if (cfg_.train.device == "auto" && cfg_.parallel.ranks > 1) {
    device_.note = "train.device auto: data-parallel training on GPUs is not built yet; training on the cpu";
    return -1;
  }
  const CudaBackend* b = CudaBackend::get(why);
  DeviceInfo gpu;
  if (b && b->probe(gpu, why)) {
    cuda_ = b;
    gpu.requested = cfg_.train.device;
    device_ = gpu;
    return -1;
  }
  if (cfg_.train.device == "cuda")
    return fail_before_start(where_of(cfg_, "train.device"), "train.device cuda: no usable GPU: " + why,
                             kExitRuntime);
  device_.note = "train.device auto: no usable GPU (" + why + "); training on the cpu" +
                 (cfg_.train.attention == "fused" ? " (attention materialized: fused runs on the GPU)" : "");
  if (opt_.log_steps) std::fprintf(stderr, "trainscope: %s\n", device_.note.c_str());
  return -1;
}

// More compute threads than cores only makes them take turns (slower, not
// faster): the run goes ahead, with a warning and a note in the run record.
void Run::note_oversubscribed_threads() {
  const int cores = omp_get_num_procs();
  if (cfg_.train.threads <= cores) return;
  const std::string why = "train.threads " + std::to_string(cfg_.train.threads) + " is more than the " +
                          std::to_string(cores) + " cores available" +
                          (world_.size > 1 ? " to rank " + std::to_string(world_.rank) : std::string()) +
                          ": the threads take turns on them, which is slower, not faster (0 uses every core)";
  const Where w = where_of(cfg_, "train.threads");
  std::fprintf(stderr, "%s%s\n",
               w.line > 0 ? (w.file + ":" + std::to_string(w.line) + ":" + std::to_string(w.col) + ": warning: ").c_str()
                          : "trainscope-train: warning: ",
               why.c_str());
  device_.note += (device_.note.empty() ? "" : "; ") + why;
}

int Run::open_data() {
  data_.reset(new Dataset);
  DataError derr;
  if (!data_->open(cfg_, derr))
    return fail_before_start(where_of(cfg_, "data." + cfg_.data.source),
                             "data." + cfg_.data.source + ": " + derr.message, kExitRuntime);
  if (cfg_.train.eval_every > 0 && data_->source() != "synthetic" && data_->val_tokens() == 0)
    return fail_before_start(where_of(cfg_, "train.eval_every"),
                             "train.eval_every needs a held-out split, but data.val_fraction is 0",
                             kExitRuntime);
  return -1;
}

int Run::build_model() {
  const TrainConfig& tc = cfg_.train;
  const int B = tc.batch, T = cfg_.model.context;
  // The prediction of the device that trains (auto's choice included).
  pred_ = predict_memory(cfg_, 4, device_.type);
  // A checkpoint budget no plan fits is a config error, reported at the key.
  if (!pred_.error.empty()) return fail_before_start(where_of(cfg_, "train.checkpoint"), pred_.error, kExitUsage);
  if (const int rc = check_memory(); rc >= 0) return rc;
  try {
    const Precision prec = precision_from_name(tc.precision);
    alloc_.reset(new Allocator(cfg_.model.layers + 2, cuda_ ? cuda_->memory() : nullptr));
    if (cuda_) {
      std::string cerr;
      model_ = cuda_->create(cfg_.model, B, *alloc_, tc.seed, pred_.segments, prec, tc.attention == "fused", cerr);
      if (!model_) return fail_before_start(where_of(cfg_, "train.device"), "train.device cuda: " + cerr, kExitRuntime);
      // The batches' tokens stay in host memory; the model copies them over.
      host_alloc_.reset(new Allocator(cfg_.model.layers + 2));
    } else {
      model_ = make_cpu_model(cfg_.model, B, *alloc_, tc.seed, pred_.segments, prec);
    }
    Allocator& io = host_alloc_ ? *host_alloc_ : *alloc_;
    inputs_ = Buffer<int32_t>(io, size_t(B) * T, 0, Cat::workspace);
    targets_ = Buffer<int32_t>(io, size_t(B) * T, 0, Cat::workspace);
  } catch (const std::bad_alloc&) {
    return fail_before_start(Where{}, std::string("out of ") + (cuda_ ? "GPU " : "") +
                                          "memory allocating the model (predicted peak " +
                                          bytes_text(pred_.peak) + ")",
                             kExitRuntime);
  } catch (const std::runtime_error& e) {
    return fail_before_start(where_of(cfg_, "train.device"), e.what(), kExitRuntime);
  }
  return -1;
}

// Before anything is allocated: a predicted peak beyond what the device has
// (or --memory-budget) is refused with the prediction's breakdown and the
// nearest config that fits. Allocating anyway gets the process OOM-killed,
// which leaves a stream without an error or a summary.
int Run::check_memory() {
  uint64_t limit = 0;
  std::string what;
  if (device_.free_bytes > 0) {
    // Ranks on one host share its memory; a GPU is its rank's own.
    uint64_t sharing = 1;
    if (device_.type == "cpu")
      sharing = std::max<uint64_t>(1, uint64_t(std::count(world_.hosts.begin(), world_.hosts.end(), world_.host)));
    limit = device_.free_bytes / sharing;
    what = "the " + bytes_text(device_.free_bytes) + (device_.type == "cpu" ? " of memory available" : " free on " + device_.name);
    if (sharing > 1) what += ", shared by " + std::to_string(sharing) + " ranks on this host (" + bytes_text(limit) + " each)";
  }
  if (opt_.memory_budget > 0 && (limit == 0 || opt_.memory_budget <= limit)) {
    limit = opt_.memory_budget;
    what = "--memory-budget " + bytes_text(limit) + " (trainscope.memoryBudget)";
  }
  if (limit == 0 || pred_.peak <= limit) return -1;
  std::string msg = "predicted peak " + bytes_text(pred_.peak) + " (params " + bytes_text(pred_.param) + ", grads " +
                    bytes_text(pred_.grad) + ", optimizer " + bytes_text(pred_.optim) + ", activations " +
                    bytes_text(pred_.peak_act) + ", workspace " + bytes_text(pred_.peak_workspace) +
                    ") does not fit in " + what + ": ";
  std::string key;
  const TotalFit fit = fit_total_budget(cfg_, limit);
  MemoryPrediction fp = predict_memory(cfg_, fit.segments, 4, device_.type);
  bool fits = fit.fits && fp.peak <= limit;
  // The budget search can miss a fixed schedule that fits (it plans
  // activations against the rest of the peak without checkpointing);
  // the schedules are few, so they are tried too, fewest segments first.
  const int L = cfg_.model.layers;
  for (int e = L; e >= 1 && !fits; --e) {
    const MemoryPrediction p = predict_memory(cfg_, segments_every(L, e), 4, device_.type);
    if (p.peak <= limit) {
      fp = p;
      fits = true;
    }
  }
  if (fits) {
    key = "train.checkpoint";
    // A budget reads better than a list of layers and survives edits to the
    // model; it is offered when the plan it resolves to fits too.
    uint64_t act_budget = 0;
    const std::string size = size_text_at_least(fp.peak_act, &act_budget);
    Config c = cfg_;
    c.train.checkpoint = "budget";
    c.train.checkpoint_budget = act_budget;
    const MemoryPrediction bp = predict_memory(c, 4, device_.type);
    if (bp.error.empty() && bp.peak <= limit)
      msg += "use train.checkpoint budget " + size + " (predicted peak " + bytes_text(bp.peak) + ")";
    else
      msg += "use train.checkpoint " + fp.checkpoint + " (predicted peak " + bytes_text(fp.peak) + ")";
  } else if (pred_.param + pred_.grad + pred_.optim >= limit) {
    key = "model.width";
    msg += "the parameters, gradients and optimizer state alone take " +
           bytes_text(double(pred_.param + pred_.grad + pred_.optim)) +
           ", so no checkpoint plan fits: lower model.width or model.layers";
  } else {
    key = "train.batch";
    msg += "no checkpoint plan fits (the least peak any schedule reaches is " + bytes_text(double(fit.smallest)) +
           "): lower train.batch (train.accumulate keeps the global batch) or model.context";
  }
  return fail_before_start(where_of(cfg_, key), msg, kExitRuntime);
}

// Every rank votes whether it started; returns the lowest rank that failed,
// or -1 when all did. A rank that fails before voting votes from settle().
int Run::vote(bool ok) {
  voted_ = true;
  if (world_.size < 2) return ok ? -1 : 0;
  double v = ok ? 1e9 : double(world_.rank);
  std::string err;
  if (!world_allreduce_min(world_, &v, 1, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  return v >= 1e9 ? -1 : int(v);
}

// After the model exists: --resume (rank 0 reads, every rank receives),
// the start-up vote, clock alignment, the gradient reducer and the
// watchdog.
int Run::start_parallel() {
  std::string err;
  int64_t step = 0;
  std::map<std::string, std::string> st;
  if (!opt_.resume_path.empty() && world_.rank == 0) {
    const std::string file = snapshot_file_for(opt_.resume_path);
    std::vector<std::string> warnings;
    if (!load_snapshot(file, cfg_, *model_, step, st, warnings, err))
      return fail_before_start(Where{}, "--resume " + opt_.resume_path + ": " + err, kExitRuntime);
    // Decoded here too, so a state this trainer could not have written is
    // refused before any rank starts.
    if (!restore_state(st, step, progress_, noise_, scaler_, err))
      return fail_before_start(Where{}, "--resume " + opt_.resume_path + ": '" + file + "': " + err, kExitRuntime);
    if (step >= cfg_.train.steps)
      return fail_before_start(where_of(cfg_, "train.steps"),
                               "--resume " + opt_.resume_path + ": the snapshot has finished " + std::to_string(step) +
                                   " steps and train.steps is " + std::to_string(cfg_.train.steps) +
                                   ": nothing is left to train (raise train.steps)",
                               kExitRuntime);
    for (const auto& w : warnings) std::fprintf(stderr, "trainscope-train: warning: %s\n", w.c_str());
    resumed_from_ = file;
  }
  const int failed = vote(true);
  if (failed >= 0) {
    if (world_.rank == 0)
      std::fprintf(stderr, "trainscope-train: error: rank %d (pid %lld on %s) failed while starting (its error is above); every rank stops\n",
                   failed, (long long)world_.pids[size_t(failed)], world_.hosts[size_t(failed)].c_str());
    return kExitRuntime;
  }
  agreed_ = true;
  if (const int rc = check_configs_match(); rc >= 0) return rc;
  auto die = [&](const std::string& e) {
    world_abort(world_, 1, "trainscope-train: error: rank " + std::to_string(world_.rank) + ": " + e);
  };
  // From here on a rank may end the job from any thread; the records say so.
  if (world_.size > 1) set_abort_hook([this](const std::string& m) { write_abort_records(m); });
  if (!opt_.resume_path.empty()) {
    if (!broadcast_training_state(world_, *model_, step, st, err)) die(err);
    if (!restore_state(st, step, progress_, noise_, scaler_, err)) die(err);
    first_step_ = step + 1;
    last_saved_ = step;
    model_->push_state();
  }
  if (world_.size < 2) return -1;
  // Rank clocks: shift this rank's origin onto rank 0's.
  if (!align_clocks(world_, [this] { return clk_.us(); }, clock_offsets_, err)) die(err);
  clk_.start += std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::micro>(clock_offsets_[size_t(world_.rank)]));
  backend_ = make_mpi_backend(world_, err);
  if (!backend_) die(err);
  std::vector<size_t> sizes;
  std::vector<float*> grads;
  for (int l = 0; l < model_->num_layers(); ++l) {
    sizes.push_back(model_->layer_params(l));
    grads.push_back(model_->grads(l));
  }
  reducer_.reset(new GradReducer(world_, *backend_, *alloc_, plan_buckets(sizes, cfg_.parallel.bucket),
                                 grads, [this] { return clk_.us(); }));
  if (!watchdog_.start(world_, watchdog_timeout_s(), err)) die(err);
  return -1;
}

int Run::settle(int rc) {
  if (world_.size < 2) return rc;
  if (!voted_) vote(false);  // failed before the vote: tell the others
  if (local_failure_) world_abort(world_, rc ? rc : 1, "");
  watchdog_.stop();
  reducer_.reset();
  set_abort_hook(nullptr);  // no thread of this run can abort any more
  return rc;
}

// Ranks launched with different configs (MPMD, `mpirun -np 1 ... a.train :
// -np 1 ... b.train`) would hang (different train.steps), crash in MPI
// (different shapes) or train diverged replicas (different batch or lr).
// After the vote and before any collective that depends on the config,
// every rank compares a fingerprint of its config; on a mismatch rank 0
// names the keys that differ and every rank refuses.
int Run::check_configs_match() {
  if (world_.size < 2) return -1;
  const auto fields = shared_fields(cfg_);
  const std::string mine = fields_text(fields);
  const uint64_t h = fnv1a(mine);
  // Minimum and maximum of each 32-bit half in one all-reduce (doubles hold
  // them exactly): the ranks agree when they are equal.
  const double hi = double(h >> 32), lo = double(h & 0xffffffffu);
  double v[4] = {hi, lo, -hi, -lo};
  std::string err;
  if (!world_allreduce_min(world_, v, 4, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  if (v[0] == -v[2] && v[1] == -v[3]) return -1;
  std::vector<std::string> all;
  if (!world_gather_bytes(world_, mine, all, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  // Rank 0 words the message and hands it to every rank, so each stream's
  // error record says the same.
  std::string message, key;
  if (world_.rank == 0) {
    int first = -1, others = 0;
    for (int r = 1; r < int(all.size()); ++r) {
      if (all[size_t(r)] == mine) continue;
      if (first < 0) first = r;
      else ++others;
    }
    std::vector<std::pair<std::string, std::string>> theirs;
    for (size_t a = 0, b; first > 0 && a < all[size_t(first)].size(); a = b + 1) {
      b = all[size_t(first)].find('\n', a);
      const std::string line = all[size_t(first)].substr(a, b - a);
      const size_t eq = line.find('=');
      theirs.push_back({line.substr(0, eq), line.substr(eq + 1)});
    }
    std::string diffs;
    for (size_t k = 0; k < theirs.size() && k < fields.size(); ++k) {
      if (theirs[k].second == fields[k].second) continue;
      if (key.empty()) key = fields[k].first;
      diffs += (diffs.empty() ? "" : ", ") + fields[k].first + " " + theirs[k].second + " vs " + fields[k].second;
    }
    message = "rank " + std::to_string(first) + "'s config differs from rank 0's: " + diffs +
              (others > 0 ? " (and " + std::to_string(others) + " more rank" + (others > 1 ? "s differ" : " differs") + ")" : "") +
              "; every rank must train the same config (only train.threads may differ)";
    // The key travels with it: each rank locates the error in its own file.
    message = key + "\n" + message;
  }
  uint64_t n = message.size();
  if (!world_broadcast(world_, &n, sizeof n, err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  message.resize(size_t(n));
  if (!world_broadcast(world_, &message[0], size_t(n), err)) world_abort(world_, 1, "trainscope-train: error: " + err);
  const size_t nl = message.find('\n');
  key = message.substr(0, nl);
  return fail_before_start(where_of(cfg_, key), message.substr(nl + 1), kExitUsage);
}

}  // namespace ts
