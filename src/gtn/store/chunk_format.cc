#include "gtn/store/chunk_format.h"

#include <algorithm>

#include "gtn/codec/compression.h"
#include "gtn/store/checksum.h"

namespace gtn::store {
namespace {
constexpr char kMagic[4] = {'G', 'T', 'N', 'C'};

bool valid_dtype(uint8_t d) { return d <= static_cast<uint8_t>(DType::kBytes); }
bool valid_compression(uint8_t c) { return c <= static_cast<uint8_t>(Compression::kPng); }
}  // namespace

Result<std::string> encode_chunk(ChunkHeader header, std::string_view raw_data, int level) {
  std::string compressed;
  std::string_view stored = raw_data;
  if (header.chunk_compression != Compression::kNone) {
    if (!codec::is_byte_codec(header.chunk_compression)) {
      return Status::InvalidArgument("chunk compression must be none, lz4 or zstd");
    }
    GTN_ASSIGN_OR_RETURN(compressed, codec::compress(header.chunk_compression, raw_data, level));
    stored = compressed;
  }
  std::string out;
  out.append(kMagic, 4);
  put_le<uint16_t>(&out, kChunkFormatVersion);
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.dtype));
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.sample_compression));
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.chunk_compression));
  put_le<uint8_t>(&out, header.flags);
  put_le<uint16_t>(&out, 0);
  put_le<uint32_t>(&out, header.positions.num_samples());
  size_t data_offset_at = out.size();
  put_le<uint64_t>(&out, 0);  // data offset, filled in below
  put_le<uint64_t>(&out, stored.size());
  put_le<uint64_t>(&out, raw_data.size());
  header.positions.encode(&out);
  header.shapes.encode(&out);
  if (header.is_tile()) {
    put_le<uint32_t>(&out, header.tile.index);
    put_le<uint32_t>(&out, header.tile.count);
    put_le<uint64_t>(&out, header.tile.offset);
    put_le<uint64_t>(&out, header.tile.total_bytes);
  }
  uint64_t blocks = (stored.size() + kChunkBlockBytes - 1) / kChunkBlockBytes;
  put_le<uint32_t>(&out, kChunkBlockBytes);
  put_le<uint32_t>(&out, static_cast<uint32_t>(blocks));
  for (uint64_t b = 0; b < blocks; ++b) {
    uint64_t begin = b * kChunkBlockBytes;
    uint64_t len = std::min<uint64_t>(kChunkBlockBytes, stored.size() - begin);
    put_le<uint64_t>(&out, checksum64(stored.data() + begin, len));
  }
  uint64_t header_end = out.size() + 8;
  uint64_t data_offset = (header_end + kChunkDataAlignment - 1) / kChunkDataAlignment * kChunkDataAlignment;
  std::string offset_bytes;
  put_le<uint64_t>(&offset_bytes, data_offset);
  out.replace(data_offset_at, 8, offset_bytes);
  put_le<uint64_t>(&out, checksum64(out.data(), out.size()));
  out.reserve(data_offset + stored.size());
  out.resize(data_offset, '\0');
  out.append(stored.data(), stored.size());
  return out;
}

