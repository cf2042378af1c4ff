// Intervals and bandwidth: the arithmetic the step records need (the union
// of communication intervals, the part of it no compute covers) and the
// nccl-tests bandwidth conventions. Pure arithmetic, no MPI.
#include "dist/comm.h"

#include <algorithm>
#include <utility>

namespace ts {

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

}  // namespace ts
