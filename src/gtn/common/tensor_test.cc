#include "gtn/tensor.h"

#include <gtest/gtest.h>

namespace gtn {
namespace {

TEST(DType, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(DType::kBytes); ++i) {
    DType d = static_cast<DType>(i);
    auto parsed = parse_dtype(dtype_name(d));
    ASSERT_TRUE(parsed.ok()) << dtype_name(d);
    EXPECT_EQ(*parsed, d);
  }
  EXPECT_EQ(*parse_dtype("<f4"), DType::kFloat32);
  EXPECT_EQ(*parse_dtype("i8"), DType::kInt64);
  auto bad = parse_dtype("complex64");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected one of"), std::string::npos);
}

TEST(Array, CopyChecksSize) {
  float v[6] = {1, 2, 3, 4, 5, 6};
  auto a = Array::Copy(DType::kFloat32, {2, 3}, v, sizeof(v));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->numel(), 6);
  EXPECT_EQ(a->data_as<float>()[5], 6.0f);
  EXPECT_NE(a->data(), static_cast<const void*>(v));
  auto bad = Array::Copy(DType::kFloat32, {2, 2}, v, sizeof(v));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(Array, EmptyOwnsAWritableBufferOfTheShape) {
  Array a = Array::Empty(DType::kFloat64, {3, 4});
  EXPECT_TRUE(a.owns_buffer());
  EXPECT_EQ(a.numel(), 12);
  EXPECT_EQ(a.nbytes(), 12 * sizeof(double));
  double* p = static_cast<double*>(a.mutable_data());
  for (int i = 0; i < 12; ++i) p[i] = i;
  EXPECT_EQ(a.data_as<double>()[11], 11.0);
  Array none = Array::Empty(DType::kFloat32, {0, 5});
  EXPECT_EQ(none.nbytes(), 0u);
  EXPECT_NE(none.data(), nullptr);
}

TEST(Array, ViewKeepsOwnerAlive) {
  auto owner = std::make_shared<std::vector<int32_t>>(std::vector<int32_t>{7, 8, 9});
  auto a = Array::View(DType::kInt32, {3}, owner->data(), 12, owner);
  ASSERT_TRUE(a.ok());
  std::weak_ptr<std::vector<int32_t>> weak = owner;
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(a->data_as<int32_t>()[2], 9);
  EXPECT_FALSE(a->owns_buffer());
}

TEST(Array, TextAndScalar) {
  Array t = Array::Text("héllo");
  EXPECT_EQ(t.dtype(), DType::kText);
  EXPECT_EQ(t.as_string_view(), "héllo");
  EXPECT_EQ(t.shape(), Shape{6});
  Array s = Array::Scalar<int64_t>(DType::kInt64, 42);
  EXPECT_EQ(s.ndim(), 0u);
  EXPECT_EQ(*s.data_as<int64_t>(), 42);
  EXPECT_EQ(shape_to_string({64, 64, 3}), "(64, 64, 3)");
  EXPECT_EQ(shape_to_string({5}), "(5,)");
}

}  // namespace
}  // namespace gtn