Status parse_chunk(std::string_view bytes, ChunkHeader* h) {
  *h = ChunkHeader();
  if (bytes.size() < kChunkFixedHeaderBytes + 8) {
    return Status::Corruption("chunk is truncated: " + std::to_string(bytes.size()) + " bytes");
  }
  if (bytes.substr(0, 4) != std::string_view(kMagic, 4)) return Status::Corruption("not a chunk file (bad magic)");
  uint16_t version = load_le<uint16_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + 4);
  if (version != kChunkFormatVersion1 && version != kChunkFormatVersion) {
    return Status::Corruption("unsupported chunk format version " + std::to_string(version) + " (expected 1 or 2)");
  }
  h->version = version;
  // Version 1 ends with a trailer; version 2 ends with its data region.
  uint64_t body = version == kChunkFormatVersion1 ? bytes.size() - 8 : bytes.size();
  ByteReader in(bytes.substr(0, body));
  in.bytes(6);
  uint8_t dtype = in.get<uint8_t>(), sc = in.get<uint8_t>(), cc = in.get<uint8_t>();
  h->flags = in.get<uint8_t>();
  in.get<uint16_t>();
  h->num_samples = in.get<uint32_t>();
  h->data_offset = in.get<uint64_t>();
  h->stored_data_bytes = in.get<uint64_t>();
  h->raw_data_bytes = in.get<uint64_t>();
  if (!valid_dtype(dtype)) return Status::Corruption("chunk has unknown dtype code " + std::to_string(dtype));
  if (!valid_compression(sc) || !valid_compression(cc)) return Status::Corruption("chunk has unknown compression code");
  h->dtype = static_cast<DType>(dtype);
  h->sample_compression = static_cast<Compression>(sc);
  h->chunk_compression = static_cast<Compression>(cc);
  if (h->chunk_compression != Compression::kNone && !codec::is_byte_codec(h->chunk_compression)) {
    return Status::Corruption("chunk compression must be none, lz4 or zstd");
  }
  if (h->flags & ~kChunkFlagTile) return Status::Corruption("chunk has unknown flags");
  GTN_RETURN_IF_ERROR(PositionEncoder::decode(&in, &h->positions));
  GTN_RETURN_IF_ERROR(ShapeEncoder::decode(&in, &h->shapes));
  if (h->is_tile()) {
    h->tile.index = in.get<uint32_t>();
    h->tile.count = in.get<uint32_t>();
    h->tile.offset = in.get<uint64_t>();
    h->tile.total_bytes = in.get<uint64_t>();
  }
  if (!in.ok()) return Status::Corruption("chunk header is truncated");
  if (version == kChunkFormatVersion) {
    h->block_bytes = in.get<uint32_t>();
    uint32_t blocks = in.get<uint32_t>();
    if (!in.ok()) return Status::Corruption("chunk header is truncated");
    if (h->block_bytes < 4096 || (h->block_bytes & (h->block_bytes - 1)) != 0) {
      return Status::Corruption("chunk block size " + std::to_string(h->block_bytes) + " is not a power of two >= 4096");
    }
    if (static_cast<uint64_t>(blocks) * 8 + 8 > in.remaining()) {
      return Status::Corruption("chunk block count " + std::to_string(blocks) + " exceeds the bytes present");
    }
    if (blocks != (h->stored_data_bytes + h->block_bytes - 1) / h->block_bytes) {
      return Status::Corruption("chunk has " + std::to_string(blocks) + " block checksums for " +
                                std::to_string(h->stored_data_bytes) + " data bytes");
    }
    h->block_checksums.resize(blocks);
    for (uint32_t b = 0; b < blocks; ++b) h->block_checksums[b] = in.get<uint64_t>();
    h->header_bytes = in.position();
    in.get<uint64_t>();  // the header checksum (chunk_checksums)
    if (!in.ok()) return Status::Corruption("chunk header is truncated");
  }
  if (h->positions.num_samples() != h->num_samples || h->shapes.num_samples() != h->num_samples) {
    return Status::Corruption("chunk encoders disagree with the sample count " + std::to_string(h->num_samples));
  }
  if (h->data_offset < in.position() || h->data_offset > body || h->stored_data_bytes != body - h->data_offset) {
    return Status::Corruption("chunk data region (offset " + std::to_string(h->data_offset) + ", " +
                              std::to_string(h->stored_data_bytes) + " bytes) does not match the file size " +
                              std::to_string(bytes.size()));
  }
  if (version == kChunkFormatVersion) {
    for (uint64_t i = in.position(); i < h->data_offset; ++i) {
      if (bytes[i] != 0) return Status::Corruption("chunk header padding is not zero");
    }
  }
  if (h->chunk_compression == Compression::kNone && h->raw_data_bytes != h->stored_data_bytes) {
    return Status::Corruption("uncompressed chunk has differing stored and raw sizes");
  }
  if (h->is_tile()) {
    const TileInfo& t = h->tile;
    if (h->num_samples != 1 || t.count == 0 || t.index >= t.count || h->chunk_compression != Compression::kNone ||
        h->positions.total_bytes() != t.total_bytes || t.offset > t.total_bytes ||
        h->raw_data_bytes > t.total_bytes - t.offset) {
      return Status::Corruption("chunk tile information is inconsistent");
    }
  } else if (h->positions.total_bytes() != h->raw_data_bytes) {
    return Status::Corruption("chunk sample bytes (" + std::to_string(h->positions.total_bytes()) +
                              ") do not add up to its data region (" + std::to_string(h->raw_data_bytes) + ")");
  }
  return Status::OK();
}

Result<ChunkChecksums> chunk_checksums(std::string_view bytes) {
  if (bytes.size() < kChunkFixedHeaderBytes + 8) {
    return Status::Corruption("chunk is truncated: " + std::to_string(bytes.size()) + " bytes");
  }
  const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
  ChunkChecksums c;
  if (load_le<uint16_t>(p + 4) == kChunkFormatVersion1) {
    c.stored = load_le<uint64_t>(p + bytes.size() - 8);
    c.computed = checksum64(bytes.data(), bytes.size() - 8);
    return c;
  }
  // Version 2: the header checksum follows the header bytes it covers.
  ChunkHeader h;
  GTN_RETURN_IF_ERROR(parse_chunk(bytes, &h));
  uint64_t header_end = h.header_bytes;
  c.stored = load_le<uint64_t>(p + header_end);
  c.computed = checksum64(bytes.data(), header_end);
  return c;
}

bool blocks_of(const ChunkHeader& h, uint64_t begin, uint64_t end, uint64_t* first, uint64_t* last) {
  if (h.block_bytes == 0 || begin >= end) return false;
  *first = begin / h.block_bytes;
  *last = (end - 1) / h.block_bytes;
  return true;
}

Status verify_blocks(const ChunkHeader& h, const uint8_t* data, uint64_t begin, uint64_t end) {
  uint64_t first, last;
  if (!blocks_of(h, begin, std::min(end, h.stored_data_bytes), &first, &last)) return Status::OK();
  for (uint64_t b = first; b <= last; ++b) {
    uint64_t off = b * h.block_bytes;
    uint64_t len = std::min<uint64_t>(h.block_bytes, h.stored_data_bytes - off);
    uint64_t got = checksum64(data + off, len);
    if (got != h.block_checksums[b]) {
      return Status::Corruption("checksum mismatch in data block " + std::to_string(b) + " (bytes " +
                                std::to_string(off) + "-" + std::to_string(off + len) + " of the data region): stored " +
                                checksum_to_string(h.block_checksums[b]) + ", computed " + checksum_to_string(got));
    }
  }
  return Status::OK();
}

}  // namespace gtn::store
