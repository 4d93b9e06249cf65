// Turning samples into chunk files: PendingChunk holds the samples of the chunk being
// filled; ChunkWriter seals it into an immutable chunk file when it reaches the tensor's
// chunk_target_bytes, and tiles a sample larger than the target over several files.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/storage.h"
#include "gtn/store/manifest.h"
#include "gtn/store/sample_index.h"

namespace gtn::store {

// At most this many samples go into one chunk (the chunk header counts them in 32 bits).
inline constexpr uint32_t kMaxSamplesPerChunk = 1u << 30;

struct PendingChunk {
  std::string data;  // stored sample bytes, back to back
  PositionEncoder positions;
  ShapeEncoder shapes;
  uint64_t raw_bytes = 0;
  // ChunkWriter::add reserves room for a whole chunk up front, but at most this many bytes
  // (a writer that knows its data are smaller than the target says so).
  uint64_t reserve_limit = UINT64_MAX;

  uint32_t size() const { return positions.num_samples(); }
  void add(std::string_view stored, const Shape& shape, uint64_t raw);
  // Adds `n` empty samples of shape (0,).
  void add_empty(uint32_t n);
  // Removes the last sample; `dtype_bytes` is the tensor's element size.
  void pop_back(size_t dtype_bytes);
  // The stored bytes of sample j.
  std::string_view stored(uint32_t j) const {
    uint64_t off, len;
    positions.locate(j, &off, &len);
    return std::string_view(data).substr(off, len);
  }
};

class ChunkWriter {
 public:
  // With `sync_each_file`, every chunk file is fsync'ed as it is written; without, files
  // are written with Storage::write_atomic_unsynced and sync_written() makes them durable.
  ChunkWriter(Storage* storage, std::mt19937_64* rng, bool sync_each_file)
      : storage_(storage), rng_(rng), sync_each_file_(sync_each_file) {}

  // Adds one sample after the samples of `pending` (which start at sample `*pending_first`).
  // Seals `pending` first when the sample would push it past the target; tiles the sample
  // when it alone exceeds the target. Every chunk entry written is appended to `written`.
  Status add(const TensorMeta& meta, PendingChunk* pending, uint64_t* pending_first, std::string_view stored,
             const Shape& shape, uint64_t raw, std::vector<ChunkEntry>* written);
  // Writes `pending` as one chunk file (if it holds samples), clears it and advances *pending_first.
  Status seal(const TensorMeta& meta, PendingChunk* pending, uint64_t* pending_first,
              std::vector<ChunkEntry>* written);
  // Writes one sample as tiles of at most chunk_target_bytes stored bytes each.
  Result<ChunkEntry> write_tiled(const TensorMeta& meta, std::string_view stored, const Shape& shape, uint64_t raw,
                                 uint64_t first_sample);
  // Deletes a chunk file this writer wrote that nothing references any more.
  Status remove(const std::string& key);
  // Makes every chunk file written since the last call durable (Storage::sync).
  Status sync_written();

 private:
  Result<ChunkFileRef> write_file(const TensorMeta& meta, const std::string& bytes);
  Storage* storage_;
  std::mt19937_64* rng_;
  bool sync_each_file_;
  std::vector<std::string> unsynced_;  // keys of chunk files written without fsync
};

}  // namespace gtn::store
