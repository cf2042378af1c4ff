// Trace collection across ranks: rank 0's spans and counters go straight to
// its trace, other ranks keep theirs and send them, serialised, to rank 0
// when the run ends (through world_gather_bytes, so no MPI here); and the
// per-rank file names (events.jsonl -> events.rank1.jsonl).
#include "dist/comm.h"

#include <cstring>

namespace ts {

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
