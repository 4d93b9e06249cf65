// The cost model (docs/layout.md, "Cost model"): the predicted full-scan and random-epoch
// cost of one tensor in one layout, from the statistics measured on its rows.
#pragma once

#include <optional>

#include "gtn/layout.h"

namespace gtn::layout {

constexpr uint64_t kMiB = 1ull << 20;

struct Candidate {
  Compression sample = Compression::kNone;  // none, lz4, zstd, or the tensor's image codec
  Compression chunk = Compression::kNone;
  int level = 0;
  uint64_t chunk_bytes = 8ull << 20;
};

// The measure that describes `c` on these statistics (none: ratio 1, no decode cost);
// nullopt when the codec was not measured.
std::optional<CodecMeasure> measure_for(const TensorStats& stats, const Candidate& c);

// Predicted cost of a tensor with `stats` laid out as `c`.
Cost predict(const TensorStats& stats, const Candidate& c, const CostModel& model);

// Threads a scan uses (model.scan_threads, or the machine's cores).
unsigned scan_threads(const CostModel& model);

}  // namespace gtn::layout
