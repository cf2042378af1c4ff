// FLOP counts of one training step, from the config alone: the memory
// model reports them and the planner weighs recompute against them.
#pragma once

#include "config/config.h"

namespace ts {

// Forward FLOPs of one block: its four matrix products (2*N*12C^2) and the
// two attention products over the full T x T tile (4*B*T*T*C).
double block_forward_flops(const Config& cfg);
// A training step without recompute: forward + backward (twice the forward)
// of every block and of the LM head.
double step_flops(const Config& cfg);

}  // namespace ts
