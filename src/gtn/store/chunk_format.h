// The bytes of a chunk file (docs/format.md, "Chunk files"): a fixed header, the
// position and shape encoders, optional tile information, the data region (aligned to
// 64 bytes) and an XXH3-64 trailer. Chunk files are immutable once written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "gtn/dataset.h"
#include "gtn/store/sample_index.h"

namespace gtn::store {

// Chunk format 2 (written) replaces the whole-file trailer of version 1 (still read) by
// per-block checksums of the data region and one checksum of the header, so a reader
// verifies only the blocks a read touches.
inline constexpr uint16_t kChunkFormatVersion = 2;
inline constexpr uint16_t kChunkFormatVersion1 = 1;
// Bytes of one checksummed block of the data region (chunk format 2).
inline constexpr uint32_t kChunkBlockBytes = 16 * 1024;
inline constexpr uint8_t kChunkFlagTile = 1;
inline constexpr size_t kChunkFixedHeaderBytes = 40;
inline constexpr size_t kChunkDataAlignment = 64;

// A piece of one sample that was too large for a chunk (see docs/format.md, "Tiling").
struct TileInfo {
  uint32_t index = 0;        // which piece, 0-based
  uint32_t count = 1;        // how many pieces the sample has
  uint64_t offset = 0;       // where this piece starts in the sample's stored bytes
  uint64_t total_bytes = 0;  // the sample's stored bytes, all pieces together
};

struct ChunkHeader {
  uint16_t version = kChunkFormatVersion;
  DType dtype = DType::kUInt8;
  Compression sample_compression = Compression::kNone;
  Compression chunk_compression = Compression::kNone;
  uint8_t flags = 0;
  uint32_t num_samples = 0;
  uint64_t data_offset = 0;        // where the data region starts in the file
  uint64_t stored_data_bytes = 0;  // bytes of the data region in the file
  uint64_t raw_data_bytes = 0;     // bytes of the data region after chunk decompression
  PositionEncoder positions;       // offsets into the (decompressed) data region
  ShapeEncoder shapes;
  TileInfo tile;                   // only when flags & kChunkFlagTile
  // Chunk format 2: the data region's block size and one XXH3-64 per block.
  uint32_t block_bytes = 0;
  std::vector<uint64_t> block_checksums;
  uint64_t header_bytes = 0;  // version 2: the header bytes its checksum covers

  bool is_tile() const { return flags & kChunkFlagTile; }
};

// The bytes of a chunk file holding `header` (dtype, compressions, flags, encoders and tile
// filled in; sizes and offsets are computed) over the raw data region `raw_data`, which is
// compressed with header.chunk_compression at `level` (codec::compress; 0: the default).
// Returns the file bytes.
Result<std::string> encode_chunk(ChunkHeader header, std::string_view raw_data, int level = 0);

// Parses and validates a chunk file's structure (not its checksum): Corruption naming what
// is wrong. On success `header` describes the file and the data region is
// bytes.substr(header->data_offset, header->stored_data_bytes).
Status parse_chunk(std::string_view bytes, ChunkHeader* header);

// The file checksum a manifest records for a chunk file, as stored in the file and as
// computed. Version 1: the trailer, over every byte before it (reads the whole file).
// Version 2: the header checksum, over the header bytes before it (the data region is
// covered by the block checksums the header holds: see verify_blocks).
struct ChunkChecksums {
  uint64_t stored = 0;
  uint64_t computed = 0;
};
Result<ChunkChecksums> chunk_checksums(std::string_view bytes);

// Version 2: Corruption unless every block of the data region overlapping the stored
// bytes [begin, end) matches its checksum; `data` is the start of the data region.
// Version 1 has no block checksums (its trailer covers everything): always OK.
Status verify_blocks(const ChunkHeader& header, const uint8_t* data, uint64_t begin, uint64_t end);
// Which blocks verify_blocks(begin, end) checks: [*first, *last]; false if none.
bool blocks_of(const ChunkHeader& header, uint64_t begin, uint64_t end, uint64_t* first, uint64_t* last);

}  // namespace gtn::store
