// The LightGBM text-model loader against LightGBM's own predictions (tests/ml/lightgbm/):
// categorical splits (negative, unseen and fractional categories), zero-as-missing splits,
// NaN, multiclass; both dtypes, both backends; malformed files.
#include "gtn/ml/lightgbm_loader.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtn/ml.h"
#include "gtn/ml/test_util.h"
#include "gtn/npy.h"

namespace gtn::ml {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LightGBMLoader, MatchesLightGBMPredictions) {
  auto X = read_npy(testing::fixture_dir("lightgbm") + "X.npy");
  ASSERT_TRUE(X.ok()) << X.status().ToString();
  for (const char* name : {"binary_categorical", "multiclass", "regression_zero_as_missing"}) {
    auto raw = read_npy(testing::fixture_dir("lightgbm") + name + std::string(".raw.npy"));
    auto pred = read_npy(testing::fixture_dir("lightgbm") + name + std::string(".predict.npy"));
    ASSERT_TRUE(raw.ok() && pred.ok()) << name;
    for (const char* dtype : {"float64", "float32"})
      for (const char* backend : {"cpu", "reference"}) {
        std::string what = std::string(name) + " " + dtype + " " + backend;
        auto m = Model::Load(testing::fixture_dir("lightgbm") + name + ".txt", backend);  // by content: float64
        if (std::string(dtype) == "float32") m = Model::LoadLightGBM(testing::fixture_dir("lightgbm") + name + ".txt", dtype, backend);
        ASSERT_TRUE(m.ok()) << what << ": " << m.status().ToString();
        EXPECT_EQ(m->n_features(), 4);
        // float64: LightGBM's own arithmetic (double) to rounding; float32: its precision.
        double tol = std::string(dtype) == "float64" ? 1e-12 : 1e-5;
        auto dec = m->Predict("decision_function", *X);
        ASSERT_TRUE(dec.ok()) << dec.status().ToString();
        testing::expect_near(*dec, *raw, tol, what + " raw score");
        if (std::string(name) == "binary_categorical") {
          auto proba = m->Predict("predict_proba", *X);
          ASSERT_TRUE(proba.ok());
          for (int64_t i = 0; i < X->shape()[0]; ++i)
            EXPECT_NEAR(testing::element(*proba, 2 * i + 1), testing::element(*pred, i), tol) << what;
        } else if (std::string(name) == "multiclass") {
          auto proba = m->Predict("predict_proba", *X);
          ASSERT_TRUE(proba.ok());
          testing::expect_near(*proba, *pred, tol, what + " proba");
        } else {
          auto p = m->Predict("predict", *X);
          ASSERT_TRUE(p.ok());
          testing::expect_near(*p, *pred, tol, what + " predict");
        }
      }
  }
}

TEST(LightGBMLoader, CategoricalModelUsesTheCategoricalOp) {
  auto g = lightgbm_text_to_graph(read_text(testing::fixture_dir("lightgbm") + "binary_categorical.txt"), DType::kFloat64);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_NE(g->graph_json.find("TreeEnsembleCategorical"), std::string::npos);
  auto plain = lightgbm_text_to_graph(read_text(testing::fixture_dir("lightgbm") + "multiclass.txt"), DType::kFloat64);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->graph_json.find("TreeEnsembleCategorical"), std::string::npos);
}

TEST(LightGBMLoader, MalformedModelsAreClearErrors) {
  std::string text = read_text(testing::fixture_dir("lightgbm") + "multiclass.txt");
  ASSERT_FALSE(text.empty());
  auto cut = lightgbm_text_to_graph(text.substr(0, text.size() / 2), DType::kFloat64);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("end of trees"), std::string::npos) << cut.status().ToString();
  std::string bad = text;
  bad.replace(bad.find("left_child="), 11, "left_child=99 ");
  auto r = lightgbm_text_to_graph(bad, DType::kFloat64);
  ASSERT_FALSE(r.ok());
  std::string linear = text;
  linear.replace(linear.find("is_linear=0"), 11, "is_linear=1");
  auto l = lightgbm_text_to_graph(linear, DType::kFloat64);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), StatusCode::kUnsupported);
  auto not_model = lightgbm_text_to_graph("hello", DType::kFloat64);
  EXPECT_FALSE(not_model.ok());
  auto feature = text;
  size_t at = feature.find("split_feature=");
  feature.replace(at, feature.find(' ', at) - at, "split_feature=77");
  auto f = lightgbm_text_to_graph(feature, DType::kFloat64);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("feature 77"), std::string::npos) << f.status().ToString();
}

}  // namespace
}  // namespace gtn::ml
