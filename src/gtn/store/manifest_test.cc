#include "gtn/store/manifest.h"

#include <gtest/gtest.h>

#include "gtn/store/root_file.h"

namespace gtn::store {
namespace {

Manifest sample_manifest() {
  Manifest m;
  m.version_id = 0x1234;
  m.parent_id = 0;
  m.length = 5;
  TensorMeta a;
  a.name = "images";
  a.key = "t0";
  a.htype = "image";
  a.dtype = DType::kUInt8;
  a.sample_compression = Compression::kJpeg;
  a.rank = 3;
  TensorMeta b;
  b.name = "labels";
  b.key = "t1";
  b.htype = "class_label";
  b.dtype = DType::kInt64;
  b.class_names = {"cat", "dog"};
  m.tensors = {a, b};
  m.chunks.resize(2);
  m.chunks[0].push_back({0, 3, 300, {{11, 1000, 0xabc}}});
  m.chunks[0].push_back({3, 1, 9000, {{12, 500, 1}, {13, 500, 2}}});
  m.chunks[0].push_back({4, 1, 10, {{14, 100, 3}}});
  m.chunks[1].push_back({0, 5, 40, {{15, 200, 4}}});
  return m;
}

TEST(Manifest, RoundTrips) {
  Manifest m = sample_manifest();
  std::string bytes = encode_manifest(m);
  Manifest back;
  ASSERT_TRUE(decode_manifest(bytes, &back).ok());
  EXPECT_EQ(back.version_id, m.version_id);
  EXPECT_EQ(back.length, 5u);
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].sample_compression, Compression::kJpeg);
  EXPECT_EQ(back.tensors[0].rank, 3);
  EXPECT_EQ(back.tensors[1].class_names, (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(back.chunks[0].size(), 3u);
  EXPECT_TRUE(back.chunks[0][1].is_tiled());
  EXPECT_EQ(back.chunks[0][1].files[1].id, 13u);
  EXPECT_EQ(encode_manifest(back), bytes);
}

TEST(Manifest, DetectsCorruptionAndTruncation) {
  std::string bytes = encode_manifest(sample_manifest());
  for (size_t n = 0; n < bytes.size(); n += 7) {
    Manifest m;
    EXPECT_EQ(decode_manifest(std::string_view(bytes).substr(0, n), &m).code(), StatusCode::kCorruption);
  }
  std::string flipped = bytes;
  flipped[40] ^= 0x10;
  Manifest m;
  Status st = decode_manifest(flipped, &m);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("checksum"), std::string::npos);
}

TEST(Manifest, RejectsGapsInTheChunkTable) {
  Manifest m = sample_manifest();
  m.chunks[0][2].first_sample = 7;
  Manifest back;
  EXPECT_EQ(decode_manifest(encode_manifest(m), &back).code(), StatusCode::kCorruption);
}

TEST(RootFile, RoundTripsAndChecksFeatures) {
  RootFile r;
  RootFile back;
  ASSERT_TRUE(decode_root(encode_root(r), &back).ok());
  EXPECT_EQ(back.head, "main");
  EXPECT_TRUE(check_writable(back).ok());
  back.writer_features = {"future"};
  EXPECT_TRUE(check_readable(back).ok());
  EXPECT_EQ(check_writable(back).code(), StatusCode::kUnsupported);
  back.reader_features = {"future"};
  EXPECT_EQ(check_readable(back).code(), StatusCode::kUnsupported);
  EXPECT_EQ(decode_root("{}", &back).code(), StatusCode::kCorruption);
  uint64_t v = 0;
  ASSERT_TRUE(decode_ref(encode_ref(0xfeed), &v).ok());
  EXPECT_EQ(v, 0xfeedu);
  EXPECT_EQ(decode_ref("xyz\n", &v).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace gtn::store
