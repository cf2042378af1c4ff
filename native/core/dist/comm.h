// Data-parallel communication: the MPI world, gradient buckets all-reduced
// while backward still runs, clock alignment across ranks, a watchdog that
// ends the job when a rank dies, and the helpers the step records need
// (interval unions, bus bandwidth). docs/distributed.md describes the whole.
//
// MPI is optional at build time (TRAINSCOPE_HAVE_MPI, set by CMake when it
// finds MPI): without it everything here still compiles, a single rank works
// unchanged, and asking for more ranks is a clear run-time error. This header
// never includes <mpi.h>, so the rest of the core does not depend on it.
//
// One file of dist/ a section below: world.cpp, clocks.cpp, chunks.cpp,
// intervals.cpp, grad_reducer.cpp (with the MPI backend in mpi_backend.cpp),
// watchdog.cpp and trace_gather.cpp. The MPI files share dist/mpi_detail.h.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/events.h"
#include "model/alloc.h"
#include "model/model.h"
#include "plan/buckets.h"

namespace ts {

// ---------------------------------------------------------------------------
// The process world

struct World {
  int rank = 0;
  int size = 1;
  bool mpi = false;        // MPI was initialised (the process was started by a launcher)
  int local_rank = 0;      // rank among the processes of this host (picks a GPU)
  std::string host;
  std::vector<int64_t> pids;          // per rank (filled by world_init)
  std::vector<std::string> hosts;     // per rank
};

// Whether this trainer was compiled with MPI.
bool mpi_built();
// The MPI implementation's name and version ("Open MPI v4.1.4, ..."), or "none".
std::string mpi_library_version();

// The number of processes the launcher says it started, from the
// environment of mpirun/mpiexec (Open MPI, MPICH/Hydra, Intel MPI,
// MVAPICH) or srun (Slurm, PMI/PMIx); 0 when no launcher is recognised.
int launcher_world_size();

// Starts MPI when the process was launched by mpirun/srun or ranks > 1 asks
// for it, and checks that the world has `want_ranks` processes. On failure
// returns false with err set ("parallel.ranks is 2 but mpirun started 3
// processes", "this trainer was built without MPI", ...). Without a
// launcher and with want_ranks == 1, MPI is not touched at all. MPI is
// finalised at process exit. Idempotent: later calls return the same world.
bool world_init(int want_ranks, World& w, std::string& err);

// Ends every rank of the job now (MPI_Abort) after printing message on
// stderr; without MPI, exits the process with `code`. A message that is
// not empty goes to the abort hook first.
[[noreturn]] void world_abort(const World& w, int code, const std::string& message);

// Called once by the first world_abort with a message, on whichever thread
// aborts (the watchdog's, usually), before the job ends: the trainer writes
// its error record and summary there, which dist/ knows nothing of. Set
// before the threads that may abort start, cleared (nullptr) after they
// stopped.
void set_abort_hook(std::function<void(const std::string& message)> hook);

// Collectives over the whole world on the calling thread (MPI_COMM_WORLD).
// No-ops for a world of one. Return false with err on an MPI error.
bool world_barrier(const World& w, std::string& err);
bool world_allreduce_sum(const World& w, double* values, int n, std::string& err);
bool world_allreduce_max(const World& w, double* values, int n, std::string& err);
bool world_allreduce_min(const World& w, double* values, int n, std::string& err);
// Broadcasts bytes from rank 0 (split into int-sized pieces).
bool world_broadcast(const World& w, void* data, size_t bytes, std::string& err);
// Rank 0 receives every rank's bytes (in rank order, its own first); other
// ranks get nothing back.
bool world_gather_bytes(const World& w, const std::string& mine, std::vector<std::string>& all,
                        std::string& err);

// ---------------------------------------------------------------------------
// Clock alignment

// Measures every rank's clock against rank 0's: a barrier, then rounds of
// ping-pong between rank 0 and each rank (the round with the smallest round
// trip wins; offset = remote - (send + receive) / 2). Returns the offsets in
// µs, indexed by rank (rank 0: 0), on every rank. `now_us` is the rank's
// run clock. Subtracting offsets[rank] from the local clock aligns it with
// rank 0's to about half the best round trip.
bool align_clocks(const World& w, const std::function<double()>& now_us,
                  std::vector<double>& offsets, std::string& err);

// ---------------------------------------------------------------------------
// Buckets (planned in plan/buckets.h)

// Splits n elements into pieces of at most max_count (MPI counts are int).
std::vector<std::pair<size_t, size_t>> count_chunks(size_t n, size_t max_count);

// ---------------------------------------------------------------------------
// Interval arithmetic and bandwidth

using Interval = std::pair<double, double>;  // [t0, t1]

// Total length covered by the union of the intervals.
double union_length(std::vector<Interval> iv);
// Length of the union of `comm` not covered by the union of `covered`.
double uncovered_length(std::vector<Interval> comm, std::vector<Interval> covered);

// nccl-tests conventions: algbw = bytes / time (GB/s, 1e9), all-reduce
// busbw = algbw * 2(n-1)/n (0 for one rank).
double algbw_gbs(uint64_t bytes, double seconds);
double allreduce_busbw(double algbw, int ranks);

// ---------------------------------------------------------------------------
// Gradient all-reduce

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Sums n floats in place over every rank. Runs on the communication thread.
  virtual bool allreduce_sum(float* data, size_t n, std::string& err) = 0;
};

