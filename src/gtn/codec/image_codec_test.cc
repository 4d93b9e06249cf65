#include "gtn/codec/image_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <vector>

namespace gtn::codec {
namespace {

// A smooth image (gradients) so that JPEG error stays small.
std::vector<uint8_t> smooth_image(const Shape& shape) {
  int64_t h = shape[0], w = shape[1], c = shape.size() == 3 ? shape[2] : 1;
  std::vector<uint8_t> px(static_cast<size_t>(h * w * c));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        px[static_cast<size_t>((y * w + x) * c + k)] = static_cast<uint8_t>((y * 3 + x * 2 + k * 40) % 256 / 2 + 40);
  return px;
}

TEST(ImageCodec, PngIsLossless) {
  std::mt19937 rng(7);
  for (Shape shape : {Shape{5, 7}, Shape{9, 4, 1}, Shape{8, 8, 2}, Shape{3, 11, 3}, Shape{16, 16, 4}}) {
    std::vector<uint8_t> px(static_cast<size_t>(shape_numel(shape)));
    for (auto& p : px) p = static_cast<uint8_t>(rng());
    ASSERT_TRUE(check_image(Compression::kPng, DType::kUInt8, shape).ok());
    auto enc = encode_image(Compression::kPng, px.data(), shape);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    std::vector<uint8_t> back(px.size());
    ASSERT_TRUE(decode_image(Compression::kPng, *enc, shape, back.data()).ok());
    EXPECT_EQ(back, px);
  }
}

TEST(ImageCodec, SixteenBitPngIsLosslessAndUngammaed) {
  std::mt19937 rng(3);
  for (Shape shape : {Shape{5, 7, 1}, Shape{4, 6, 2}, Shape{3, 5, 3}, Shape{6, 2, 4}}) {
    std::vector<uint16_t> px(static_cast<size_t>(shape_numel(shape)));
    for (auto& p : px) p = static_cast<uint16_t>(rng());
    px[0] = 58;
    auto enc = encode_image(Compression::kPng, DType::kUInt16, px.data(), shape);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto header = probe_image(*enc);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->dtype, DType::kUInt16);
    EXPECT_EQ(header->bit_depth, 16);
    EXPECT_EQ(header->shape, shape);
    std::vector<uint16_t> back(px.size());
    ASSERT_TRUE(decode_image(Compression::kPng, DType::kUInt16, *enc, shape, back.data()).ok());
    EXPECT_EQ(back, px);
    // A 16-bit file is not silently read as 8 bits.
    std::vector<uint8_t> narrow(px.size());
    EXPECT_EQ(decode_image(Compression::kPng, *enc, shape, narrow.data()).code(), StatusCode::kCorruption);
  }
  EXPECT_TRUE(check_image(Compression::kPng, DType::kUInt16, {4, 4, 3}).ok());
  EXPECT_FALSE(check_image(Compression::kJpeg, DType::kUInt16, {4, 4, 3}).ok());
}

TEST(ImageCodec, ProbeNamesWhatTheBytesAre) {
  EXPECT_NE(probe_image("").status().message().find("an empty file"), std::string::npos);
  EXPECT_NE(probe_image(std::string("\0\0\1\0\1\0", 6)).status().message().find("ICO"), std::string::npos);
  EXPECT_NE(probe_image("GIF89a....").status().message().find("GIF"), std::string::npos);
}

// Damaged files (flipped bytes, truncation) are errors, never crashes or reads past the end.
TEST(ImageCodec, DamagedPngsAreErrors) {
  std::mt19937 rng(9);
  std::vector<uint16_t> px16(6 * 5 * 4);
  for (auto& p : px16) p = static_cast<uint16_t>(rng());
  std::vector<uint8_t> px8(6 * 5 * 3);
  for (auto& p : px8) p = static_cast<uint8_t>(rng());
  std::vector<std::string> files = {*encode_image(Compression::kPng, DType::kUInt16, px16.data(), {6, 5, 4}),
                                    *encode_image(Compression::kPng, px8.data(), {6, 5, 3}),
                                    *encode_image(Compression::kJpeg, px8.data(), {6, 5, 3})};
  int decoded = 0;
  for (const std::string& file : files) {
    for (int round = 0; round < 400; ++round) {
      std::string bad = file;
      if (round % 4 == 0) {
        bad.resize(rng() % bad.size());
      } else {
        for (int k = 0; k < 1 + round % 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
      }
      auto header = probe_image(bad);
      if (!header.ok() || !check_image(header->format, header->dtype, header->shape).ok()) continue;
      if (shape_numel(header->shape) > (1 << 20)) continue;
      std::vector<uint8_t> out(static_cast<size_t>(shape_numel(header->shape)) * dtype_size(header->dtype));
      decoded += decode_image(header->format, header->dtype, bad, header->shape, out.data()).ok();
    }
  }
  EXPECT_LT(decoded, 1200);
}

TEST(ImageCodec, JpegIsCloseToTheOriginal) {
  for (Shape shape : {Shape{64, 64, 3}, Shape{33, 17}, Shape{20, 30, 1}}) {
    auto px = smooth_image(shape);
    auto enc = encode_image(Compression::kJpeg, px.data(), shape);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_LT(enc->size(), px.size());
    std::vector<uint8_t> back(px.size());
    Status dec = decode_image(Compression::kJpeg, *enc, shape, back.data());
    ASSERT_TRUE(dec.ok()) << dec.ToString();
    double err = 0;
    for (size_t i = 0; i < px.size(); ++i) err += std::abs(int(px[i]) - int(back[i]));
    EXPECT_LT(err / px.size(), 4.0);
  }
}

// A decoder that failed on damaged bytes must decode the next good image of the same thread
// (libjpeg-turbo keeps state from the failure in its handle).
TEST(ImageCodec, AGoodJpegDecodesAfterDamagedOnes) {
  Shape shape{48, 40, 3};
  auto px = smooth_image(shape);
  auto good = encode_image(Compression::kJpeg, px.data(), shape);
  ASSERT_TRUE(good.ok());
  std::vector<uint8_t> first(px.size()), back(px.size());
  ASSERT_TRUE(decode_image(Compression::kJpeg, *good, shape, first.data()).ok());
  std::mt19937 rng(3);
  int failures = 0;
  for (int round = 0; round < 200; ++round) {
    std::string bad = *good;
    for (int k = 0; k < 3; ++k) bad[600 + rng() % (bad.size() - 600)] = static_cast<char>(rng());
    failures += !decode_image(Compression::kJpeg, bad, shape, back.data()).ok();
    Status st = decode_image(Compression::kJpeg, *good, shape, back.data());
    ASSERT_TRUE(st.ok()) << "round " << round << ": " << st.ToString();
    ASSERT_EQ(back, first) << "round " << round;
  }
  EXPECT_GT(failures, 0);  // the damage was seen at least once
}

TEST(ImageCodec, RejectsBadShapesAndBytes) {
  EXPECT_FALSE(check_image(Compression::kJpeg, DType::kUInt8, {4, 4, 4}).ok());
  EXPECT_FALSE(check_image(Compression::kPng, DType::kFloat32, {4, 4}).ok());
  EXPECT_FALSE(check_image(Compression::kPng, DType::kUInt8, {4}).ok());
  EXPECT_FALSE(check_image(Compression::kPng, DType::kUInt8, {0, 4}).ok());
  std::vector<uint8_t> out(48);
  for (Compression c : {Compression::kJpeg, Compression::kPng}) {
    EXPECT_EQ(decode_image(c, "definitely not an image", {4, 4, 3}, out.data()).code(), StatusCode::kCorruption);
  }
  auto px = smooth_image({4, 4, 3});
  auto enc = encode_image(Compression::kPng, px.data(), {4, 4, 3});
  ASSERT_TRUE(enc.ok());
  std::vector<uint8_t> big(75);
  EXPECT_EQ(decode_image(Compression::kPng, *enc, {5, 5, 3}, big.data()).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace gtn::codec
