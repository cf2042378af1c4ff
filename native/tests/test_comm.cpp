// Data-parallel building blocks, in one process (the multi-rank runs are in
// test/distributed.test.ts, under mpirun): bucket planning in backward order
// with the tied embedding last, MPI count splitting, the interval arithmetic
// behind exposed communication, bus bandwidth, the gradient reducer with a
// fake backend (buckets start while "backward" still runs, averages come
// back in place, staged and unstaged buckets), trace serialisation across
// ranks, per-rank file names, and the errors of a world without a launcher
// and of a missing NCCL.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "check.h"
#include "dist/comm.h"
#include "dist/nccl_loader.h"
#include "model/alloc.h"

using namespace ts;
using ts::test::contains;
using ts::test::expect;


static void test_buckets() {
  // Layers 0 (embed, 1000 floats), 1..3 (blocks, 700), 4 (head, 10).
  const std::vector<size_t> layers = {1000, 700, 700, 700, 10};
  const std::vector<Bucket> b = plan_buckets(layers, 4 * 800);  // 800 floats per bucket
  size_t total = 0;
  std::vector<size_t> seen(layers.size(), 0);
  int last_ready = 1 << 30;
  bool ok_cap = true, ok_order = true, ok_ready = true;
  for (const Bucket& bk : b) {
    size_t n = 0;
    int lowest = 1 << 30;
    for (const auto& p : bk.pieces) {
      // Pieces of one layer are contiguous and in order.
      if (p.offset != seen[size_t(p.layer)]) ok_order = false;
      seen[size_t(p.layer)] += p.count;
      n += p.count;
      lowest = std::min(lowest, p.layer);
    }
    if (n != bk.elems || n > 800 || n == 0) ok_cap = false;
    if (bk.ready_layer != lowest) ok_ready = false;
    if (bk.ready_layer > last_ready) ok_order = false;
    last_ready = bk.ready_layer;
    total += n;
  }
  expect(total == 3110 && seen == layers, "buckets cover every gradient exactly once");
  expect(ok_cap, "no bucket exceeds the bucket size");
  expect(ok_order, "buckets follow backward's order (head first) and a layer's own order");
  expect(ok_ready, "a bucket is ready when the last layer it holds (the lowest index) ends backward");
  expect(!b.empty() && b.front().pieces.front().layer == 4, "the head's gradients go first");
  expect(!b.empty() && b.back().ready_layer == 0,
         "the embedding (tied to the head) is in the last bucket, ready only at the end");
  // A bucket larger than the model: one bucket, ready at layer 0.
  const std::vector<Bucket> one = plan_buckets(layers, 1 << 30);
  expect(one.size() == 1 && one[0].ready_layer == 0 && one[0].elems == 3110, "one big bucket");
  // A bucket smaller than a float still holds one element.
  const std::vector<Bucket> tiny = plan_buckets({3}, 1);
  expect(tiny.size() == 3 && tiny[0].elems == 1, "buckets hold at least one element");

  const auto ch = count_chunks(10, 4);
  expect(ch.size() == 3 && ch[0] == std::make_pair(size_t(0), size_t(4)) && ch[2].second == 2,
         "count_chunks splits 10 into 4+4+2");
  const auto big = count_chunks((size_t(1) << 32) + 5, size_t(1) << 30);
  size_t sum = 0;
  bool fits = true;
  for (const auto& c : big) {
    sum += c.second;
    fits = fits && c.second <= size_t(1) << 30;
  }
  expect(big.size() == 5 && sum == (size_t(1) << 32) + 5 && fits,
         "2^32+5 elements split into int-sized MPI counts");
  expect(count_chunks(0, 4).empty(), "nothing to split");
}

static void test_intervals() {
  expect(union_length({{0, 2}, {1, 3}, {5, 6}}) == 4, "union of overlapping intervals");
  expect(union_length({}) == 0, "empty union");
  // Comm [2,6] and [8,10]; compute [0,5] and [9,20]: exposed = [5,6] + [8,9].
  expect(std::fabs(uncovered_length({{2, 6}, {8, 10}}, {{0, 5}, {9, 20}}) - 2) < 1e-12,
         "exposed time is the communication no compute covers");
  expect(uncovered_length({{2, 6}}, {}) == 4, "nothing covered: all exposed");
  expect(uncovered_length({{2, 6}}, {{0, 10}}) == 0, "all covered: nothing exposed");
  expect(std::fabs(uncovered_length({{0, 10}}, {{1, 2}, {3, 4}, {5, 6}}) - 7) < 1e-12,
         "several covering intervals inside one communication");
  expect(std::fabs(uncovered_length({{0, 4}, {3, 8}}, {{2, 5}}) - 5) < 1e-12,
         "overlapping communication intervals count once");
  // 1e9 bytes in 1 s = 1 GB/s; busbw with 2 ranks = algbw, with 8 = 1.75x.
  expect(std::fabs(algbw_gbs(1000000000ull, 1.0) - 1.0) < 1e-12, "algbw in GB/s (1e9)");
  expect(std::fabs(allreduce_busbw(2.0, 2) - 2.0) < 1e-12, "busbw with 2 ranks = algbw");
  expect(std::fabs(allreduce_busbw(2.0, 8) - 3.5) < 1e-12, "busbw with 8 ranks = algbw * 2*7/8");
  expect(allreduce_busbw(2.0, 1) == 0, "busbw with one rank is 0");
}

