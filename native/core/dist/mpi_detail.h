// What the files of dist/ that call MPI share, and nothing else: <mpi.h>
// itself, the error-code helpers, the largest count one MPI call takes, the
// message tags (kept side by side so no two uses of MPI_COMM_WORLD collide)
// and the clock the progress loops back off by. Only world.cpp, clocks.cpp,
// mpi_backend.cpp and watchdog.cpp include it, and CMake sets
// TRAINSCOPE_HAVE_MPI on exactly those files, so the rest of the core (and
// dist/comm.h, the public header) never sees MPI. Without MPI this header
// is empty.
#pragma once

#ifdef TRAINSCOPE_HAVE_MPI
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace ts {
namespace mpi_detail {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// Largest count handed to one MPI call: the standard's counts are int.
constexpr size_t kMaxMpiCount = size_t(1) << 30;

// MPI's text for an error code ("MPI error N" when it has none).
std::string mpi_error_string(int code);

// True when rc is MPI_SUCCESS; else sets err to "<what> failed: <MPI's text>".
bool mpi_ok(int rc, const char* what, std::string& err);

constexpr int kTagClock = 7301;      // clocks.cpp: ping-pong with rank 0
constexpr int kTagGather = 7302;     // world.cpp: world_gather_bytes
constexpr int kTagHeartbeat = 7303;  // watchdog.cpp: the heartbeat ring

}  // namespace mpi_detail
}  // namespace ts
#endif
