// The persisted index of incremental runs: per row the exact hash, LSH keys, length,
// emptiness and cluster root, plus the parameters they were made with. Layout:
//   "GTNDEDUP1\n", u32 header length, header (JSON), u64 rows, then per-row arrays
//   exact (16 B), length (8 B), empty (1 B), keys (bands x 8 B), root (8 B), and a
//   trailing XXH3-64 of every byte before it. Written to a temporary file and renamed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gtn/curate/text_stage.h"
#include "gtn/result.h"

namespace gtn::curate {

struct DedupIndex {
  std::string params;  // canonical JSON of the parameters that decide the hashes
  RowHashes hashes;
  std::vector<uint64_t> roots;
  bool matches = true;  // false: made with other parameters (nothing else was read)
};

Status write_dedup_index(const std::string& path, const DedupIndex& index);
// NotFound when there is no file; Corruption when it does not parse or its checksum fails.
Result<DedupIndex> read_dedup_index(const std::string& path, const std::string& expected_params, int bands);

}  // namespace gtn::curate