// A backend standing in for two ranks with identical gradients: the sum is
// twice the input. It records when each bucket started.
class FakeBackend : public Backend {
 public:
  const char* name() const override { return "fake"; }
  bool allreduce_sum(float* data, size_t n, std::string& err) override {
    started.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (size_t i = 0; i < n; ++i) data[i] *= 2.0f;
    if (fail_at >= 0 && started.load() - 1 == fail_at) {
      err = "fake failure";
      return false;
    }
    return true;
  }
  std::atomic<int> started{0};
  int fail_at = -1;
};

static void test_reducer() {
  World w;
  w.size = 2;  // the reducer divides by the world size
  Allocator alloc(5);
  const std::vector<size_t> sizes = {1000, 700, 700, 700, 10};
  std::vector<std::vector<float>> g(sizes.size());
  std::vector<float*> ptrs;
  for (size_t l = 0; l < sizes.size(); ++l) {
    g[l].resize(sizes[l]);
    for (size_t i = 0; i < sizes[l]; ++i) g[l][i] = float(l * 10000 + i) * 0.25f;
    ptrs.push_back(g[l].data());
  }
  const auto want = g;
  FakeBackend be;
  auto clock0 = std::chrono::steady_clock::now();
  auto now = [&] {
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - clock0).count();
  };
  std::vector<Bucket> buckets = plan_buckets(sizes, 4 * 800);
  const size_t nb = buckets.size();
  GradReducer red(w, be, alloc, buckets, ptrs, now);
  expect(alloc.category(Cat::comm).live > 0 && red.buffer_bytes() <= 4 * 800,
         "the staging buffer is tracked as comm memory, at most one bucket");

  // Simulated backward: layers end from the head down, with "compute" in
  // between; buckets must start before the backward is over.
  struct Obs : LayerObserver {
    int ends = 0;
    void begin(int, Phase) override {}
    void end(int, Phase) override { ++ends; }
  } inner;
  red.arm(7, true);
  LayerObserver* obs = red.observer(&inner);
  int started_before_end = 0;
  for (int l = 4; l >= 0; --l) {
    obs->begin(l, Phase::bwd);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (l == 0) {
      // The last layer's "compute": the buckets completed by the layers
      // above (two of them) must get going without waiting for it.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (be.started.load() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      started_before_end = be.started.load();
    }
    obs->end(l, Phase::bwd);
  }
  std::string err;
  const bool ok = red.wait(err);
  expect(ok && err.empty(), "every bucket reduced: " + err);
  expect(inner.ends == 5, "the observer forwards to the profiler");
  expect(started_before_end >= 2,
         "buckets were reduced while backward still ran (" + std::to_string(started_before_end) +
             " of " + std::to_string(nb) + " before the last layer)");
  expect(be.started.load() == int(nb), "one all-reduce per bucket");
  expect(g == want, "sum over 2 identical ranks / 2 = the gradients, staged and in place");
  expect(red.records().size() == nb, "one comm record per bucket");
  bool rec_ok = true;
  uint64_t bytes = 0;
  for (size_t i = 0; i < red.records().size(); ++i) {
    const CommRecord& r = red.records()[i];
    rec_ok = rec_ok && r.step == 7 && r.bucket == int(i) && r.t1 >= r.t0;
    bytes += r.bytes;
  }
  expect(rec_ok && bytes == 3110 * 4, "records: step, bucket order, times, bytes");
  double sq = 0;
  for (const auto& layer : want)
    for (float x : layer) sq += double(x) * x;
  expect(std::fabs(red.local_sq() - sq) / sq < 1e-12, "the rank's own gradient norm, before the reduction");

  // Not armed: layer ends do nothing; wait returns at once.
  be.started = 0;
  for (int l = 4; l >= 0; --l) obs->end(l, Phase::bwd);
  expect(red.wait(err) && be.started.load() == 0, "an unarmed reducer communicates nothing");

  // A failing bucket is reported, and the rest still completes.
  be.started = 0;
  be.fail_at = 1;
  red.arm(8, false);
  red.flush_all();
  expect(!red.wait(err) && contains(err, "bucket 1") && contains(err, "fake failure"),
         "a failed all-reduce is reported with its bucket: " + err);
}

