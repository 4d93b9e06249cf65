#include "gtn/ingest/image_file.h"

#include <gtest/gtest.h>

#include <random>

#include "gtn/codec/image_codec.h"

namespace gtn::ingest {
namespace {

std::vector<uint8_t> random_pixels(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(n);
  for (auto& p : px) p = static_cast<uint8_t>(rng());
  return px;
}

TEST(ImageFile, ProbesAndDecodesPngExactly) {
  for (int64_t c : {1, 3, 4}) {
    Shape shape{9, 13, c};
    auto px = random_pixels(static_cast<size_t>(shape_numel(shape)), static_cast<uint32_t>(c));
    auto png = codec::encode_image(Compression::kPng, px.data(), shape);
    ASSERT_TRUE(png.ok());
    auto img = probe_image(*png);
    ASSERT_TRUE(img.ok()) << img.status().ToString();
    EXPECT_EQ(img->format, Compression::kPng);
    EXPECT_EQ(img->shape, shape);
    auto pixels = decode_image_file(*img);
    ASSERT_TRUE(pixels.ok()) << pixels.status().ToString();
    EXPECT_EQ(std::vector<uint8_t>(pixels->data_as<uint8_t>(), pixels->data_as<uint8_t>() + px.size()), px);
  }
}

TEST(ImageFile, ProbesJpegShape) {
  Shape shape{16, 24, 3};
  std::vector<uint8_t> px(static_cast<size_t>(shape_numel(shape)), 128);
  auto jpg = codec::encode_image(Compression::kJpeg, px.data(), shape);
  ASSERT_TRUE(jpg.ok());
  auto img = probe_image(*jpg);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->format, Compression::kJpeg);
  EXPECT_EQ(img->shape, shape);
  auto pixels = decode_image_file(*img);
  ASSERT_TRUE(pixels.ok());
  for (int64_t i = 0; i < pixels->numel(); ++i) ASSERT_NEAR(pixels->data_as<uint8_t>()[i], 128, 2);
}

TEST(ImageFile, RejectsNonImagesAndTruncatedImages) {
  EXPECT_FALSE(probe_image("hello").ok());
  Shape shape{8, 8, 3};
  std::vector<uint8_t> px(192, 7);
  auto png = codec::encode_image(Compression::kPng, px.data(), shape);
  ASSERT_TRUE(png.ok());
  auto img = probe_image(png->substr(0, png->size() / 2));
  if (img.ok()) {
    EXPECT_FALSE(decode_image_file(*img).ok());
  }
  EXPECT_EQ(read_image_file("/nonexistent.png").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gtn::ingest
