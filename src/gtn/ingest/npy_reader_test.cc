#include "gtn/ingest/npy_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace gtn::ingest {
namespace {

// A version-1.0 .npy file as numpy writes it (header padded to a multiple of 64 bytes).
std::string make_npy(const std::string& descr, const std::string& shape, const std::string& data,
                     bool fortran = false, int major = 1) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                     ", 'shape': " + shape + ", }";
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = prefix + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  dict += std::string(pad, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  size_t n = dict.size();
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  if (major != 1) {
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 24) & 0xff));
  }
  return out + dict + data;
}

TEST(NpyReader, ReadsFloat32MatrixByteExactly) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> values(3 * 5);
  for (float& v : values) v = dist(rng);
  std::string data(reinterpret_cast<const char*>(values.data()), values.size() * 4);
  auto arr = parse_npy(make_npy("<f4", "(3, 5)", data));
  ASSERT_TRUE(arr.ok()) << arr.status().ToString();
  EXPECT_EQ(arr->dtype(), DType::kFloat32);
  EXPECT_EQ(arr->shape(), (Shape{3, 5}));
  EXPECT_EQ(std::memcmp(arr->data(), values.data(), data.size()), 0);
}

TEST(NpyReader, ReadsEveryNumericDtype) {
  struct Case { const char* descr; DType dtype; };
  for (Case c : {Case{"|b1", DType::kBool}, Case{"|i1", DType::kInt8}, Case{"<i2", DType::kInt16},
                 Case{"<i4", DType::kInt32}, Case{"<i8", DType::kInt64}, Case{"|u1", DType::kUInt8},
                 Case{"<u2", DType::kUInt16}, Case{"<u4", DType::kUInt32}, Case{"<u8", DType::kUInt64},
                 Case{"<f2", DType::kFloat16}, Case{"<f8", DType::kFloat64}}) {
    std::string data(4 * dtype_size(c.dtype), '\1');
    auto arr = parse_npy(make_npy(c.descr, "(4,)", data));
    ASSERT_TRUE(arr.ok()) << c.descr << ": " << arr.status().ToString();
    EXPECT_EQ(arr->dtype(), c.dtype) << c.descr;
    EXPECT_EQ(arr->shape(), (Shape{4})) << c.descr;
  }
}

TEST(NpyReader, ReadsVersion2HeaderAndScalars) {
  int64_t v = -42;
  auto arr = parse_npy(make_npy("<i8", "()", std::string(reinterpret_cast<const char*>(&v), 8), false, 2));
  ASSERT_TRUE(arr.ok()) << arr.status().ToString();
  EXPECT_EQ(arr->shape(), Shape{});
  EXPECT_EQ(*arr->data_as<int64_t>(), -42);
}

TEST(NpyReader, RejectsObjectArrays) {
  auto arr = parse_npy(make_npy("|O", "(2,)", std::string(16, '\0')));
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(arr.status().message().find("object arrays"), std::string::npos);
}

TEST(NpyReader, RejectsFortranOrder) {
  auto arr = parse_npy(make_npy("<f4", "(2, 2)", std::string(16, '\0'), true));
  ASSERT_FALSE(arr.ok());
  EXPECT_NE(arr.status().message().find("Fortran order"), std::string::npos);
}

TEST(NpyReader, RejectsBigEndianAndStrings) {
  EXPECT_NE(parse_npy(make_npy(">f4", "(1,)", std::string(4, '\0'))).status().message().find("big-endian"),
            std::string::npos);
  EXPECT_FALSE(parse_npy(make_npy("<U5", "(1,)", std::string(20, '\0'))).ok());
  EXPECT_FALSE(parse_npy(make_npy("<c8", "(1,)", std::string(8, '\0'))).ok());
}

TEST(NpyReader, RejectsTruncatedAndGarbage) {
  std::string good = make_npy("<i4", "(4,)", std::string(16, '\0'));
  EXPECT_FALSE(parse_npy(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(parse_npy(good.substr(0, 9)).ok());
  EXPECT_FALSE(parse_npy("hello world, not numpy").ok());
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {  // random corruption must give an error or a value, never a crash
    std::string bad = good;
    bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)parse_npy(bad);
  }
}

TEST(NpyReader, MissingFileIsNotFound) {
  auto arr = read_npy_file("/nonexistent/x.npy");
  ASSERT_FALSE(arr.ok());
  EXPECT_EQ(arr.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace gtn::ingest
