// TreeEnsembleCategorical through the XGBoost loader: a model with categorical splits against
// xgboost's own margins (tests/ml/xgboost/make_categorical.py), both backends, both dtypes;
// and the op's checks on malformed category tables.
#include <cstdlib>

#include "gtn/ml.h"
#include "gtn/ml/test_util.h"
#include "gtn/npy.h"

namespace gtn::ml {
namespace {

TEST(TreeEnsembleCategorical, XGBoostCategoricalSplitsMatchXGBoost) {
  auto X = read_npy(testing::fixture_dir("xgboost") + "categorical_X.npy");
  auto margin = read_npy(testing::fixture_dir("xgboost") + "categorical.margin.npy");
  ASSERT_TRUE(X.ok() && margin.ok());
  for (const char* dtype : {"float32", "float64"})
    for (const char* backend : {"cpu", "reference"}) {
      auto m = Model::LoadXGBoostJson(testing::fixture_dir("xgboost") + "categorical.json", dtype, backend);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      EXPECT_NE(m->graph_json().find("TreeEnsembleCategorical"), std::string::npos);
      auto dec = m->Predict("decision_function", *X);
      ASSERT_TRUE(dec.ok()) << dec.status().ToString();
      ASSERT_EQ(dec->numel(), margin->numel());
      for (int64_t i = 0; i < dec->numel(); ++i) {
        double w = testing::element(*margin, i);
        // xgboost sums in float32: 2e-6 relative is its rounding.
        EXPECT_NEAR(testing::element(*dec, i), w, 2e-6 * std::max(1.0, std::fabs(w)))
            << dtype << " " << backend << " row " << i;
      }
    }
}

std::string graph_with_table(const std::string& sizes_json) {
  return R"({"format": "gtn-ml-graph", "version": 1, "dtype": "float64",
    "inputs": [{"name": "X", "shape": [-1, 1]}], "outputs": {"predict": "y"},
    "nodes": [{"op": "TreeEnsembleCategorical", "inputs": ["X"], "outputs": ["y"], "attrs": {
      "n_outputs": 1, "nodes_feature": "f", "nodes_threshold": "t", "nodes_left": "l",
      "nodes_right": "r", "leaf_values": "v", "tree_roots": "roots", "nodes_kind": "kind",
      "nodes_other_left": "other", "cat_offsets": "off", "cat_sizes": )" + sizes_json +
         R"(, "cat_directions": "dir"}}], "metadata": {}})";
}

std::map<std::string, Array> constants(int32_t size) {
  std::map<std::string, Array> c;
  auto i32 = [](std::vector<int32_t> v) {
    return *Array::Copy(DType::kInt32, {static_cast<int64_t>(v.size())}, v.data(), v.size() * 4);
  };
  auto u8 = [](std::vector<uint8_t> v) {
    return *Array::Copy(DType::kUInt8, {static_cast<int64_t>(v.size())}, v.data(), v.size());
  };
  std::vector<double> t{0, 0, 0}, v{0, -1, 1};
  c["f"] = i32({0, -1, -1});
  c["t"] = *Array::Copy(DType::kFloat64, {3}, t.data(), 24);
  c["l"] = i32({1, 0, 0});
  c["r"] = i32({2, 0, 0});
  c["v"] = *Array::Copy(DType::kFloat64, {3, 1}, v.data(), 24);
  c["roots"] = i32({0});
  c["kind"] = u8({1, 0, 0});
  c["other"] = u8({0, 0, 0});
  c["off"] = i32({0, 0, 0});
  c["sizes"] = i32({size, 0, 0});
  c["dir"] = u8({1, 2, 0});  // category 0 left, 1 right, 2 "other" (right)
  return c;
}

TEST(TreeEnsembleCategorical, RoutesCategoriesAndRefusesBadTables) {
  auto m = Model::Compile(graph_with_table("\"sizes\""), constants(3), "reference");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<double> x{0, 1, 2, 5, -1, 0.7};
  auto X = *Array::Copy(DType::kFloat64, {6, 1}, x.data(), x.size() * 8);
  auto y = m->Predict("predict", X);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  std::vector<double> want{-1, 1, 1, 1, 1, -1};  // 0.7 is category 0 (truncated)
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(testing::element(*y, i), want[i]) << i;
  auto bad = Model::Compile(graph_with_table("\"sizes\""), constants(9), "cpu");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("outside cat_directions"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace gtn::ml
