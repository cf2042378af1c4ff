// The process world: whether MPI was built in and which one, the size the
// launcher (mpirun, srun) announces, starting MPI and checking the world has
// parallel.ranks processes, aborting every rank, and the few collectives over
// MPI_COMM_WORLD the trainer calls on its own thread (barrier, all-reduce of
// doubles, broadcast, gather to rank 0). It also defines the MPI error
// helpers of dist/mpi_detail.h, which the other MPI files share.
#include "dist/comm.h"
#include "dist/mpi_detail.h"

#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ts {

#ifdef TRAINSCOPE_HAVE_MPI
namespace mpi_detail {

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

}  // namespace mpi_detail

using namespace mpi_detail;
#endif

namespace {

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

#ifdef TRAINSCOPE_HAVE_MPI
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
#endif

}  // namespace

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

namespace {
std::function<void(const std::string&)> g_abort_hook;
std::atomic<bool> g_aborting{false};
}  // namespace

void set_abort_hook(std::function<void(const std::string& message)> hook) { g_abort_hook = std::move(hook); }

void world_abort(const World& w, int code, const std::string& message) {
  if (!message.empty() && g_abort_hook) {
    // Two threads may abort at once (the watchdog and a failed collective):
    // the first one writes its records and ends the process; the second
    // waits for that rather than cutting the records short.
    if (g_aborting.exchange(true))
      for (;;) pause();
    g_abort_hook(message);
  }
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

}  // namespace ts
