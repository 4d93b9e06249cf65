// Edits of in-memory chunk tables (and the sample id table): replacing and deleting
// single samples, cutting the tail, appending runs. Entries are slices of chunk files, so
// every edit splits or drops slices and never touches a chunk file.
#pragma once

#include <functional>
#include <vector>

#include "gtn/result.h"
#include "gtn/store/manifest.h"

namespace gtn::store {

// Raw bytes of samples [first, first + count) of the chunk file(s) of entry `e` (first is
// relative to the file, i.e. already includes e.chunk_offset).
using RawBytesFn = std::function<Result<uint64_t>(const ChunkEntry& e, uint32_t first, uint32_t count)>;

// One edit at a sample position: delete it, or replace it by the one-sample slice `with`.
struct TableEdit {
  uint64_t index = 0;
  bool erase = false;
  ChunkEntry with;
};

// Applies `edits` (sorted by index, one per index, every index < the table's sample count).
Status edit_table(std::vector<ChunkEntry>* entries, const std::vector<TableEdit>& edits, const RawBytesFn& raw);
// Keeps the first `n` samples.
Status cut_table(std::vector<ChunkEntry>* entries, uint64_t n, const RawBytesFn& raw);
// Appends `e` after the last entry (setting first_sample), merged into it when `e`
// continues the same single file (the next samples of the same chunk, or of an id block).
void append_entry(std::vector<ChunkEntry>* entries, ChunkEntry e);
// Entry k's one-sample slice for sample `index` (which entry k holds), raw bytes from `raw`.
Result<ChunkEntry> sample_slice(const ChunkEntry& e, uint64_t index, const RawBytesFn& raw);
// Recomputes first_sample from the counts.
void renumber(std::vector<ChunkEntry>* entries);
// Samples held.
inline uint64_t table_samples(const std::vector<ChunkEntry>& t) {
  return t.empty() ? 0 : t.back().first_sample + t.back().num_samples;
}

}  // namespace gtn::store
