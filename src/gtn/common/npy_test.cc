#include "gtn/npy.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <unistd.h>

#include <gtest/gtest.h>

namespace gtn {
namespace {

// A .npy file as numpy writes it: magic, version, header length, the header dict padded
// with spaces and a newline to a multiple of 64 bytes, the data.
std::string make_npy(const std::string& descr, const std::string& shape, const std::string& data,
                     const std::string& fortran = "False", int major = 1) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  size_t prefix = major == 1 ? 10 : 12;
  dict += std::string((64 - (prefix + dict.size() + 1) % 64) % 64, ' ') + "\n";
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

// The same, with the header dict given verbatim.
std::string make_raw(const std::string& dict, const std::string& data) {
  std::string out = "\x93NUMPY";
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  return out + dict + data;
}

const DType kNumeric[] = {DType::kBool,   DType::kInt8,   DType::kInt16,   DType::kInt32,
                          DType::kInt64,  DType::kUInt8,  DType::kUInt16,  DType::kUInt32,
                          DType::kUInt64, DType::kFloat16, DType::kFloat32, DType::kFloat64};

Status error_of(std::string_view bytes) {
  Result<Array> a = parse_npy(bytes);
  EXPECT_FALSE(a.ok()) << "parsed: " << std::string(bytes.substr(0, 80));
  return a.ok() ? Status::OK() : a.status();
}

bool mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST(Npy, RoundTripsEveryNumericDtypeAndShape) {
  for (DType dt : kNumeric) {
    for (Shape shape : {Shape{}, Shape{5}, Shape{3, 4}, Shape{2, 0, 3}, Shape{1, 2, 1, 3}}) {
      Array a = Array::Zeros(dt, shape);
      auto* p = static_cast<uint8_t*>(a.mutable_data());
      for (size_t i = 0; i < a.nbytes(); ++i) p[i] = dt == DType::kBool ? i % 2 : static_cast<uint8_t>(i * 37 + 1);
      Result<std::string> bytes = serialize_npy(a);
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      EXPECT_EQ((bytes->size() - a.nbytes()) % 64, 0u);
      Result<Array> b = parse_npy(*bytes);
      ASSERT_TRUE(b.ok()) << dtype_name(dt) << shape_to_string(shape) << ": " << b.status().ToString();
      EXPECT_EQ(b->dtype(), dt);
      EXPECT_EQ(b->shape(), shape);
      EXPECT_EQ(0, std::memcmp(a.data(), b->data(), a.nbytes()));
    }
  }
}

TEST(Npy, WritesExactlyWhatNumpyWrites) {
  // np.save(f, np.arange(3, dtype='<i2')) and np.save(f, np.zeros((2, 3), '<f8')):
  // the header dict, spaces and a newline make a multiple of 64 bytes.
  Array a = Array::Zeros(DType::kInt16, {3});
  std::string want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                     "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }" + std::string(60, ' ') + "\n" +
                     std::string(6, '\0');
  EXPECT_EQ(*serialize_npy(a), want);
  EXPECT_EQ(*serialize_npy(Array::Zeros(DType::kFloat64, {2, 3})),
            make_npy("<f8", "(2, 3)", std::string(48, '\0')));
  EXPECT_EQ(*serialize_npy(Array::Zeros(DType::kBool, {})), make_npy("|b1", "()", std::string(1, '\0')));
}

TEST(Npy, ReadsEveryDescrNumpyUses) {
  struct Case { const char* descr; DType dtype; };
  const Case cases[] = {{"|b1", DType::kBool},    {"|i1", DType::kInt8},    {"<i2", DType::kInt16},
                        {"<i4", DType::kInt32},   {"<i8", DType::kInt64},   {"|u1", DType::kUInt8},
                        {"<u2", DType::kUInt16},  {"<u4", DType::kUInt32},  {"<u8", DType::kUInt64},
                        {"<f2", DType::kFloat16}, {"<f4", DType::kFloat32}, {"<f8", DType::kFloat64},
                        {">u1", DType::kUInt8},   {">i1", DType::kInt8},    {">b1", DType::kBool},
                        {"=f4", DType::kFloat32}};
  for (const Case& c : cases) {
    std::string data(4 * dtype_size(c.dtype), '\x01');
    Result<Array> a = parse_npy(make_npy(c.descr, "(4,)", data));
    ASSERT_TRUE(a.ok()) << c.descr << ": " << a.status().ToString();
    EXPECT_EQ(a->dtype(), c.dtype) << c.descr;
    EXPECT_EQ(a->shape(), Shape{4}) << c.descr;
    EXPECT_EQ(0, std::memcmp(a->data(), data.data(), data.size()));
  }
}

TEST(Npy, ReadsFloat32MatrixByteExactly) {
  std::vector<float> v(15);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.5f - 3.f;
  std::string data(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  Result<Array> a = parse_npy(make_npy("<f4", "(3, 5)", data));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->shape(), (Shape{3, 5}));
  EXPECT_EQ(a->data_as<float>()[14], 4.f);
}

TEST(Npy, ReadsVersions2And3ScalarsAndHeaderVariants) {
  int64_t v = -42;
  std::string data(reinterpret_cast<const char*>(&v), 8);
  for (int major : {2, 3}) {
    Result<Array> a = parse_npy(make_npy("<i8", "()", data, "False", major));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->shape(), Shape{});
    EXPECT_EQ(*a->data_as<int64_t>(), -42);
  }
  // Double quotes, no trailing comma, no padding, Python 2 longs, keys in another order.
  Result<Array> a = parse_npy(make_raw("{\"shape\": (1L, 1L), \"fortran_order\": False, \"descr\": \"<i8\"}\n", data));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->shape(), (Shape{1, 1}));
}

