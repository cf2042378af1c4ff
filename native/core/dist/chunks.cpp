// Cutting a count into pieces one MPI call can take (MPI counts are int).
// Pure arithmetic, no MPI: the tests check it directly.
#include "dist/comm.h"

#include <algorithm>

namespace ts {

std::vector<std::pair<size_t, size_t>> count_chunks(size_t n, size_t max_count) {
  std::vector<std::pair<size_t, size_t>> out;
  max_count = std::max<size_t>(1, max_count);
  for (size_t off = 0; off < n; off += max_count) out.push_back({off, std::min(max_count, n - off)});
  return out;
}

}  // namespace ts
