#include "plan/flops.h"

namespace ts {

double block_forward_flops(const Config& cfg) {
  const double B = cfg.train.batch, T = cfg.model.context, C = cfg.model.width;
  return 2.0 * B * T * 12 * C * C + 4.0 * B * T * T * C;
}

double step_flops(const Config& cfg) {
  const double N = double(cfg.train.batch) * cfg.model.context;
  return 3.0 * (block_forward_flops(cfg) * cfg.model.layers +
                2.0 * N * cfg.model.width * cfg.model.vocab);
}

}  // namespace ts
