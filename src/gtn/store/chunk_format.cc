#include "gtn/store/chunk_format.h"

#include "gtn/codec/compression.h"
#include "gtn/store/checksum.h"

namespace gtn::store {
namespace {
constexpr char kMagic[4] = {'G', 'T', 'N', 'C'};

bool valid_dtype(uint8_t d) { return d <= static_cast<uint8_t>(DType::kBytes); }
bool valid_compression(uint8_t c) { return c <= static_cast<uint8_t>(Compression::kPng); }
}  // namespace

Result<std::string> encode_chunk(ChunkHeader header, std::string_view raw_data) {
  std::string compressed;
  std::string_view stored = raw_data;
  if (header.chunk_compression != Compression::kNone) {
    if (!codec::is_byte_codec(header.chunk_compression)) {
      return Status::InvalidArgument("chunk compression must be none, lz4 or zstd");
    }
    GTN_ASSIGN_OR_RETURN(compressed, codec::compress(header.chunk_compression, raw_data));
    stored = compressed;
  }
  std::string encoders;
  header.positions.encode(&encoders);
  header.shapes.encode(&encoders);
  if (header.is_tile()) {
    put_le<uint32_t>(&encoders, header.tile.index);
    put_le<uint32_t>(&encoders, header.tile.count);
    put_le<uint64_t>(&encoders, header.tile.offset);
    put_le<uint64_t>(&encoders, header.tile.total_bytes);
  }
  size_t header_end = kChunkFixedHeaderBytes + encoders.size();
  uint64_t data_offset = (header_end + kChunkDataAlignment - 1) / kChunkDataAlignment * kChunkDataAlignment;

  std::string out;
  out.reserve(data_offset + stored.size() + 8);
  out.append(kMagic, 4);
  put_le<uint16_t>(&out, kChunkFormatVersion);
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.dtype));
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.sample_compression));
  put_le<uint8_t>(&out, static_cast<uint8_t>(header.chunk_compression));
  put_le<uint8_t>(&out, header.flags);
  put_le<uint16_t>(&out, 0);
  put_le<uint32_t>(&out, header.positions.num_samples());
  put_le<uint64_t>(&out, data_offset);
  put_le<uint64_t>(&out, stored.size());
  put_le<uint64_t>(&out, raw_data.size());
  out += encoders;
  out.resize(data_offset, '\0');
  out.append(stored.data(), stored.size());
  put_le<uint64_t>(&out, checksum64(out.data(), out.size()));
  return out;
}

Status parse_chunk(std::string_view bytes, ChunkHeader* h) {
  *h = ChunkHeader();
  if (bytes.size() < kChunkFixedHeaderBytes + 8) {
    return Status::Corruption("chunk is truncated: " + std::to_string(bytes.size()) + " bytes");
  }
  if (bytes.substr(0, 4) != std::string_view(kMagic, 4)) return Status::Corruption("not a chunk file (bad magic)");
  ByteReader in(bytes.substr(0, bytes.size() - 8));
  in.bytes(4);
  uint16_t version = in.get<uint16_t>();
  if (version != kChunkFormatVersion) {
    return Status::Corruption("unsupported chunk format version " + std::to_string(version) + " (expected 1)");
  }
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
  if (h->positions.num_samples() != h->num_samples || h->shapes.num_samples() != h->num_samples) {
    return Status::Corruption("chunk encoders disagree with the sample count " + std::to_string(h->num_samples));
  }
  uint64_t body = bytes.size() - 8;
  if (h->data_offset < in.position() || h->data_offset > body || h->stored_data_bytes != body - h->data_offset) {
    return Status::Corruption("chunk data region (offset " + std::to_string(h->data_offset) + ", " +
                              std::to_string(h->stored_data_bytes) + " bytes) does not match the file size " +
                              std::to_string(bytes.size()));
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
  if (bytes.size() < 8) return Status::Corruption("chunk is truncated: " + std::to_string(bytes.size()) + " bytes");
  ChunkChecksums c;
  c.stored = load_le<uint64_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 8);
  c.computed = checksum64(bytes.data(), bytes.size() - 8);
  return c;
}

}  // namespace gtn::store
