#include "dist/comm.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifdef TRAINSCOPE_HAVE_MPI
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#endif

namespace ts {

namespace {

using SteadyClock = std::chrono::steady_clock;

[[maybe_unused]] double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return (end && *end == 0 && n > 0 && n < INT_MAX) ? int(n) : 0;
}

// Largest count handed to one MPI call: the standard's counts are int.
constexpr size_t kMaxMpiCount = size_t(1) << 30;

#ifdef TRAINSCOPE_HAVE_MPI
std::string mpi_error_string(int code) {
  char buf[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(buf, size_t(len));
}

bool mpi_ok(int rc, const char* what, std::string& err) {
  if (rc == MPI_SUCCESS) return true;
  err = std::string(what) + " failed: " + mpi_error_string(rc);
  return false;
}

void finalize_at_exit() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) MPI_Finalize();
}

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE: return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED: return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED: return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE: return "MPI_THREAD_MULTIPLE";
  }
  return "unknown";
}

constexpr int kTagClock = 7301;
constexpr int kTagGather = 7302;
constexpr int kTagHeartbeat = 7303;
#endif

}  // namespace

// ---------------------------------------------------------------------------
// World

bool mpi_built() {
#ifdef TRAINSCOPE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::string mpi_library_version() {
#ifdef TRAINSCOPE_HAVE_MPI
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "MPI";
  std::string s(buf, size_t(len));
  const size_t nl = s.find_first_of("\r\n");
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == ',')) s.pop_back();
  return s;
#else
  return "none";
#endif
}

int launcher_world_size() {
  // Open MPI (mpirun, prterun), MVAPICH, MPICH/Hydra and Intel MPI (PMI),
  // and Slurm's srun with PMI-2 (PMI_SIZE) or PMIx.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const int n = env_int(v);
    if (n > 0) return n;
  }
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK") || std::getenv("OMPI_COMM_WORLD_RANK")) {
    const int n = env_int("SLURM_STEP_NUM_TASKS");
    return n > 0 ? n : -1;  // launched, size unknown until MPI says
  }
  return 0;
}

bool world_init(int want_ranks, World& w, std::string& err) {
  static bool done = false;
  static World cached;
  auto plural = [](int n) { return std::to_string(n) + (n == 1 ? " process" : " processes"); };
  auto no_launcher = [&] {
#ifdef TRAINSCOPE_HAVE_MPI
    return "parallel.ranks is " + std::to_string(want_ranks) +
           " but the trainer was not started by mpirun: run it as `mpirun -np " +
           std::to_string(want_ranks) + " trainscope-train ...` (or `srun -n " +
           std::to_string(want_ranks) + " ...` under Slurm)";
#else
    return "parallel.ranks is " + std::to_string(want_ranks) +
           ": this trainer was built without MPI (install an MPI, e.g. libopenmpi-dev, and rebuild)";
#endif
  };
  if (done) {
    // MPI starts once per process; later runs (tests) share the world.
    w = cached;
    if (!w.mpi && want_ranks > 1) {
      err = no_launcher();
      return false;
    }
    if (w.mpi && w.size != want_ranks) {
      err = "parallel.ranks is " + std::to_string(want_ranks) + " but mpirun started " + plural(w.size);
      return false;
    }
    return true;
  }
  w = World();
  w.host = host_name();
  w.pids = {int64_t(getpid())};
  w.hosts = {w.host};
  const int launched = launcher_world_size();
#ifndef TRAINSCOPE_HAVE_MPI
  if (want_ranks > 1) {
    err = no_launcher();
    return false;
  }
  if (launched > 1) {
    err = "this trainer was built without MPI, but mpirun started " + plural(launched) +
          " (each would train alone): rebuild with MPI, or run one process";
    return false;
  }
  done = true;
  cached = w;
  return true;
#else
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && launched == 0) {
    if (want_ranks > 1) {
      err = no_launcher();
      done = true;
      cached = w;
      return false;
    }
    done = true;
    cached = w;
    return true;  // one rank, no launcher: MPI stays untouched
  }
  if (!initialized) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) {
      err = "MPI_Init_thread failed (error " + std::to_string(rc) + ")";
      return false;
    }
    std::atexit(finalize_at_exit);
    if (provided < MPI_THREAD_MULTIPLE) {
      err = std::string("the MPI library provides only ") + thread_level_name(provided) +
            "; the trainer's communication and watchdog threads need MPI_THREAD_MULTIPLE (" +
            mpi_library_version() + ")";
      return false;
    }
  }
  w.mpi = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &node) ==
      MPI_SUCCESS) {
    MPI_Comm_rank(node, &w.local_rank);
    MPI_Comm_free(&node);
  }
  // Every rank's pid and host, for messages that name a rank.
  int64_t pid = getpid();
  w.pids.assign(size_t(w.size), 0);
  MPI_Allgather(&pid, 1, MPI_INT64_T, w.pids.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  char name[64] = {0};
  std::strncpy(name, w.host.c_str(), sizeof name - 1);
  std::vector<char> names(size_t(w.size) * sizeof name);
  MPI_Allgather(name, int(sizeof name), MPI_CHAR, names.data(), int(sizeof name), MPI_CHAR,
                MPI_COMM_WORLD);
  w.hosts.clear();
  for (int r = 0; r < w.size; ++r) w.hosts.emplace_back(names.data() + size_t(r) * sizeof name);
  done = true;
  cached = w;
  if (w.size != want_ranks) {
    err = "parallel.ranks is " + std::to_string(want_ranks) + " but mpirun started " + plural(w.size);
    return false;
  }
  return true;
#endif
}

