#include "plan/segments.h"

#include <algorithm>
#include <cmath>

namespace ts {

Segments segments_every(int layers, int k) {
  Segments s;
  for (int a = 0; a < layers; a += k) s.push_back({a, std::min(layers, a + k) - 1});
  return s;
}

int sqrt_segment_size(int layers) { return int(std::ceil(std::sqrt(double(layers)))); }

std::string segments_text(const Segments& s) {
  if (s.empty()) return "none";
  std::string t = "layers ";
  for (size_t i = 0; i < s.size(); ++i) {
    t += (i ? "," : "") + std::to_string(s[i].first);
    if (s[i].second != s[i].first) t += "-" + std::to_string(s[i].second);
  }
  return t;
}

}  // namespace ts
