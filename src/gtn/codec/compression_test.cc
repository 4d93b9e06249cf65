#include "gtn/codec/compression.h"

#include <gtest/gtest.h>

#include <random>

namespace gtn::codec {
namespace {

std::string random_bytes(size_t n, uint32_t seed, int alphabet) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& ch : s) ch = static_cast<char>(rng() % alphabet);
  return s;
}

TEST(Compression, RoundTripsRandomInputs) {
  for (Compression c : {Compression::kLz4, Compression::kZstd}) {
    for (size_t n : {0, 1, 17, 4096, 100000}) {
      std::string src = random_bytes(n, static_cast<uint32_t>(n), n % 2 ? 256 : 4);
      auto packed = compress(c, src);
      ASSERT_TRUE(packed.ok()) << packed.status().ToString();
      std::string back(n, '\0');
      ASSERT_TRUE(decompress(c, *packed, back.data(), n).ok());
      EXPECT_EQ(back, src);
    }
  }
}

TEST(Compression, RejectsWrongSizeAndGarbage) {
  std::string src = random_bytes(1000, 1, 3);
  for (Compression c : {Compression::kLz4, Compression::kZstd}) {
    auto packed = compress(c, src);
    ASSERT_TRUE(packed.ok());
    std::string back(999, '\0');
    EXPECT_EQ(decompress(c, *packed, back.data(), back.size()).code(), StatusCode::kCorruption);
    std::string garbage = random_bytes(50, 2, 256);
    std::string out(1000, '\0');
    EXPECT_EQ(decompress(c, garbage, out.data(), out.size()).code(), StatusCode::kCorruption);
  }
  EXPECT_EQ(compress(Compression::kJpeg, src).status().code(), StatusCode::kInvalidArgument);
}

TEST(Compression, NamesRoundTrip) {
  for (Compression c : {Compression::kNone, Compression::kLz4, Compression::kZstd, Compression::kJpeg,
                        Compression::kPng}) {
    auto parsed = parse_compression(compression_name(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_EQ(*parse_compression("JPG"), Compression::kJpeg);
  EXPECT_EQ(parse_compression("gzip").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gtn::codec