void world_abort(const World& w, int code, const std::string& message) {
  if (!message.empty()) std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(nullptr);
#ifdef TRAINSCOPE_HAVE_MPI
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin && w.size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

bool world_barrier(const World& w, std::string& err) {
  if (!w.mpi || w.size < 2) return true;
#ifdef TRAINSCOPE_HAVE_MPI
  return mpi_ok(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", err);
#else
  return true;
#endif
}

namespace {
bool allreduce_doubles(const World& w, double* v, int n, int op_id, std::string& err) {
  if (!w.mpi || w.size < 2) return true;
#ifdef TRAINSCOPE_HAVE_MPI
  MPI_Op op = op_id == 0 ? MPI_SUM : op_id == 1 ? MPI_MAX : MPI_MIN;
  return mpi_ok(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, op, MPI_COMM_WORLD), "MPI_Allreduce", err);
#else
  return true;
#endif
}
}  // namespace

bool world_allreduce_sum(const World& w, double* v, int n, std::string& err) {
  return allreduce_doubles(w, v, n, 0, err);
}
bool world_allreduce_max(const World& w, double* v, int n, std::string& err) {
  return allreduce_doubles(w, v, n, 1, err);
}
bool world_allreduce_min(const World& w, double* v, int n, std::string& err) {
  return allreduce_doubles(w, v, n, 2, err);
}

bool world_broadcast(const World& w, void* data, size_t bytes, std::string& err) {
  if (!w.mpi || w.size < 2) return true;
#ifdef TRAINSCOPE_HAVE_MPI
  char* p = static_cast<char*>(data);
  for (const auto& c : count_chunks(bytes, kMaxMpiCount))
    if (!mpi_ok(MPI_Bcast(p + c.first, int(c.second), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast", err))
      return false;
  return true;
#else
  return true;
#endif
}

bool world_gather_bytes(const World& w, const std::string& mine, std::vector<std::string>& all,
                        std::string& err) {
  all.clear();
  if (!w.mpi || w.size < 2) {
    all.push_back(mine);
    return true;
  }
#ifdef TRAINSCOPE_HAVE_MPI
  // Point to point, one rank at a time: no int displacements to overflow,
  // and rank 0 holds one incoming buffer at a time besides the result.
  if (w.rank != 0) {
    uint64_t n = mine.size();
    if (!mpi_ok(MPI_Send(&n, 1, MPI_UINT64_T, 0, kTagGather, MPI_COMM_WORLD), "MPI_Send", err))
      return false;
    for (const auto& c : count_chunks(mine.size(), kMaxMpiCount))
      if (!mpi_ok(MPI_Send(mine.data() + c.first, int(c.second), MPI_BYTE, 0, kTagGather, MPI_COMM_WORLD),
                  "MPI_Send", err))
        return false;
    return true;
  }
  all.push_back(mine);
  for (int r = 1; r < w.size; ++r) {
    uint64_t n = 0;
    if (!mpi_ok(MPI_Recv(&n, 1, MPI_UINT64_T, r, kTagGather, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                "MPI_Recv", err))
      return false;
    std::string s(size_t(n), '\0');
    for (const auto& c : count_chunks(s.size(), kMaxMpiCount))
      if (!mpi_ok(MPI_Recv(&s[c.first], int(c.second), MPI_BYTE, r, kTagGather, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE),
                  "MPI_Recv", err))
        return false;
    all.push_back(std::move(s));
  }
  return true;
#else
  return true;
#endif
}

// ---------------------------------------------------------------------------
// Clocks

bool align_clocks(const World& w, const std::function<double()>& now_us,
                  std::vector<double>& offsets, std::string& err) {
  offsets.assign(size_t(std::max(1, w.size)), 0.0);
  if (!w.mpi || w.size < 2) return true;
#ifdef TRAINSCOPE_HAVE_MPI
  constexpr int kRounds = 16;
  if (!world_barrier(w, err)) return false;
  for (int r = 1; r < w.size; ++r) {
    if (w.rank == 0) {
      double best_rtt = INFINITY, best = 0;
      for (int i = 0; i < kRounds; ++i) {
        double ping = 0, remote = 0;
        const double t0 = now_us();
        if (!mpi_ok(MPI_Send(&ping, 1, MPI_DOUBLE, r, kTagClock, MPI_COMM_WORLD), "MPI_Send", err) ||
            !mpi_ok(MPI_Recv(&remote, 1, MPI_DOUBLE, r, kTagClock, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                    "MPI_Recv", err))
          return false;
        const double t1 = now_us();
        if (t1 - t0 < best_rtt) {
          best_rtt = t1 - t0;
          best = remote - 0.5 * (t0 + t1);
        }
      }
      offsets[size_t(r)] = best;
    } else if (w.rank == r) {
      for (int i = 0; i < kRounds; ++i) {
        double ping = 0;
        if (!mpi_ok(MPI_Recv(&ping, 1, MPI_DOUBLE, 0, kTagClock, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                    "MPI_Recv", err))
          return false;
        const double t = now_us();
        if (!mpi_ok(MPI_Send(&t, 1, MPI_DOUBLE, 0, kTagClock, MPI_COMM_WORLD), "MPI_Send", err))
          return false;
      }
    }
  }
  return mpi_ok(MPI_Bcast(offsets.data(), w.size, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Bcast", err);
#else
  return true;
#endif
}

// ---------------------------------------------------------------------------
// Buckets

std::vector<Bucket> plan_buckets(const std::vector<size_t>& layer_elems, uint64_t bucket_bytes,
                                 size_t elem_bytes) {
  const size_t cap = std::max<size_t>(1, size_t(bucket_bytes / std::max<size_t>(1, elem_bytes)));
  std::vector<Bucket> out;
  Bucket cur;
  for (int l = int(layer_elems.size()) - 1; l >= 0; --l) {
    size_t off = 0, left = layer_elems[size_t(l)];
    while (left > 0) {
      const size_t take = std::min(left, cap - cur.elems);
      cur.pieces.push_back({l, off, take});
      cur.elems += take;
      cur.ready_layer = l;
      off += take;
      left -= take;
      if (cur.elems == cap) {
        out.push_back(std::move(cur));
        cur = Bucket();
      }
    }
  }
  if (cur.elems > 0) out.push_back(std::move(cur));
  return out;
}

std::vector<std::pair<size_t, size_t>> count_chunks(size_t n, size_t max_count) {
  std::vector<std::pair<size_t, size_t>> out;
  max_count = std::max<size_t>(1, max_count);
  for (size_t off = 0; off < n; off += max_count) out.push_back({off, std::min(max_count, n - off)});
  return out;
}

// ---------------------------------------------------------------------------
// Intervals and bandwidth

namespace {
std::vector<Interval> merged(std::vector<Interval> iv) {
  std::vector<Interval> out;
  for (auto& i : iv)
    if (i.second < i.first) std::swap(i.first, i.second);
  std::sort(iv.begin(), iv.end());
  for (const auto& i : iv) {
    if (i.second <= i.first) continue;
    if (!out.empty() && i.first <= out.back().second) out.back().second = std::max(out.back().second, i.second);
    else out.push_back(i);
  }
  return out;
}
}  // namespace

double union_length(std::vector<Interval> iv) {
  double s = 0;
  for (const auto& i : merged(std::move(iv))) s += i.second - i.first;
  return s;
}

double uncovered_length(std::vector<Interval> comm, std::vector<Interval> covered) {
  const std::vector<Interval> a = merged(std::move(comm)), b = merged(std::move(covered));
  double out = 0;
  size_t j = 0;
  for (const auto& i : a) {
    double t = i.first;
    while (j < b.size() && b[j].second <= t) ++j;
    size_t k = j;
    while (t < i.second) {
      if (k >= b.size() || b[k].first >= i.second) {
        out += i.second - t;
        break;
      }
      if (b[k].first > t) out += b[k].first - t;
      t = std::max(t, b[k].second);
      ++k;
    }
  }
  return out;
}

double algbw_gbs(uint64_t bytes, double seconds) {
  return seconds > 0 ? double(bytes) / seconds / 1e9 : 0.0;
}

double allreduce_busbw(double algbw, int ranks) {
  return ranks > 1 ? algbw * 2.0 * (ranks - 1) / ranks : 0.0;
}

// ---------------------------------------------------------------------------
// MPI backend

#ifdef TRAINSCOPE_HAVE_MPI
namespace {
class MpiBackend : public Backend {
 public:
  explicit MpiBackend(MPI_Comm c) : comm_(c) {}
  ~MpiBackend() override {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Comm_free(&comm_);
  }
  const char* name() const override { return "mpi"; }
  bool allreduce_sum(float* data, size_t n, std::string& err) override {
    const auto chunks = count_chunks(n, kMaxMpiCount);
    std::vector<MPI_Request> reqs(chunks.size(), MPI_REQUEST_NULL);
    for (size_t i = 0; i < chunks.size(); ++i)
      if (!mpi_ok(MPI_Iallreduce(MPI_IN_PLACE, data + chunks[i].first, int(chunks[i].second),
                                 MPI_FLOAT, MPI_SUM, comm_, &reqs[i]),
                  "MPI_Iallreduce", err))
        return false;
    // Progress by testing: spin briefly (small messages finish in
    // microseconds), then yield, then sleep in short naps, so a rank waiting
    // for a slower one leaves the core to compute.
    const auto t0 = SteadyClock::now();
    for (;;) {
      int flag = 0;
      if (!mpi_ok(MPI_Testall(int(reqs.size()), reqs.data(), &flag, MPI_STATUSES_IGNORE),
                  "MPI_Iallreduce", err))
        return false;
      if (flag) return true;
      const double s = seconds_since(t0);
      if (s < 50e-6) continue;
      if (s < 1e-3) {
        sched_yield();
      } else {
        timespec ts{0, 20000};
        nanosleep(&ts, nullptr);
      }
    }
  }

 private:
  MPI_Comm comm_;
};
}  // namespace
#endif

std::unique_ptr<Backend> make_mpi_backend(const World& w, std::string& err) {
#ifdef TRAINSCOPE_HAVE_MPI
  if (!w.mpi) {
    err = "the mpi backend needs the trainer started by mpirun";
    return nullptr;
  }
  MPI_Comm c;
  if (!mpi_ok(MPI_Comm_dup(MPI_COMM_WORLD, &c), "MPI_Comm_dup", err)) return nullptr;
  MPI_Comm_set_errhandler(c, MPI_ERRORS_RETURN);
  return std::unique_ptr<Backend>(new MpiBackend(c));
#else
  err = "this trainer was built without MPI";
  return nullptr;
#endif
}

// ---------------------------------------------------------------------------
// GradReducer

class GradReducer::Tee : public LayerObserver {
 public:
  explicit Tee(GradReducer& r) : r_(r) {}
  LayerObserver* inner = nullptr;
  void begin(int layer, Phase phase) override {
    if (inner) inner->begin(layer, phase);
  }
  void end(int layer, Phase phase) override {
    if (inner) inner->end(layer, phase);
    if (phase == Phase::bwd) r_.layer_done(layer);
  }

 private:
  GradReducer& r_;
};

GradReducer::GradReducer(const World& w, Backend& backend, Allocator& alloc,
                         std::vector<Bucket> buckets, std::vector<float*> grads,
                         std::function<double()> now_us)
    : world_(w), backend_(backend), buckets_(std::move(buckets)), grads_(std::move(grads)),
      now_(std::move(now_us)), tee_(new Tee(*this)) {
  size_t staging = 0;
  int max_layer = 0;
  for (const Bucket& b : buckets_) {
    if (b.pieces.size() > 1) staging = std::max(staging, b.elems);
    max_layer = std::max(max_layer, b.ready_layer);
    for (const auto& p : b.pieces) max_layer = std::max(max_layer, p.layer);
  }
  // The staging buffer is communication memory, owned by no layer: charged
  // to layer 0's comm counter (the allocator wants a layer).
  if (staging) staging_ = Buffer<float>(alloc, staging, 0, Cat::comm);
  ready_by_layer_.assign(size_t(max_layer) + 1, {});
  for (size_t b = 0; b < buckets_.size(); ++b) ready_by_layer_[size_t(buckets_[b].ready_layer)].push_back(b);
  thread_ = std::thread(&GradReducer::thread_main, this);
}

GradReducer::~GradReducer() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GradReducer::arm(int64_t step, bool local_sq) {
  std::lock_guard<std::mutex> lk(mu_);
  armed_ = true;
  step_ = step;
  want_sq_ = local_sq;
  ready_ = 0;
  done_ = 0;
  error_.clear();
  records_.clear();
  local_sq_ = 0;
}

LayerObserver* GradReducer::observer(LayerObserver* inner) {
  tee_->inner = inner;
  return tee_.get();
}

void GradReducer::layer_done(int layer) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!armed_ || layer < 0 || size_t(layer) >= ready_by_layer_.size()) return;
    for (size_t b : ready_by_layer_[size_t(layer)]) ready_ = std::max(ready_, b + 1);
  }
  cv_.notify_all();
}

void GradReducer::flush_all() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!armed_) return;
    ready_ = buckets_.size();
  }
  cv_.notify_all();
}

bool GradReducer::wait(std::string& err) {
  std::unique_lock<std::mutex> lk(mu_);
  if (!armed_) return true;
  cv_.wait(lk, [&] { return done_ >= buckets_.size(); });
  armed_ = false;
  err = error_;
  return error_.empty();
}

void GradReducer::thread_main() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || (armed_ && done_ < ready_); });
    if (stop_) return;
    const size_t b = done_;
    const bool skip = !error_.empty();
    lk.unlock();
    std::string err;
    const bool ok = skip || reduce(b, err);
    lk.lock();
    if (!ok && error_.empty()) error_ = err;
    ++done_;
    cv_.notify_all();
  }
}

