// Per-chunk statistics (ChunkStats in dataset.h; docs/format.md, "Chunk statistics"):
// computed from a chunk's samples as it is sealed, stored beside the chunk file's
// reference in the table's leaves.
#pragma once

#include <memory>
#include <string>

#include "gtn/dataset.h"
#include "gtn/store/chunk_writer.h"
#include "gtn/store/manifest.h"

namespace gtn::store {

// The statistics of the samples in `pending` (stored bytes, before chunk compression);
// null where none are kept (text, bytes and json tensors, sample compression).
std::shared_ptr<const ChunkStats> compute_chunk_stats(const TensorMeta& meta, const PendingChunk& pending);

// Leaf encoding 2 stores these after each file reference.
void put_chunk_stats(std::string* out, const ChunkStats* stats);
// Null for "unknown"; false on malformed bytes.
bool get_chunk_stats(ByteReader& in, std::shared_ptr<const ChunkStats>* stats);

}  // namespace gtn::store
