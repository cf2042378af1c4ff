// Buckets: how the gradients are grouped for the all-reduce (in the order
// backward finishes layers), and how a count is cut into pieces one MPI call
// can take. Pure arithmetic, no MPI: the tests check it directly.
#include "dist/comm.h"

#include <algorithm>

namespace ts {

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

}  // namespace ts
