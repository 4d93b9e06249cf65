// Helpers shared by the store tests: scratch directories, deterministic samples, folder
// sizes, fsck and tensor specs.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "gtn/dataset.h"

// GTN_UNDER_ASAN: built with AddressSanitizer (GCC defines __SANITIZE_ADDRESS__; clang
// answers __has_feature).
#if defined(__SANITIZE_ADDRESS__)
#define GTN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GTN_UNDER_ASAN 1
#endif
#endif

namespace gtn::store::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("gtn_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A uint8 array of `shape` filled from `seed`.
inline Array random_u8(const Shape& shape, uint64_t seed) {
  Array a = Array::Zeros(DType::kUInt8, shape);
  std::mt19937_64 rng(seed);
  auto* p = static_cast<uint8_t*>(a.mutable_data());
  for (size_t i = 0; i < a.nbytes(); ++i) p[i] = static_cast<uint8_t>(rng());
  return a;
}

inline Array random_f32(const Shape& shape, uint64_t seed) {
  Array a = Array::Zeros(DType::kFloat32, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  auto* p = static_cast<float*>(a.mutable_data());
  for (int64_t i = 0; i < a.numel(); ++i) p[i] = dist(rng);
  return a;
}

inline std::string random_text(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, ' ');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

inline bool same(const Array& a, const Array& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.as_string_view() == b.as_string_view();
}

// Bytes of every file under `root`.
inline uint64_t folder_bytes(const std::string& root) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// fsck finds nothing wrong with the dataset at `path`.
// Opens a dataset; a failure fails the test (and returns null).
inline std::unique_ptr<Dataset> open_or_die(const std::string& path, OpenOptions opts = {}) {
  auto ds = Dataset::Open(path, opts);
  EXPECT_TRUE(ds.ok()) << ds.status().ToString();
  return ds.ok() ? std::move(*ds) : nullptr;
}

inline void expect_healthy(const std::string& path) {
  auto issues = fsck(path);
  ASSERT_TRUE(issues.ok()) << issues.status().ToString();
  EXPECT_TRUE(issues->empty()) << (*issues)[0].object << ": " << (*issues)[0].problem;
}

// A tensor spec with a name, a dtype and a chunk target.
inline TensorSpec spec(const std::string& name, DType dtype, uint64_t chunk_target_bytes = 8ull << 20) {
  TensorSpec t;
  t.name = name;
  t.dtype = dtype;
  t.chunk_target_bytes = chunk_target_bytes;
  return t;
}

// A tensor spec with a name, an htype, a dtype (none: the htype's) and a chunk target.
inline TensorSpec spec(std::string name, std::string htype, std::optional<DType> dtype = std::nullopt,
                       uint64_t chunk_target_bytes = 8ull << 20) {
  TensorSpec t;
  t.name = std::move(name);
  t.htype = std::move(htype);
  t.dtype = dtype;
  t.chunk_target_bytes = chunk_target_bytes;
  return t;
}

}  // namespace gtn::store::testing