bool GradReducer::reduce(size_t b, std::string& err) {
  const Bucket& bk = buckets_[b];
  const bool staged = bk.pieces.size() > 1;
  float* data;
  if (staged) {
    data = staging_.data();
    size_t at = 0;
    for (const auto& p : bk.pieces) {
      std::memcpy(data + at, grads_[size_t(p.layer)] + p.offset, p.count * sizeof(float));
      at += p.count;
    }
  } else {
    data = grads_[size_t(bk.pieces[0].layer)] + bk.pieces[0].offset;
  }
  if (want_sq_) {
    double s = 0;
    for (size_t i = 0; i < bk.elems; ++i) s += double(data[i]) * data[i];
    std::lock_guard<std::mutex> lk(mu_);
    local_sq_ += s;
  }
  const double t0 = now_();
  const bool ok = backend_.allreduce_sum(data, bk.elems, err);
  const double t1 = now_();
  if (!ok) {
    err = "all-reduce of gradient bucket " + std::to_string(b) + " (" +
          std::to_string(bk.elems * sizeof(float)) + " bytes): " + err;
    return false;
  }
  const float inv = 1.0f / float(world_.size);
  if (staged) {
    size_t at = 0;
    for (const auto& p : bk.pieces) {
      float* g = grads_[size_t(p.layer)] + p.offset;
      for (size_t i = 0; i < p.count; ++i) g[i] = data[at + i] * inv;
      at += p.count;
    }
  } else if (world_.size > 1) {
    for (size_t i = 0; i < bk.elems; ++i) data[i] *= inv;
  }
  std::lock_guard<std::mutex> lk(mu_);
  records_.push_back({step_, int(b), uint64_t(bk.elems) * sizeof(float), t0, t1});
  return true;
}

