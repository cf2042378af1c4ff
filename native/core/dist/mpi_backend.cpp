// The MPI backend: the gradient all-reduce over a duplicate of
// MPI_COMM_WORLD (MPI_Iallreduce, progressed by MPI_Testall with a short
// back-off so the waiting thread leaves the core to compute). Without MPI,
// make_mpi_backend says the trainer was built without it.
#include "dist/comm.h"
#include "dist/mpi_detail.h"

#include <sched.h>
#include <time.h>

#include <vector>

namespace ts {

#ifdef TRAINSCOPE_HAVE_MPI
using namespace mpi_detail;

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

}  // namespace ts
