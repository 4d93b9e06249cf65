#include "gtn/ingest/column.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gtn::ingest {
namespace {

using Cell = nlohmann::ordered_json;

ColumnKind kind_of(std::vector<Cell> cells, bool text) { return infer_column(cells, text).kind; }

TEST(Column, InfersKindsFromCsvText) {
  EXPECT_EQ(kind_of({"1", "-2", "+3"}, true), ColumnKind::kInt64);
  EXPECT_EQ(kind_of({"1", "2.5", nullptr}, true), ColumnKind::kFloat64);
  // A missing value does not turn an integer column into float64.
  EXPECT_EQ(kind_of({"1", nullptr}, true), ColumnKind::kInt64);
  EXPECT_EQ(kind_of({" 1", "2 "}, true), ColumnKind::kInt64);
  // One integer beyond int64 makes the column uint64 when every value fits uint64, and
  // never float64.
  EXPECT_EQ(kind_of({"1", "18446744073709551615"}, true), ColumnKind::kUInt64);
  EXPECT_EQ(kind_of({"-1", "18446744073709551616"}, true), ColumnKind::kInt64);
  EXPECT_EQ(kind_of({"a.jpg", "b/c.PNG", "d.jpeg"}, true), ColumnKind::kImagePath);
  EXPECT_EQ(kind_of({"a.jpg", "notes.txt"}, true), ColumnKind::kText);
  EXPECT_EQ(kind_of({"hello", "12"}, true), ColumnKind::kText);
  EXPECT_EQ(kind_of({nullptr, nullptr}, true), ColumnKind::kText);
}

TEST(Column, InfersKindsFromJsonTypes) {
  EXPECT_EQ(kind_of({1, 2}, false), ColumnKind::kInt64);
  EXPECT_EQ(kind_of({1, nullptr, 2}, false), ColumnKind::kInt64);
  EXPECT_EQ(kind_of({1, 2.5}, false), ColumnKind::kFloat64);
  EXPECT_EQ(kind_of({Cell(1), Cell(std::numeric_limits<uint64_t>::max())}, false), ColumnKind::kUInt64);
  EXPECT_EQ(kind_of({"1", "2"}, false), ColumnKind::kText);  // JSON strings stay text
  EXPECT_EQ(kind_of({true, false}, false), ColumnKind::kBool);
  EXPECT_EQ(kind_of({Cell::array({1, 2}), Cell::array({3})}, false), ColumnKind::kNumericList);
  EXPECT_EQ(infer_column({Cell::array({1, 2.5})}, false).list_dtype, DType::kFloat32);
  EXPECT_EQ(infer_column({Cell::array({1, 2})}, false).list_dtype, DType::kInt64);
  EXPECT_EQ(kind_of({Cell::object({{"k", 1}}), 3}, false), ColumnKind::kJson);
}

TEST(Column, ConvertsCellsToArrays) {
  ColumnPlan ints = infer_column({"7"}, true);
  auto a = cell_to_array(ints, "7");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->dtype(), DType::kInt64);
  EXPECT_EQ(*a->data_as<int64_t>(), 7);

  ColumnPlan floats = infer_column({"1.5", nullptr}, true);
  auto f = cell_to_array(floats, nullptr);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(std::isnan(*f->data_as<double>()));

  ColumnPlan list = infer_column({Cell::array({1, 2.5})}, false);
  auto l = cell_to_array(list, Cell::array({1, 2.5}));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(l->data_as<float>()[1], 2.5f);

  ColumnPlan js = infer_column({Cell::object({{"k", 1}}), 3}, false);
  auto j = cell_to_array(js, Cell::object({{"k", 1}}));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->as_string_view(), "{\"k\":1}");
  EXPECT_EQ(column_tensor_spec("meta", js).htype, "json");
}

TEST(Column, BadCellsSayWhatWasExpected) {
  ColumnPlan ints;
  ints.kind = ColumnKind::kInt64;
  ints.cells_are_text = true;
  auto a = cell_to_array(ints, "x");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("expected an integer"), std::string::npos);
  auto big = cell_to_array(ints, "99999999999999999999");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("outside the int64 range"), std::string::npos);
  // A missing integer is an empty sample of the column's dtype.
  auto none = cell_to_array(ints, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->dtype(), DType::kInt64);
  EXPECT_EQ(none->shape(), (Shape{0}));
}

TEST(Column, UInt64ColumnsKeepEveryDigit) {
  ColumnPlan plan = infer_column({"1", "18446744073709551615"}, true);
  auto a = cell_to_array(plan, "18446744073709551615");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->dtype(), DType::kUInt64);
  EXPECT_EQ(*a->data_as<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_FALSE(cell_to_array(plan, "-3").ok());
}

}  // namespace
}  // namespace gtn::ingest