// ---------------------------------------------------------------------------
// Watchdog

double watchdog_timeout_s() {
  const char* v = std::getenv("TRAINSCOPE_WATCHDOG_S");
  if (v && *v) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    if (end && *end == 0 && s > 0) return s;
  }
  return 5.0;
}

Watchdog::~Watchdog() { stop(); }

bool Watchdog::start(const World& w, double timeout_s, std::string& err) {
  world_ = w;
  timeout_s_ = timeout_s;
  if (!w.mpi || w.size < 2) return true;
#ifdef TRAINSCOPE_HAVE_MPI
  MPI_Comm* c = new MPI_Comm;
  if (!mpi_ok(MPI_Comm_dup(MPI_COMM_WORLD, c), "MPI_Comm_dup", err)) {
    delete c;
    return false;
  }
  MPI_Comm_set_errhandler(*c, MPI_ERRORS_RETURN);
  comm_ = c;
  stop_ = false;
  thread_ = std::thread(&Watchdog::thread_main, this);
  return true;
#else
  return true;
#endif
}

void Watchdog::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
#ifdef TRAINSCOPE_HAVE_MPI
  MPI_Comm* c = static_cast<MPI_Comm*>(comm_);
  int fin = 0;
  MPI_Finalized(&fin);
  if (c && !fin) MPI_Comm_free(c);
  delete c;
  comm_ = nullptr;
