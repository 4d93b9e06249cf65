// Matching the samples of two states by id and finding the samples whose values differ
// (dataset_diff.cc): the ground diff, status and merge stand on.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "gtn/result.h"
#include "gtn/store/manifest.h"

namespace gtn::store {

// The file id that marks the pending (unsealed) samples of the current state in tables
// built for comparison; chunk ids are random and never this value in practice, and such
// tables are never written.
inline constexpr uint64_t kPendingFile = std::numeric_limits<uint64_t>::max();

// Rows of states a and b matched by sample id.
struct Alignment {
  struct Match {
    uint64_t a, b, count;  // rows [a, a + count) of a are rows [b, b + count) of b
  };
  std::vector<Match> matched;   // in b's order
  std::vector<uint64_t> only_a;  // positions in a whose id b lacks, ascending
  std::vector<uint64_t> only_b;  // positions in b whose id a lacks, ascending
};
Alignment align_ids(const std::vector<ChunkEntry>& ids_a, const std::vector<ChunkEntry>& ids_b);

// Whether two samples (entry, sample index within its file) hold the same value.
using SameSampleFn = std::function<Result<bool>(const ChunkEntry&, uint32_t, const ChunkEntry&, uint32_t)>;
// Over matched rows, the (position in a, position in b) pairs whose values differ: rows
// that point at the same slice of the same chunk file are equal without a look.
Status changed_samples(const std::vector<ChunkEntry>& ta, const std::vector<ChunkEntry>& tb,
                       const std::vector<Alignment::Match>& matched, const SameSampleFn& same,
                       std::vector<std::pair<uint64_t, uint64_t>>* changed);
bool same_slice_file(const ChunkEntry& a, const ChunkEntry& b);

}  // namespace gtn::store
