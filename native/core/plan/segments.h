// Activation-checkpoint plans as data: a list of segments of consecutive
// blocks ([first, last], ascending). The memory model predicts under one,
// the planner chooses one, the config language writes one.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ts {

using Segments = std::vector<std::pair<int, int>>;

// Segments of k blocks covering all L: "every k" ("sqrt" is k = ceil(sqrt(L))).
Segments segments_every(int layers, int k);
int sqrt_segment_size(int layers);

// "layers 0-3,4-7" form of a plan, as the config language writes it.
std::string segments_text(const Segments& s);

}  // namespace ts
