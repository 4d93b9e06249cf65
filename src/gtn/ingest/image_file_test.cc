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
    EXPECT_EQ(img->header.format, Compression::kPng);
    EXPECT_EQ(img->header.shape, shape);
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
  EXPECT_EQ(img->header.format, Compression::kJpeg);
  EXPECT_EQ(img->header.shape, shape);
  auto pixels = decode_image_file(*img);
  ASSERT_TRUE(pixels.ok());
  for (int64_t i = 0; i < pixels->numel(); ++i) ASSERT_NEAR(pixels->data_as<uint8_t>()[i], 128, 2);
}

TEST(ImageFile, RejectsNonImagesAndTruncatedImages) {
  EXPECT_FALSE(probe_image("hello").ok());
  auto empty = probe_image("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("an empty file"), std::string::npos);
  auto ico = probe_image(std::string("\0\0\1\0\1\0\x10\x10", 8));
  ASSERT_FALSE(ico.ok());
  EXPECT_NE(ico.status().message().find("ICO"), std::string::npos);
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

TEST(ImageFile, ConvertsChannelsAsPillowDoes) {
  Array rgba = Array::Zeros(DType::kUInt8, {1, 2, 4});
  uint8_t px[] = {10, 200, 30, 99, 255, 0, 128, 7};
  std::copy(px, px + 8, static_cast<uint8_t*>(rgba.mutable_data()));
  Array l = convert_channels(rgba, 1);
  // (19595 R + 38470 G + 7471 B + 32768) >> 16
  EXPECT_EQ(l.data_as<uint8_t>()[0], (10 * 19595 + 200 * 38470 + 30 * 7471 + 32768) >> 16);
  EXPECT_EQ(l.data_as<uint8_t>()[1], (255 * 19595 + 0 * 38470 + 128 * 7471 + 32768) >> 16);
  Array rgb = convert_channels(rgba, 3);
  EXPECT_EQ(rgb.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(rgb.data_as<uint8_t>()[3], 255);
  Array back = convert_channels(l, 4);
  EXPECT_EQ(back.data_as<uint8_t>()[3], 255);  // opaque alpha added
  EXPECT_EQ(back.data_as<uint8_t>()[0], back.data_as<uint8_t>()[2]);
  EXPECT_EQ(mode_channels(ImageMode::kKeep, 2), 2);
  EXPECT_EQ(mode_channels(ImageMode::kRGB, 1), 3);
}

}  // namespace
}  // namespace gtn::ingest
