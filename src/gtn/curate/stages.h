// The image and semantic stages: each adds the pairs it finds to the union-find.
#pragma once

#include <cstdint>
#include <vector>

#include "gtn/curate.h"
#include "gtn/dataset.h"
#include "gtn/curate/union_find.h"

namespace gtn::curate {

struct Edge {
  uint64_t a = 0, b = 0;  // a < b
  double similarity = 0;
};

// Pairs of rows of an image tensor whose perceptual hashes differ in at most
// options.hamming_radius bits.
Result<std::vector<Edge>> image_pairs(const Dataset& ds, size_t tensor_index, const DedupOptions& options, int threads,
                                      uint64_t* compared);

// Pairs of rows of an embedding tensor in the same k-means cluster with cosine similarity
// >= options.threshold.
Result<std::vector<Edge>> semantic_pairs(const Dataset& ds, size_t tensor_index, const DedupOptions& options,
                                         int threads, uint64_t* compared);

}  // namespace gtn::curate
