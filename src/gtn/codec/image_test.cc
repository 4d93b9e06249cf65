#include "gtn/image.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "gtn/codec/image_codec.h"

namespace gtn {
namespace {

Array gradient(const Shape& shape) {
  Array a = Array::Zeros(DType::kUInt8, shape);
  auto* p = static_cast<uint8_t*>(a.mutable_data());
  for (size_t i = 0; i < a.nbytes(); ++i) p[i] = static_cast<uint8_t>(i * 7 % 251);
  return a;
}

TEST(PublicImage, PngRoundTripsExactly) {
  for (Shape shape : {Shape{4, 5}, Shape{4, 5, 1}, Shape{3, 2, 2}, Shape{6, 7, 3}, Shape{2, 2, 4}}) {
    Array a = gradient(shape);
    Result<std::string> png = encode_image(a, Compression::kPng);
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    EXPECT_EQ(png->substr(1, 3), "PNG");
    std::vector<uint8_t> back(a.nbytes());
    ASSERT_TRUE(codec::decode_image(Compression::kPng, *png, shape, back.data()).ok());
    EXPECT_EQ(0, std::memcmp(back.data(), a.data(), a.nbytes()));
  }
}

TEST(PublicImage, JpegIsAJpegFile) {
  Result<std::string> jpg = encode_image(gradient({16, 16, 3}), Compression::kJpeg, 80);
  ASSERT_TRUE(jpg.ok()) << jpg.status().ToString();
  EXPECT_EQ(static_cast<uint8_t>((*jpg)[0]), 0xFF);
  EXPECT_EQ(static_cast<uint8_t>((*jpg)[1]), 0xD8);
}

TEST(PublicImage, RefusesWhatIsNotAnImageAndSaysWhy) {
  auto message = [](const Result<std::string>& r) { return r.ok() ? std::string("ok") : r.status().message(); };
  EXPECT_NE(message(encode_image(gradient({4, 4, 3}), Compression::kZstd)).find("expected png or jpeg"),
            std::string::npos);
  EXPECT_NE(message(encode_image(Array::Zeros(DType::kFloat32, {4, 4}), Compression::kPng)).find("got float32"),
            std::string::npos);
  EXPECT_NE(message(encode_image(gradient({4}), Compression::kPng)).find("(H, W)"), std::string::npos);
  EXPECT_NE(message(encode_image(gradient({4, 4, 2}), Compression::kJpeg)).find("channels"), std::string::npos);
  EXPECT_NE(message(encode_image(gradient({0, 4}), Compression::kPng)).find("1 <= H, W"), std::string::npos);
  EXPECT_NE(message(encode_image(gradient({4, 4}), Compression::kJpeg, 0)).find("quality"), std::string::npos);
}

}  // namespace
}  // namespace gtn