// MPI_Iallreduce (MPI_IN_PLACE, MPI_SUM) on a duplicate of MPI_COMM_WORLD,
// progressed by MPI_Test with a short back-off instead of a busy wait, so
// the thread that waits does not steal a core from compute.
std::unique_ptr<Backend> make_mpi_backend(const World& w, std::string& err);

struct CommRecord {
  int64_t step;
  int bucket;
  uint64_t bytes;
  double t0, t1;  // µs, the run clock (aligned)
};

// Reduces the gradients bucket by bucket on its own thread: the trainer
// arms it before the backward of a step's last micro-batch, the observer it
// hands out marks a bucket ready when the layer that completes it ends its
// backward, and wait() returns when every bucket holds the average over
// ranks (sum / ranks).
class GradReducer {
 public:
  // grads[l] / layer_elems[l]: each layer's contiguous gradient block.
  GradReducer(const World& w, Backend& backend, Allocator& alloc, std::vector<Bucket> buckets,
              std::vector<float*> grads, std::function<double()> now_us);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  // Arms the reducer for the coming backward. With local_sq, the thread
  // also sums the squares of each bucket before reducing it (the rank's own
  // gradient norm, for the noise scale).
  void arm(int64_t step, bool local_sq);
  // An observer that forwards to `inner` and reports layer ends to the
  // reducer (when armed).
  LayerObserver* observer(LayerObserver* inner);
  // Blocks until every bucket of the armed step is reduced. false + err on
  // a communication failure (the error of the first failing bucket).
  bool wait(std::string& err);
  // Marks every not-yet-ready bucket ready (for callers that ran backward
  // without the observer).
  void flush_all();

  const std::vector<CommRecord>& records() const { return records_; }
  double local_sq() const { return local_sq_; }
  const std::vector<Bucket>& buckets() const { return buckets_; }
  uint64_t buffer_bytes() const { return staging_.size() * sizeof(float); }

 private:
  class Tee;
  void layer_done(int layer);
  void thread_main();
  bool reduce(size_t b, std::string& err);

  World world_;
  Backend& backend_;
  std::vector<Bucket> buckets_;
  std::vector<float*> grads_;
  std::function<double()> now_;
  Buffer<float> staging_;  // for buckets made of several pieces
  std::vector<std::vector<size_t>> ready_by_layer_;
  std::unique_ptr<Tee> tee_;

  std::mutex mu_;
  std::condition_variable cv_;
  size_t ready_ = 0;     // buckets marked ready (a prefix of the order)
  size_t done_ = 0;      // buckets reduced
  bool armed_ = false;
  bool stop_ = false;
  bool want_sq_ = false;
  int64_t step_ = 0;
  std::string error_;
  std::vector<CommRecord> records_;
  double local_sq_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Watchdog

// A thread that passes heartbeats around a ring of ranks (rank r tells
// r+1) on its own communicator. When a rank has not heard from its left
// neighbour for `timeout_s` it prints which rank stopped responding and
// aborts the job (MPI_Abort), so a dead or killed rank never leaves the
// others blocked in a collective. stop() ends it cleanly (every rank must
// call it: a final message tells the neighbour not to expect more).
class Watchdog {
 public:
  Watchdog() = default;
  ~Watchdog();
  bool start(const World& w, double timeout_s, std::string& err);
  void stop();
  bool running() const { return thread_.joinable(); }

 private:
  void thread_main();
  World world_;
  double timeout_s_ = 5;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  void* comm_ = nullptr;  // MPI_Comm, opaque here
};

// Watchdog timeout: TRAINSCOPE_WATCHDOG_S from the environment, else 5 s.
double watchdog_timeout_s();

// ---------------------------------------------------------------------------
// Trace collection across ranks

// Where the profiler's spans and counters go: rank 0 adds them straight to
// its trace; other ranks keep them until the run ends, when gather() sends
// them to rank 0, whose trace then shows every rank (pid = rank).
class TraceSink {
 public:
  TraceSink(TraceBuilder& trace, int rank) : trace_(trace), rank_(rank) {}
  int rank() const { return rank_; }
  void span(TraceSpan s);
  void counter(TraceCounter c);
  // Collective: every rank calls it; rank 0 adds the others' events.
  bool gather(const World& w, std::string& err);
  // Serialisation (exposed for tests).
  static std::string encode(const std::vector<TraceSpan>& spans,
                            const std::vector<TraceCounter>& counters);
  static bool decode(const std::string& bytes, std::vector<TraceSpan>& spans,
                     std::vector<TraceCounter>& counters);

 private:
  TraceBuilder& trace_;
  int rank_;
  std::vector<TraceSpan> spans_;
  std::vector<TraceCounter> counters_;
};

// events.jsonl -> events.rank1.jsonl (before the last extension, if any).
std::string rank_path(const std::string& path, int rank);

}  // namespace ts
