// The cross-key rules a config must satisfy beyond each key's own range:
// heads that divide the width, a vocabulary the data fits, a warm-up
// shorter than the run, fused attention's shapes, checkpoint layers that
// exist, and the sizes keys make together, which multiply downstream: the
// tokens of a micro-batch (matrix rows, an int for BLAS and cuBLAS) and the
// bytes of a step (64-bit sums in the memory model, the planner, buffer
// sizes). Internal to config/: the parser reports them, on final values.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace ts {
namespace cfg {

struct RuleProblem {
  std::vector<const char*> keys;  // reported at the first of these that was set
  std::string message;
};

// In the order they are reported. `written(key, value)` quotes a value as
// the user wrote it (or formats it).
std::vector<RuleProblem> cross_key_problems(const Config& c,
                                            const std::function<std::string(const char*, double)>& written);

}  // namespace cfg
}  // namespace ts
