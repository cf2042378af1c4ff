// Gradient buckets: pure arithmetic, no MPI; the tests check it directly.
#include "plan/buckets.h"

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

size_t staging_elems(const std::vector<Bucket>& buckets) {
  size_t n = 0;
  for (const Bucket& b : buckets)
    if (b.pieces.size() > 1) n = std::max(n, b.elems);
  return n;
}

}  // namespace ts
