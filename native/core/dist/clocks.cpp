// Clock alignment: each rank's clock measured against rank 0's by
// ping-pong over MPI, so the step records and the trace of every rank share
// rank 0's time line.
#include "dist/comm.h"
#include "dist/mpi_detail.h"

#include <algorithm>
#include <cmath>

namespace ts {

#ifdef TRAINSCOPE_HAVE_MPI
using namespace mpi_detail;
#endif

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

}  // namespace ts
