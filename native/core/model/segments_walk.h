// Activation checkpointing as the passes walk it, one home for the CPU model
// (model.cpp) and the CUDA plugin (cuda/gpt_cuda.cu): both must keep,
// drop and recompute the very same activations, since the memory model
// predicts one plan for both and the tests compare their gradients bitwise
// with and without checkpointing. Each backend passes its blocks'
// activations (a vector of structs whose output is res3) and its own
// recompute step.
#pragma once
#include <utility>
#include <vector>

#include "plan/segments.h"

namespace ts {

class SegmentWalk {
 public:
  SegmentWalk() = default;
  SegmentWalk(const Segments& segments, int blocks) : segments_(segments), seg_of_(blocks, -1) {
    for (size_t k = 0; k < segments.size(); ++k)
      for (int b = segments[k].first; b <= segments[k].second && b < blocks; ++b) seg_of_[b] = int(k);
  }

  // Forward, after block l ran. A checkpointed block keeps only its output
  // (the next block's input); inside a segment the previous block's output
  // goes too, once this block has consumed it: backward recomputes it from
  // the segment input.
  template <typename Blocks>
  void after_forward(int l, Blocks& blocks) const {
    const int seg = segment_of(l);
    if (seg < 0) return;
    auto out = std::move(blocks[l].res3);
    blocks[l] = typename Blocks::value_type();
    blocks[l].res3 = std::move(out);
    if (l > 0 && segment_of(l - 1) == seg) blocks[l - 1].res3.reset();
  }

  // Backward, before block l. Entering a segment from its end, its stored
  // output has been used by the layer above: it goes, and
  // recompute(m, keep_output) runs the segment's blocks first..l again from
  // the segment input; the last one needs its internals, not its output.
  template <typename Blocks, typename Recompute>
  void before_backward(int l, Blocks& blocks, Recompute recompute) const {
    const int seg = segment_of(l);
    if (seg < 0 || segments_[seg].second != l) return;
    blocks[l].res3.reset();
    for (int m = segments_[seg].first; m <= l; ++m) recompute(m, m < l);
  }

 private:
  int segment_of(int block) const { return seg_of_.empty() ? -1 : seg_of_[block]; }

  Segments segments_;
  std::vector<int> seg_of_;  // per block: index into segments_, -1 = kept
};

}  // namespace ts
