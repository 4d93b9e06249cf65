// The contents of the GTN-F v1 golden dataset (tests/golden/v1), defined by formulas so
// that the generator writes them and the golden test recomputes them independently of
// the stored files.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "gtn/dataset.h"

namespace gtn::golden {

inline constexpr uint64_t kSamples = 12;
inline constexpr uint64_t kLateFrom = 5;      // tensor "late" is created when the dataset has 5 rows
inline constexpr uint64_t kTiledSample = 7;   // the sample of "tiled" that spans several chunks
inline constexpr uint64_t kUpdatedSample = 2; // "caption" of this sample was rewritten by update()

inline uint32_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return static_cast<uint32_t>(x);
}

inline std::vector<TensorSpec> specs() {
  std::vector<TensorSpec> s(9);
  s[0].name = "image_jpeg"; s[0].htype = "image"; s[0].sample_compression = Compression::kJpeg; s[0].chunk_target_bytes = 2048;
  s[1].name = "image_png"; s[1].htype = "image"; s[1].sample_compression = Compression::kPng; s[1].chunk_target_bytes = 1024;
  s[2].name = "label"; s[2].htype = "class_label"; s[2].class_names = {"cat", "dog", "bird"};
  s[3].name = "embedding"; s[3].htype = "embedding"; s[3].chunk_compression = Compression::kLz4; s[3].chunk_target_bytes = 128;
  s[4].name = "caption"; s[4].htype = "text"; s[4].chunk_compression = Compression::kZstd; s[4].chunk_target_bytes = 100;
  s[5].name = "meta"; s[5].htype = "json";
  s[6].name = "boxes"; s[6].htype = "bbox"; s[6].sample_compression = Compression::kLz4;
  s[7].name = "tiled"; s[7].dtype = DType::kUInt16; s[7].chunk_target_bytes = 256;
  s[8].name = "late"; s[8].dtype = DType::kInt32;  // created after kLateFrom rows
  return s;
}

// A smooth 16x16x3 image (so JPEG stays close to it).
inline Array image_jpeg(uint64_t i) {
  Array a = Array::Zeros(DType::kUInt8, {16, 16, 3});
  auto* p = static_cast<uint8_t*>(a.mutable_data());
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c) p[(y * 16 + x) * 3 + c] = static_cast<uint8_t>(40 + 4 * y + 3 * x + 20 * c + 5 * i);
  return a;
}

// Ragged noise images, (H, 5, 2).
inline Array image_png(uint64_t i) {
  int64_t h = 1 + static_cast<int64_t>(i % 4);
  Array a = Array::Zeros(DType::kUInt8, {h, 5, 2});
  auto* p = static_cast<uint8_t*>(a.mutable_data());
  for (size_t k = 0; k < a.nbytes(); ++k) p[k] = static_cast<uint8_t>(mix(i * 1000 + k));
  return a;
}

inline Array label(uint64_t i) { return Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(i % 3)); }

inline Array embedding(uint64_t i) {
  Array a = Array::Zeros(DType::kFloat32, {8});
  for (int k = 0; k < 8; ++k) static_cast<float*>(a.mutable_data())[k] = static_cast<float>(i) + k * 0.125f;
  return a;
}

inline Array caption(uint64_t i) {
  if (i == kUpdatedSample) return Array::Text("rewritten caption");
  if (i % 5 == 4) return Array::Text("");
  std::string s = "caption " + std::to_string(i) + ":";
  for (uint64_t k = 0; k < i; ++k) s += " word" + std::to_string(k);
  return Array::Text(s);
}

inline Array meta(uint64_t i) {
  return Array::Text("{\"id\": " + std::to_string(i) + ", \"tags\": [\"a\", \"b\"], \"ok\": " + (i % 2 ? "true" : "false") + "}");
}

inline Array boxes(uint64_t i) {
  int64_t n = static_cast<int64_t>(i % 3);
  Array a = Array::Zeros(DType::kFloat32, {n, 4});
  for (int64_t k = 0; k < n * 4; ++k) static_cast<float*>(a.mutable_data())[k] = static_cast<float>(i * 10 + k) / 4;
  return a;
}

inline Array tiled(uint64_t i) {
  int64_t n = i == kTiledSample ? 700 : static_cast<int64_t>(i % 4);  // 1400 bytes: 6 tiles of 256
  Array a = Array::Zeros(DType::kUInt16, {n});
  for (int64_t k = 0; k < n; ++k) static_cast<uint16_t*>(a.mutable_data())[k] = static_cast<uint16_t>(mix(i + 77 * k));
  return a;
}

// Rows before the tensor existed read as empty samples of shape (0,).
inline Array late(uint64_t i) {
  if (i < kLateFrom) return Array::Zeros(DType::kInt32, {0});
  Array a = Array::Zeros(DType::kInt32, {2});
  static_cast<int32_t*>(a.mutable_data())[0] = static_cast<int32_t>(i);
  static_cast<int32_t*>(a.mutable_data())[1] = -static_cast<int32_t>(i);
  return a;
}

inline Array value(const std::string& tensor, uint64_t i) {
  if (tensor == "image_jpeg") return image_jpeg(i);
  if (tensor == "image_png") return image_png(i);
  if (tensor == "label") return label(i);
  if (tensor == "embedding") return embedding(i);
  if (tensor == "caption") return caption(i);
  if (tensor == "meta") return meta(i);
  if (tensor == "boxes") return boxes(i);
  if (tensor == "tiled") return tiled(i);
  return late(i);
}

}  // namespace gtn::golden