#endif
}

void Watchdog::thread_main() {
#ifdef TRAINSCOPE_HAVE_MPI
  MPI_Comm comm = *static_cast<MPI_Comm*>(comm_);
  const int n = world_.size, me = world_.rank;
  const int left = (me + n - 1) % n, right = (me + 1) % n;
  auto who = [&](int r) {
    std::string s = "rank " + std::to_string(r);
    if (size_t(r) < world_.pids.size() && size_t(r) < world_.hosts.size())
      s += " (pid " + std::to_string(world_.pids[size_t(r)]) + " on " + world_.hosts[size_t(r)] + ")";
    return s;
  };
  auto dead = [&](const std::string& why) {
    world_abort(world_, 1,
                "trainscope-train: error: " + who(left) + " stopped responding: " + why +
                    "; it died, was killed or hangs. Rank " + std::to_string(me) +
                    " ends the job (events up to the last finished step are on disk)");
  };
  int in_value = 0, out_value = 0, beat = 0;
  MPI_Request rreq = MPI_REQUEST_NULL, sreq = MPI_REQUEST_NULL;
  int rc = MPI_Irecv(&in_value, 1, MPI_INT, left, kTagHeartbeat, comm, &rreq);
  if (rc != MPI_SUCCESS) dead(mpi_error_string(rc));
  auto last_heard = SteadyClock::now();
  auto last_sent = SteadyClock::now() - std::chrono::seconds(10);
  bool left_bye = false, sent_bye = false;
  for (;;) {
    // Everything the left neighbour sent so far.
    while (!left_bye) {
      int flag = 0;
      rc = MPI_Test(&rreq, &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) dead("heartbeat receive failed: " + mpi_error_string(rc));
      if (!flag) break;
      last_heard = SteadyClock::now();
      if (in_value < 0) {
        left_bye = true;
      } else {
        rc = MPI_Irecv(&in_value, 1, MPI_INT, left, kTagHeartbeat, comm, &rreq);
        if (rc != MPI_SUCCESS) dead("heartbeat receive failed: " + mpi_error_string(rc));
      }
    }
    // One heartbeat in flight at a time; the last one says goodbye.
    if (sreq != MPI_REQUEST_NULL) {
      int flag = 0;
      rc = MPI_Test(&sreq, &flag, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        world_abort(world_, 1,
                    "trainscope-train: error: " + who(right) + " stopped responding: heartbeat send failed: " +
                        mpi_error_string(rc) + ". Rank " + std::to_string(me) + " ends the job");
      }
    }
    const bool stopping = stop_.load();
    if (sreq == MPI_REQUEST_NULL && !sent_bye &&
        (stopping || seconds_since(last_sent) >= std::min(0.25, timeout_s_ / 8))) {
      out_value = stopping ? -1 : (beat++ & 0x3fffffff);
      rc = MPI_Isend(&out_value, 1, MPI_INT, right, kTagHeartbeat, comm, &sreq);
      if (rc != MPI_SUCCESS)
        world_abort(world_, 1,
                    "trainscope-train: error: " + who(right) + " stopped responding: heartbeat send failed: " +
                        mpi_error_string(rc) + ". Rank " + std::to_string(me) + " ends the job");
      last_sent = SteadyClock::now();
      if (stopping) sent_bye = true;
    }
    if (left_bye && sent_bye && sreq == MPI_REQUEST_NULL) return;
    const double silent = seconds_since(last_heard);
    if (!left_bye && silent > timeout_s_) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "no heartbeat for %.1f s", silent);
      dead(buf);
    }
    timespec ts{0, stopping ? 2000000L : 20000000L};  // 2 ms while stopping, else 20 ms
    nanosleep(&ts, nullptr);
  }