static void test_trace_sink() {
  TraceBuilder tb;
  TraceSink sink(tb, 1);
  sink.span({1, 2, "allreduce bucket 3", "comm", 10.5, 20.25, 4, -1});
  sink.counter({1, "memory (MB)", 11, {{"act", 1.5}, {"workspace", 2}}});
  std::vector<TraceSpan> spans = {{1, 1, "block.0 fwd", "fwd", 1, 2, 3, 1}};
  std::vector<TraceCounter> counters = {{1, "memory (MB)", 5, {{"act", 0.25}}}};
  const std::string bytes = TraceSink::encode(spans, counters);
  std::vector<TraceSpan> s2;
  std::vector<TraceCounter> c2;
  expect(TraceSink::decode(bytes, s2, c2) && s2.size() == 1 && c2.size() == 1 &&
             s2[0].name == "block.0 fwd" && s2[0].t1 == 2 && s2[0].layer == 1 &&
             c2[0].series[0].second == 0.25,
         "trace events survive the trip to rank 0");
  std::vector<TraceSpan> s3;
  std::vector<TraceCounter> c3;
  expect(!TraceSink::decode(bytes.substr(0, bytes.size() - 3), s3, c3), "a damaged trace is refused");
  expect(tb.size() == 0, "rank 1 keeps its events until the run ends");
  World single;
  std::string err;
  expect(sink.gather(single, err), "gathering in a world of one is a no-op");

  expect(rank_path("runs/a/events.jsonl", 1) == "runs/a/events.rank1.jsonl", "per-rank events file");
  expect(rank_path("runs/a.b/events", 3) == "runs/a.b/events.rank3", "per-rank file without extension");
  expect(rank_path("events.jsonl", 0) == "events.jsonl", "rank 0 keeps the path");
  expect(rank_path("", 2).empty(), "no events file: none per rank");
}

static void test_world_and_nccl() {
  // This test runs without mpirun: one rank works without MPI, more is a
  // clear error either way the trainer was built.
  if (launcher_world_size() == 0) {
    World w;
    std::string err;
    expect(world_init(1, w, err) && w.size == 1 && w.rank == 0 && !w.mpi,
           "one rank without mpirun: MPI untouched");
    World w2;
    expect(!world_init(2, w2, err), "two ranks without mpirun fail");
    expect(mpi_built() ? contains(err, "not started by mpirun") && contains(err, "mpirun -np 2")
                       : contains(err, "built without MPI"),
           "and say how to start them: " + err);
  }
  std::string err;
  World w;
  std::vector<double> offs;
  expect(align_clocks(w, [] { return 0.0; }, offs, err) && offs.size() == 1 && offs[0] == 0,
         "one rank's clock offset is 0");

  Nccl nccl;
  if (!nccl.load(err)) {
    expect(contains(err, "parallel.backend nccl: cannot load libnccl.so.2: "),
           "a missing NCCL says so: " + err);
    return;
  }
  // NCCL is installed: check what we can.
  expect(nccl.version() >= 20900, "NCCL version " + nccl.version_string());
  expect(nccl.has_avg() == (nccl.version() >= Nccl::kAvgSince), "ncclAvg from 2.10.3 on");
  World one;
  if (!nccl.init(one, err)) {
    std::printf("note: NCCL %s loads, but no communicator: %s\n", nccl.version_string().c_str(), err.c_str());
    return;
  }
  std::vector<float> host(1000), back(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = float(i) * 0.5f;
  void* dev = nullptr;
  const bool ok = nccl.device_alloc(&dev, host.size() * 4, err) &&
                  nccl.copy_to_device(dev, host.data(), host.size() * 4, err) &&
                  nccl.allreduce_avg(dev, host.size(), Nccl::kFloat32, err) && nccl.synchronize(err) &&
                  nccl.copy_to_host(back.data(), dev, host.size() * 4, err);
  nccl.device_free(dev);
  expect(ok && back == host, "NCCL all-reduce (average) over one rank leaves the data: " + err);
}

int main() {
  test::quiet_unless_verbose();
  test_buckets();
  test_intervals();
  test_reducer();
  test_trace_sink();
  test_world_and_nccl();
  return test::report("test_comm");
}
