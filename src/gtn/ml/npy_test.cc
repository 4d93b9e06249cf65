#include "gtn/ml/npy.h"

#include <cstring>

#include <gtest/gtest.h>

namespace gtn::ml {
namespace {

TEST(Npy, RoundTripsEveryNumericDtype) {
  for (DType dt : {DType::kFloat32, DType::kFloat64, DType::kInt8, DType::kInt32, DType::kInt64, DType::kUInt8,
                   DType::kUInt16, DType::kBool}) {
    for (Shape shape : {Shape{}, Shape{5}, Shape{3, 4}, Shape{2, 0, 3}}) {
      Array a = Array::Zeros(dt, shape);
      auto* p = static_cast<uint8_t*>(a.mutable_data());
      for (size_t i = 0; i < a.nbytes(); ++i) p[i] = dt == DType::kBool ? i % 2 : static_cast<uint8_t>(i * 37 + 1);
      auto bytes = serialize_npy(a);
      ASSERT_TRUE(bytes.ok());
      EXPECT_EQ((bytes->size() - a.nbytes()) % 64, 0u);
      auto b = parse_npy(*bytes);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      EXPECT_EQ(b->dtype(), dt);
      EXPECT_EQ(b->shape(), shape);
      EXPECT_EQ(0, std::memcmp(a.data(), b->data(), a.nbytes()));
    }
  }
}

TEST(Npy, ReadsWhatNumpyWrites) {
  // np.save of np.arange(6, dtype='<f8').reshape(2, 3) (numpy 1.x/2.x header layout)
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  h.append(128 - 10 - h.size() - 1, ' ');
  h += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size()) + '\0' + h;
  for (int i = 0; i < 6; ++i) {
    double v = i;
    bytes.append(reinterpret_cast<const char*>(&v), 8);
  }
  auto a = parse_npy(bytes);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->shape(), (Shape{2, 3}));
  EXPECT_EQ(a->data_as<double>()[5], 5.0);
}

TEST(Npy, RejectsWhatItCannotRead) {
  Array a = Array::Zeros(DType::kFloat32, {4});
  std::string good = *serialize_npy(a);
  EXPECT_EQ(parse_npy("hello").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(parse_npy(good.substr(0, good.size() - 1)).status().code(), StatusCode::kCorruption);
  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_EQ(parse_npy(fortran).status().code(), StatusCode::kInvalidArgument);
  std::string big = good;
  big.replace(big.find("<f4"), 3, ">f4");
  EXPECT_NE(parse_npy(big).status().message().find("big-endian"), std::string::npos);
  std::string obj = good;
  obj.replace(obj.find("<f4"), 3, "|O8");
  EXPECT_EQ(parse_npy(obj).status().code(), StatusCode::kInvalidArgument);
  for (size_t len = 0; len < good.size(); len += 7) EXPECT_FALSE(parse_npy(good.substr(0, len)).ok());
}

}  // namespace
}  // namespace gtn::ml