#endif
}

// ---------------------------------------------------------------------------
// Trace collection

void TraceSink::span(TraceSpan s) {
  if (rank_ == 0) {
    trace_.span(std::move(s));
    return;
  }
  if (spans_.size() + counters_.size() < TraceBuilder::kMaxEvents) spans_.push_back(std::move(s));
}

void TraceSink::counter(TraceCounter c) {
  if (rank_ == 0) {
    trace_.counter(std::move(c));
    return;
  }
  if (spans_.size() + counters_.size() < TraceBuilder::kMaxEvents) counters_.push_back(std::move(c));
}

namespace {
template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& s, const std::string& v) {
  put<uint32_t>(s, uint32_t(v.size()));
  s += v;
}
struct Reader {
  const std::string& s;
  size_t at = 0;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (at + sizeof v > s.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, s.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    const uint32_t n = get<uint32_t>();
    if (!ok || at + n > s.size()) {
      ok = false;
      return {};
    }
    std::string v = s.substr(at, n);
    at += n;
    return v;
  }
};
}  // namespace

std::string TraceSink::encode(const std::vector<TraceSpan>& spans,
                              const std::vector<TraceCounter>& counters) {
  std::string s;
  put<uint64_t>(s, spans.size());
  for (const auto& sp : spans) {
    put<int32_t>(s, sp.rank);
    put<int32_t>(s, sp.lane);
    put_str(s, sp.name);
    put_str(s, sp.cat);
    put<double>(s, sp.t0);
    put<double>(s, sp.t1);
    put<int64_t>(s, sp.step);
    put<int32_t>(s, sp.layer);
  }
  put<uint64_t>(s, counters.size());
  for (const auto& c : counters) {
    put<int32_t>(s, c.rank);
    put_str(s, c.name);
    put<double>(s, c.t);
    put<uint32_t>(s, uint32_t(c.series.size()));
    for (const auto& kv : c.series) {
      put_str(s, kv.first);
      put<double>(s, kv.second);
    }
  }
  return s;
}

