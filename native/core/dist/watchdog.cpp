// The watchdog: heartbeats passed around a ring of ranks on a communicator
// of their own, so a rank that dies, is killed or hangs ends the job with a
// message naming it instead of leaving the others blocked in a collective.
#include "dist/comm.h"
#include "dist/mpi_detail.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace ts {

#ifdef TRAINSCOPE_HAVE_MPI
using namespace mpi_detail;
#endif

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

}  // namespace ts
