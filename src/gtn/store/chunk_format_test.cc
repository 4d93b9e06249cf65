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

TEST(ChunkFormat, FlippedBitChangesTheChecksum) {
  auto bytes = encode_chunk(header_for(Compression::kNone), std::string(56, 'x'));
  ASSERT_TRUE(bytes.ok());
  std::string bad = *bytes;
  bad[bad.size() - 20] ^= 1;
  auto sums = chunk_checksums(bad);
  ASSERT_TRUE(sums.ok());
  EXPECT_NE(sums->stored, sums->computed);
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