bool TraceSink::decode(const std::string& bytes, std::vector<TraceSpan>& spans,
                       std::vector<TraceCounter>& counters) {
  Reader r{bytes};
  const uint64_t ns = r.get<uint64_t>();
  for (uint64_t i = 0; r.ok && i < ns; ++i) {
    TraceSpan sp;
    sp.rank = r.get<int32_t>();
    sp.lane = r.get<int32_t>();
    sp.name = r.str();
    sp.cat = r.str();
    sp.t0 = r.get<double>();
    sp.t1 = r.get<double>();
    sp.step = r.get<int64_t>();
    sp.layer = r.get<int32_t>();
    if (r.ok) spans.push_back(std::move(sp));
  }
  const uint64_t nc = r.get<uint64_t>();
  for (uint64_t i = 0; r.ok && i < nc; ++i) {
    TraceCounter c;
    c.rank = r.get<int32_t>();
    c.name = r.str();
    c.t = r.get<double>();
    const uint32_t k = r.get<uint32_t>();
    for (uint32_t j = 0; r.ok && j < k; ++j) {
      std::string name = r.str();
      const double v = r.get<double>();
      c.series.push_back({std::move(name), v});
    }
    if (r.ok) counters.push_back(std::move(c));
  }
  return r.ok && r.at == bytes.size();
}

bool TraceSink::gather(const World& w, std::string& err) {
  if (!w.mpi || w.size < 2) return true;
  std::vector<std::string> all;
  const std::string mine = rank_ == 0 ? std::string() : encode(spans_, counters_);
  if (!world_gather_bytes(w, mine, all, err)) return false;
  spans_.clear();
  counters_.clear();
  if (w.rank != 0) return true;
  for (size_t r = 1; r < all.size(); ++r) {
    std::vector<TraceSpan> spans;
    std::vector<TraceCounter> counters;
    if (!decode(all[r], spans, counters)) {
      err = "the trace events of rank " + std::to_string(r) + " arrived damaged";
      return false;
    }
    for (auto& s : spans) trace_.span(std::move(s));
    for (auto& c : counters) trace_.counter(std::move(c));
  }
  return true;
}

std::string rank_path(const std::string& path, int rank) {
  if (path.empty() || rank == 0) return path;
  const size_t slash = path.find_last_of('/');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = path.find_last_of('.');
  const std::string tag = ".rank" + std::to_string(rank);
  if (dot == std::string::npos || dot <= base) return path + tag;
  return path.substr(0, dot) + tag + path.substr(dot);
}

}  // namespace ts
