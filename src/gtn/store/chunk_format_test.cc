#include "gtn/store/chunk_format.h"

#include <gtest/gtest.h>

#include "gtn/store/checksum.h"

namespace gtn::store {
namespace {

ChunkHeader header_for(Compression chunk_compression) {
  ChunkHeader h;
  h.dtype = DType::kFloat32;
  h.chunk_compression = chunk_compression;
  h.positions.append(16, 3);
  h.positions.append(8);
  h.shapes.append({4}, 3);
  h.shapes.append({2});
  return h;
}

TEST(ChunkFormat, RoundTripsAndAlignsData) {
  std::string data(56, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd}) {
    auto bytes = encode_chunk(header_for(c), data);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    ChunkHeader h;
    ASSERT_TRUE(parse_chunk(*bytes, &h).ok());
    EXPECT_EQ(h.num_samples, 4u);
    EXPECT_EQ(h.data_offset % kChunkDataAlignment, 0u);
    EXPECT_EQ(h.raw_data_bytes, data.size());
    EXPECT_EQ(h.chunk_compression, c);
    EXPECT_EQ(h.shapes.shape(3), Shape({2}));
    auto sums = chunk_checksums(*bytes);
    ASSERT_TRUE(sums.ok());
    EXPECT_EQ(sums->stored, sums->computed);
    if (c == Compression::kNone) EXPECT_EQ(bytes->substr(h.data_offset, data.size()), data);
  }
}

TEST(ChunkFormat, EveryTruncationIsCorruptionNotACrash) {
  auto bytes = encode_chunk(header_for(Compression::kNone), std::string(56, 'x'));
  ASSERT_TRUE(bytes.ok());
  for (size_t n = 0; n < bytes->size(); ++n) {
    ChunkHeader h;
    EXPECT_EQ(parse_chunk(std::string_view(*bytes).substr(0, n), &h).code(), StatusCode::kCorruption) << n;
  }
}

TEST(ChunkFormat, FlippedDataBitFailsItsBlockOnly) {
  // Three blocks of data; a flipped bit in the middle one fails exactly that block.
  std::string data(2 * kChunkBlockBytes + 100, 'x');
  ChunkHeader h = header_for(Compression::kNone);
  h.dtype = DType::kUInt8;
  h.positions = PositionEncoder();
  h.shapes = ShapeEncoder();
  h.positions.append(data.size());
  h.shapes.append(Shape{static_cast<int64_t>(data.size())});
  auto bytes = encode_chunk(h, data);
  ASSERT_TRUE(bytes.ok());
  std::string bad = *bytes;
  ChunkHeader parsed;
  ASSERT_TRUE(parse_chunk(bad, &parsed).ok());
  ASSERT_EQ(parsed.version, kChunkFormatVersion);
  ASSERT_EQ(parsed.block_checksums.size(), 3u);
  bad[parsed.data_offset + kChunkBlockBytes + 7] ^= 1;
  auto sums = chunk_checksums(bad);
  ASSERT_TRUE(sums.ok());
  EXPECT_EQ(sums->stored, sums->computed);  // the header is intact
  const uint8_t* region = reinterpret_cast<const uint8_t*>(bad.data()) + parsed.data_offset;
  EXPECT_TRUE(verify_blocks(parsed, region, 0, kChunkBlockBytes).ok());
  EXPECT_TRUE(verify_blocks(parsed, region, 2 * kChunkBlockBytes, data.size()).ok());
  Status st = verify_blocks(parsed, region, kChunkBlockBytes + 3, kChunkBlockBytes + 4);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("data block 1"), std::string::npos) << st.message();
  EXPECT_EQ(verify_blocks(parsed, region, 0, data.size()).code(), StatusCode::kCorruption);
}

TEST(ChunkFormat, FlippedHeaderBitChangesTheChecksum) {
  auto bytes = encode_chunk(header_for(Compression::kNone), std::string(56, 'x'));
  ASSERT_TRUE(bytes.ok());
  ChunkHeader parsed;
  ASSERT_TRUE(parse_chunk(*bytes, &parsed).ok());
  // Every byte the header checksum covers, flipped one at a time: a parse error or a
  // checksum mismatch, never silence.
  for (size_t i = 0; i < parsed.header_bytes + 8; ++i) {
    std::string bad = *bytes;
    bad[i] ^= 1;
    auto sums = chunk_checksums(bad);
    if (!sums.ok()) {
      EXPECT_EQ(sums.status().code(), StatusCode::kCorruption);
      continue;
    }
    EXPECT_NE(sums->stored, sums->computed) << "byte " << i;
  }
}

TEST(ChunkFormat, RejectsSizeMismatch) {
  ChunkHeader h = header_for(Compression::kNone);
  auto bytes = encode_chunk(h, std::string(50, 'x'));  // encoders say 56 bytes
  ASSERT_TRUE(bytes.ok());
  ChunkHeader parsed;
  EXPECT_EQ(parse_chunk(*bytes, &parsed).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace gtn::store
