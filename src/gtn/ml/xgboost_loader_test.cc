// The XGBoost JSON loader against xgboost's own predictions (tests/ml/xgboost/).
#include "gtn/ml/xgboost_loader.h"

#include <cstdlib>
#include <limits>

#include <nlohmann/json.hpp>

#include "gtn/ml/model_file.h"
#include "gtn/npy.h"
#include "gtn/ml/test_util.h"

namespace gtn::ml {
namespace {

TEST(XGBoostLoader, MatchesXGBoostPredictions) {
  auto X = read_npy(testing::fixture_dir("xgboost") + "X.npy");
  ASSERT_TRUE(X.ok()) << X.status().ToString();
  for (const char* name : {"binary_logistic", "multi_softprob", "reg_squarederror", "reg_logistic", "count_poisson"}) {
    auto pred = read_npy(testing::fixture_dir("xgboost") + name + std::string(".predict.npy"));
    auto margin = read_npy(testing::fixture_dir("xgboost") + name + std::string(".margin.npy"));
    ASSERT_TRUE(pred.ok() && margin.ok()) << name;
    for (const char* dtype : {"float32", "float64"})
      for (const char* backend : {"cpu", "reference"}) {
        std::string what = std::string(name) + " " + dtype + " " + backend;
        auto m = Model::LoadXGBoostJson(testing::fixture_dir("xgboost") + name + ".json", dtype, backend);
        ASSERT_TRUE(m.ok()) << what << ": " << m.status().ToString();
        EXPECT_EQ(m->n_features(), 6);
        auto dec = m->Predict("decision_function", *X);
        ASSERT_TRUE(dec.ok()) << dec.status().ToString();
        testing::expect_near(*dec, *margin, 2e-5, what + " margin");
        if (std::string(name) == "binary_logistic") {
          auto proba = m->Predict("predict_proba", *X);
          ASSERT_TRUE(proba.ok());
          auto label = m->Predict("predict", *X);
          ASSERT_TRUE(label.ok());
          for (int64_t i = 0; i < X->shape()[0]; ++i) {
            double p = testing::element(*pred, i);
            EXPECT_NEAR(testing::element(*proba, 2 * i + 1), p, 1e-5) << what;
            EXPECT_NEAR(testing::element(*proba, 2 * i), 1 - p, 1e-5) << what;
            EXPECT_EQ(testing::element(*label, i), p > 0.5 ? 1 : 0) << what;
          }
        } else if (std::string(name) == "multi_softprob") {
          auto proba = m->Predict("predict_proba", *X);
          ASSERT_TRUE(proba.ok());
          testing::expect_near(*proba, *pred, 1e-5, what + " proba");
          auto label = m->Predict("predict", *X);
          for (int64_t i = 0; i < X->shape()[0]; ++i) {
            int best = 0;
            for (int k = 1; k < 3; ++k)
              if (testing::element(*pred, 3 * i + k) > testing::element(*pred, 3 * i + best)) best = k;
            EXPECT_EQ(testing::element(*label, i), best) << what << " row " << i;
          }
        } else {
          auto p = m->Predict("predict", *X);
          ASSERT_TRUE(p.ok());
          EXPECT_EQ(p->shape(), pred->shape());
          testing::expect_near(*p, *pred, 2e-5, what + " predict");
        }
      }
  }
}

TEST(XGBoostLoader, LoadDetectsFormatAndSavesAsGtnModel) {
  auto m = Model::Load(testing::fixture_dir("xgboost") + "binary_logistic.json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::string path = ::testing::TempDir() + "xgb_as_gtn.gtnml";
  ASSERT_TRUE(m->Save(path).ok());
  auto again = Model::Load(path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto X = read_npy(testing::fixture_dir("xgboost") + "X.npy");
  auto a = m->Predict("predict_proba", *X);
  auto b = again->Predict("predict_proba", *X);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(0, std::memcmp(a->data(), b->data(), a->nbytes()));
  std::remove(path.c_str());
}

TEST(XGBoostLoader, BadModelsAreErrors) {
  EXPECT_EQ(Model::LoadXGBoostJson("{\"learner\": 3}").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Model::LoadXGBoostJson("{\"learner\": {").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(Model::LoadXGBoostJson("/no/such/model.json").status().code(), StatusCode::kNotFound);
  auto text = read_file(testing::fixture_dir("xgboost") + "binary_logistic.json");
  ASSERT_TRUE(text.ok());
  std::string broken = *text;
  broken.replace(broken.find("\"left_children\":["), 17, "\"left_children\":[9999,");
  EXPECT_FALSE(Model::LoadXGBoostJson(broken).ok());
  std::mt19937 rng(5);
  for (int i = 0; i < 200; ++i) {  // truncations never crash
    std::string cut = text->substr(0, rng() % text->size());
    EXPECT_FALSE(Model::LoadXGBoostJson(cut).ok());
  }
}

// One split on feature 0 at `t`: leaf 1 when float32(x) < t (XGBoost's rule), else leaf 2.
std::string one_split_model(double t) {
  nlohmann::json tree = {{"tree_param", {{"size_leaf_vector", "1"}}},
                         {"left_children", {1, -1, -1}},
                         {"right_children", {2, -1, -1}},
                         {"split_indices", {0, 0, 0}},
                         {"split_conditions", {t, 1.0, 2.0}},
                         {"default_left", {1, 0, 0}}};
  nlohmann::json root = {
      {"learner",
       {{"learner_model_param", {{"num_feature", "1"}, {"num_class", "0"}, {"base_score", "0"}}},
        {"objective", {{"name", "reg:squarederror"}}},
        {"gradient_booster", {{"name", "gbtree"}, {"model", {{"trees", {tree}}, {"tree_info", {0}}}}}}}}};
  return root.dump();
}

TEST(XGBoostLoader, SplitsLikeXGBoostOnFloat64InputsAtThresholds) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  constexpr float kFInf = std::numeric_limits<float>::infinity();
  std::mt19937 rng(11);
  for (double t : {0.1, 1.0, 0.0, -2.5, 3.0e-39, 1.0e30, -3.4028234663852886e38, 0.30000001192092896}) {
    float tf = static_cast<float>(t);
    float below = std::nextafter(tf, -kFInf), above = std::nextafter(tf, kFInf);
    std::vector<double> xs = {t, tf, std::nextafter(static_cast<double>(tf), -kInf),
                              std::nextafter(static_cast<double>(tf), kInf), below, above};
    for (double lo : {static_cast<double>(below), static_cast<double>(tf)}) {
      double hi = lo == tf ? static_cast<double>(above) : static_cast<double>(tf);
      if (!std::isfinite(lo) || !std::isfinite(hi)) continue;
      double mid = (lo + hi) / 2;  // the float32 rounding boundary, a tie
      xs.insert(xs.end(), {mid, std::nextafter(mid, -kInf), std::nextafter(mid, kInf)});
      std::uniform_real_distribution<double> u(lo, hi);
      for (int i = 0; i < 20; ++i) xs.push_back(u(rng));
    }
    Array X = testing::array_of(DType::kFloat64, {static_cast<int64_t>(xs.size()), 1}, xs);
    for (const char* dtype : {"float64", "float32"})
      for (const char* backend : {"cpu", "reference"}) {
        auto m = Model::LoadXGBoostJson(one_split_model(t), dtype, backend);
        ASSERT_TRUE(m.ok()) << m.status().ToString();
        auto got = m->Predict("predict", X);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        for (size_t i = 0; i < xs.size(); ++i) {
          double want = static_cast<float>(xs[i]) < tf ? 1.0 : 2.0;
          EXPECT_EQ(testing::element(*got, static_cast<int64_t>(i)), want)
              << dtype << " " << backend << " t=" << t << " x=" << xs[i];
        }
      }
  }
}

}  // namespace
}  // namespace gtn::ml
