#include "gtn/store/chunk_writer.h"

#include "gtn/store/chunk_stats.h"

#include <algorithm>

#include "gtn/store/chunk_format.h"
#include "gtn/store/coding.h"

namespace gtn::store {

// The largest chunk target whose buffer is reserved whole up front.
constexpr uint64_t kReserveBytes = 64ull << 20;

void PendingChunk::add(std::string_view stored, const Shape& shape, uint64_t raw) {
  data.append(stored.data(), stored.size());
  positions.append(stored.size());
  shapes.append(shape);
  raw_bytes += raw;
}

void PendingChunk::add_empty(uint32_t n) {
  positions.append(0, n);
  shapes.append(Shape{0}, n);
}

void PendingChunk::pop_back(size_t dtype_bytes) {
  uint32_t j = size() - 1;
  uint64_t off, len;
  positions.locate(j, &off, &len);
  raw_bytes -= static_cast<uint64_t>(shape_numel(shapes.shape(j))) * dtype_bytes;
  data.resize(off);
  positions.pop_back();
  shapes.pop_back();
}

Result<ChunkFileRef> ChunkWriter::write_file(const TensorMeta& meta, const std::string& bytes) {
  ChunkFileRef ref;
  do {
    ref.id = (*rng_)();
  } while (ref.id == 0);
  ref.size = bytes.size();
  GTN_ASSIGN_OR_RETURN(ChunkChecksums sums, chunk_checksums(bytes));
  ref.checksum = sums.stored;
  std::string key = chunk_key(meta.key, ref.id);
  if (sync_each_file_) {
    GTN_RETURN_IF_ERROR(storage_->write_atomic(key, bytes));
  } else {
    GTN_RETURN_IF_ERROR(storage_->write_atomic_unsynced(key, bytes));
    unsynced_.push_back(std::move(key));
  }
  return ref;
}

Status ChunkWriter::remove(const std::string& key) {
  unsynced_.erase(std::remove(unsynced_.begin(), unsynced_.end(), key), unsynced_.end());
  return storage_->remove(key);
}

Status ChunkWriter::sync_written() {
  if (unsynced_.empty()) return Status::OK();
  GTN_RETURN_IF_ERROR(storage_->sync(unsynced_));
  unsynced_.clear();
  return Status::OK();
}

Status ChunkWriter::seal(const TensorMeta& meta, PendingChunk* pending, uint64_t* pending_first,
                         std::vector<ChunkEntry>* written) {
  if (pending->size() == 0) return Status::OK();
  ChunkHeader h;
  h.dtype = meta.dtype;
  h.sample_compression = meta.sample_compression;
  h.chunk_compression = meta.chunk_compression;
  h.positions = pending->positions;
  h.shapes = pending->shapes;
  GTN_ASSIGN_OR_RETURN(std::string bytes, encode_chunk(std::move(h), pending->data, meta.compression_level));
  GTN_ASSIGN_OR_RETURN(ChunkFileRef ref, write_file(meta, bytes));
  ref.stats = compute_chunk_stats(meta, *pending);
  ChunkEntry e;
  e.first_sample = *pending_first;
  e.num_samples = pending->size();
  e.raw_bytes = pending->raw_bytes;
  e.files.push_back(ref);
  written->push_back(std::move(e));
  *pending_first += pending->size();
  // The next chunk reuses the buffer: no new allocation and page faults per chunk.
  std::string buffer = std::move(pending->data);
  buffer.clear();
  uint64_t limit = pending->reserve_limit;
  *pending = PendingChunk();
  pending->data = std::move(buffer);
  pending->reserve_limit = limit;
  return Status::OK();
}

Result<ChunkEntry> ChunkWriter::write_tiled(const TensorMeta& meta, std::string_view stored, const Shape& shape,
                                            uint64_t raw, uint64_t first_sample) {
  uint64_t target = meta.chunk_target_bytes;
  uint64_t count = (stored.size() + target - 1) / target;
  if (count > UINT32_MAX) return Status::InvalidArgument("sample needs more than 2^32 tiles; raise chunk_target_bytes");
  ChunkEntry e;
  e.first_sample = first_sample;
  e.num_samples = 1;
  e.raw_bytes = raw;
  for (uint64_t i = 0; i < count; ++i) {
    ChunkHeader h;
    h.dtype = meta.dtype;
    h.sample_compression = meta.sample_compression;
    h.chunk_compression = Compression::kNone;
    h.flags = kChunkFlagTile;
    h.positions.append(stored.size());
    h.shapes.append(shape);
    h.tile.index = static_cast<uint32_t>(i);
    h.tile.count = static_cast<uint32_t>(count);
    h.tile.offset = i * target;
    h.tile.total_bytes = stored.size();
    std::string_view piece = stored.substr(i * target, target);
    GTN_ASSIGN_OR_RETURN(std::string bytes, encode_chunk(std::move(h), piece));
    GTN_ASSIGN_OR_RETURN(ChunkFileRef ref, write_file(meta, bytes));
    e.files.push_back(ref);
  }
  return e;
}

Status ChunkWriter::add(const TensorMeta& meta, PendingChunk* pending, uint64_t* pending_first,
                        std::string_view stored, const Shape& shape, uint64_t raw, std::vector<ChunkEntry>* written) {
  uint64_t target = meta.chunk_target_bytes;
  if (stored.size() > target) {
    GTN_RETURN_IF_ERROR(seal(meta, pending, pending_first, written));
    GTN_ASSIGN_OR_RETURN(ChunkEntry e, write_tiled(meta, stored, shape, raw, *pending_first));
    written->push_back(std::move(e));
    *pending_first += 1;
    return Status::OK();
  }
  if (pending->size() > 0 &&
      (pending->data.size() + stored.size() > target || pending->size() >= kMaxSamplesPerChunk)) {
    GTN_RETURN_IF_ERROR(seal(meta, pending, pending_first, written));
  }
  // Room for the whole chunk at once (up to a bound), so samples are copied in only once.
  if (pending->data.capacity() < target && target <= kReserveBytes) {
    pending->data.reserve(std::min(target, pending->reserve_limit));
  }
  pending->add(stored, shape, raw);
  if (pending->data.size() >= target) GTN_RETURN_IF_ERROR(seal(meta, pending, pending_first, written));
  return Status::OK();
}

}  // namespace gtn::store
