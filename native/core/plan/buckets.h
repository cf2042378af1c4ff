// Gradient buckets: how the gradients are grouped for the data-parallel
// all-reduce (dist/grad_reducer.cpp reduces them while backward still runs),
// and the staging buffer that grouping needs. Here in plan/, not dist/,
// because the memory model counts that buffer: both read one function.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ts {

// A run of one layer's gradient elements.
struct BucketPiece {
  int layer;
  size_t offset;  // elements into the layer's gradient block
  size_t count;   // elements
};

struct Bucket {
  std::vector<BucketPiece> pieces;
  size_t elems = 0;
  int ready_layer = 0;  // the bucket is complete when this layer's backward ends
};

// Groups gradients into buckets of at most bucket_bytes (at least one
// element each), in the order backward finishes layers: the last layer
// (head) first, down to layer 0 (the embedding). A layer larger than a
// bucket is split over several. Layer 0 is finished only when the whole
// backward is (the tied embedding takes gradients from the head too), which
// the order already guarantees: a bucket holding layer 0 is the last ready.
std::vector<Bucket> plan_buckets(const std::vector<size_t>& layer_elems, uint64_t bucket_bytes,
                                 size_t elem_bytes = sizeof(float));

// Elements of the staging buffer: a bucket of one piece is reduced in place
// in its layer's gradient block; one made of several pieces is gathered into
// a contiguous buffer first, sized for the largest such bucket (0 if none).
size_t staging_elems(const std::vector<Bucket>& buckets);

}  // namespace ts