TEST(Npy, FortranOrderIsReadWhenItIsTheSameAsCOrderAndRefusedOtherwise) {
  for (std::string shape : {"(4,)", "()", "(1, 4)", "(4, 1, 1)"}) {
    Result<Array> a = parse_npy(make_npy("<i2", shape, std::string(shape == "()" ? 2 : 8, '\0'), "True"));
    EXPECT_TRUE(a.ok()) << shape << ": " << a.status().ToString();
  }
  Status s = error_of(make_npy("<f8", "(3, 2)", std::string(48, '\0'), "True"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "Fortran order")) << s.ToString();
  EXPECT_TRUE(mentions(s, "np.ascontiguousarray")) << s.ToString();
}

TEST(Npy, BigEndianIsRefusedWithHowToSaveIt) {
  for (const char* descr : {">f4", ">i2", ">u8", ">f2"}) {
    Status s = error_of(make_npy(descr, "(1,)", std::string(8, '\0')));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << descr;
    EXPECT_TRUE(mentions(s, "big-endian")) << s.ToString();
    EXPECT_TRUE(mentions(s, "newbyteorder('<')")) << s.ToString();
  }
}

TEST(Npy, UnsupportedDtypesSayWhatTheyAre) {
  struct Case { std::string descr; std::string message; };
  const Case cases[] = {{"|O", "object arrays"},     {"<U5", "string arrays"},  {"|S3", "string arrays"},
                        {"<c8", "complex arrays"},   {"<M8[s]", "datetime"},    {"|V4", "structured"},
                        {"<f16", "not supported"},   {"<i3", "not supported"}};
  for (const Case& c : cases) {
    Status s = error_of(make_npy(c.descr, "(1,)", std::string(16, '\0')));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.descr;
    EXPECT_TRUE(mentions(s, c.message)) << c.descr << ": " << s.ToString();
  }
  Status s = error_of(make_raw("{'descr': [('a', '<i4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }\n",
                               std::string(8, '\0')));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "structured dtypes")) << s.ToString();
}

TEST(Npy, TruncatedFilesAreCorruptionAtEveryLength) {
  std::string good = make_npy("<f4", "(2, 3)", std::string(24, '\x7f'));
  for (size_t len = 0; len < good.size(); ++len) {
    Status s = error_of(good.substr(0, len));
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << "length " << len << ": " << s.ToString();
  }
  Status s = error_of(good.substr(0, good.size() - 4));
  EXPECT_TRUE(mentions(s, "truncated: data holds 20 bytes, expected 24 for float32 shape (2, 3)")) << s.ToString();
  s = error_of(good + "xx");
  EXPECT_TRUE(mentions(s, "trailing bytes")) << s.ToString();
}

TEST(Npy, BadHeadersAreCorruptionThatSaysWhy) {
  struct Case { std::string dict; std::string message; };
  const Case cases[] = {
      {"{'descr': '<f4', 'shape': (1,), }", "no 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (1,), }", "no 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, }", "no 'shape'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unknown key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "repeats 'descr'"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}", "neither True nor False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, x)}", "non-integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", "too large"},
      {"{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", "byte order"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "malformed"},
      {"['descr', '<f4']", "not a dict"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "malformed"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "text after its dict"},
  };
  for (const Case& c : cases) {
    Status s = error_of(make_raw(c.dict + "\n", std::string(4, '\0')));
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << c.dict << ": " << s.ToString();
    EXPECT_TRUE(mentions(s, c.message)) << c.dict << ": " << s.ToString();
  }
  std::string v4 = make_npy("<f4", "(1,)", std::string(4, '\0'));
  v4[6] = 4;
  EXPECT_EQ(error_of(v4).code(), StatusCode::kUnsupported);
  EXPECT_EQ(error_of("hello world, not numpy").code(), StatusCode::kCorruption);
  EXPECT_TRUE(mentions(error_of("hello"), "magic"));
}

TEST(Npy, RandomCorruptionGivesAnErrorOrAValueNeverACrash) {
  std::string good = make_npy("<f4", "(3, 5)", std::string(60, '\x3f'));
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    std::string bad = good;
    for (int k = 0; k < 1 + round % 4; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    Result<Array> a = parse_npy(bad);
    if (a.ok()) {
      EXPECT_EQ(static_cast<int64_t>(a->nbytes()), a->numel() * static_cast<int64_t>(dtype_size(a->dtype())));
    }
  }
}

TEST(Npy, FilesMissingFolderAndTextValues) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("gtn_npy_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "a.npy").string();
  Array a = Array::Zeros(DType::kUInt16, {2, 2});
  ASSERT_TRUE(write_npy(path, a).ok());
  Result<Array> b = read_npy(path);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->shape(), (Shape{2, 2}));

  std::ofstream(dir / "short.npy", std::ios::binary) << serialize_npy(a)->substr(0, 100);
  Status s = read_npy((dir / "short.npy").string()).status();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_TRUE(mentions(s, (dir / "short.npy").string())) << s.ToString();

  EXPECT_EQ(read_npy((dir / "missing.npy").string()).status().code(), StatusCode::kNotFound);
  s = read_npy(dir.string()).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "is a folder")) << s.ToString();
  EXPECT_EQ(read_npy(std::string("a\0b.npy", 7)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write_npy((dir / "no" / "such" / "x.npy").string(), a).code(), StatusCode::kIOError);

  s = serialize_npy(Array::Text("hello")).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(mentions(s, "text values cannot be written as .npy")) << s.ToString();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gtn
