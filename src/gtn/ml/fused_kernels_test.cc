// SvmKernel and KNearest: the blocked CPU kernels against the reference interpreter, on
// shapes that cross their row-chunk (64) and block (512 support vectors, 1,024 reference
// rows) boundaries, for every kernel function, with ties and NaN inputs.
#include "gtn/ml/test_util.h"

namespace gtn::ml {
namespace {

using testing::expect_backends_agree;
using testing::random_array;

Json one_node_graph(DType dt, int64_t features, const Json& node, const Json& outputs) {
  return {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", dt == DType::kFloat32 ? "float32" : "float64"},
          {"inputs", {{{"name", "X"}, {"shape", {-1, features}}}}}, {"outputs", outputs}, {"nodes", {node}}};
}

// The largest errors seen, relative to max(|value|, 1): float64 4.5e-14, float32 2.8e-5
// (poly: single-precision sums of ~1,100 terms of up to ~10 that cancel to ~0.3).
double tolerance(DType dt) { return dt == DType::kFloat64 ? 1e-13 : 6e-5; }

TEST(FusedKernels, SvmKernelEveryKernelFunction) {
  struct Case {
    const char* kernel;
    double gamma, coef0, degree;
  };
  uint32_t seed = 1;
  for (DType dt : {DType::kFloat64, DType::kFloat32}) {
    for (Case c : {Case{"rbf", 0.3, 0, 3}, Case{"poly", 0.2, 1.0, 3}, Case{"poly", 0.1, -0.5, 2},
                   Case{"poly", 0.2, 0.5, 0}, Case{"poly", 0.15, 1.0, 2.5}, Case{"sigmoid", 0.05, -0.3, 3},
                   Case{"linear", 1, 0, 3}}) {
      std::mt19937 rng(seed++);
      const int64_t f = 6, m = 1100, p = 3;  // three SV blocks, the last partial
      Json node = {{"op", "SvmKernel"},
                   {"inputs", {"X", "sv", "coef", "b"}},
                   {"outputs", {"d"}},
                   {"attrs", {{"kernel", c.kernel}, {"gamma", c.gamma}, {"coef0", c.coef0}, {"degree", c.degree}}}};
      std::map<std::string, Array> consts = {{"sv", random_array(rng, DType::kFloat64, {m, f}, -1.5, 1.5)},
                                             {"coef", random_array(rng, DType::kFloat64, {m, p}, -1, 1)},
                                             {"b", random_array(rng, DType::kFloat64, {p})}};
      std::string what = std::string("SvmKernel ") + c.kernel + " degree " + std::to_string(c.degree) + " " +
                         std::string(dtype_name(dt));
      Json g = one_node_graph(dt, f, node, {{"decision", "d"}});
      for (int64_t rows : {1, 65, 200})
        expect_backends_agree(g.dump(), consts, random_array(rng, dt, {rows, f}, -1.5, 1.5, 0.01), tolerance(dt), what);
      // Without intercept, one output column (a binary SVC).
      Json node1 = node;
      node1["inputs"] = {"X", "sv", "coef1"};
      consts["coef1"] = random_array(rng, DType::kFloat64, {m, 1}, -1, 1);
      expect_backends_agree(one_node_graph(dt, f, node1, {{"decision", "d"}}).dump(), consts,
                            random_array(rng, dt, {130, f}, -1.5, 1.5), tolerance(dt), what + " no intercept");
    }
  }
}

TEST(FusedKernels, SvmKernelRejectsBadAttrsAndShapes) {
  std::map<std::string, Array> consts = {{"sv", Array::Zeros(DType::kFloat64, {4, 3})},
                                         {"coef", Array::Zeros(DType::kFloat64, {4, 1})},
                                         {"coef5", Array::Zeros(DType::kFloat64, {5, 1})}};
  auto compile = [&](Json attrs, std::vector<std::string> inputs) {
    Json node = {{"op", "SvmKernel"}, {"inputs", inputs}, {"outputs", {"d"}}, {"attrs", attrs}};
    return Model::Compile(one_node_graph(DType::kFloat64, 3, node, {{"decision", "d"}}).dump(), consts, "cpu");
  };
  EXPECT_TRUE(compile({{"kernel", "rbf"}}, {"X", "sv", "coef"}).ok());
  auto bad_kernel = compile({{"kernel", "laplacian"}}, {"X", "sv", "coef"});
  ASSERT_FALSE(bad_kernel.ok());
  EXPECT_NE(bad_kernel.status().message().find("rbf, poly, sigmoid or linear"), std::string::npos);
  auto bad_coef = compile({{"kernel", "rbf"}}, {"X", "sv", "coef5"});
  ASSERT_FALSE(bad_coef.ok());
  EXPECT_NE(bad_coef.status().message().find("coef must be [4, P]"), std::string::npos);
  auto not_const = compile({{"kernel", "rbf"}}, {"X", "sv", "X"});
  EXPECT_FALSE(not_const.ok());
}

TEST(FusedKernels, KNearestMatchesSortedDistances) {
  uint32_t seed = 50;
  for (DType dt : {DType::kFloat64, DType::kFloat32}) {
    for (int64_t k : {1, 5, 12}) {
      std::mt19937 rng(seed++);
      const int64_t f = 6, m = 2300;  // three reference blocks, the last partial
      Array ref = random_array(rng, DType::kFloat64, {m, f}, -2, 2);
      // Exact duplicates tie: the lower index must come first on both backends.
      double* r = static_cast<double*>(ref.mutable_data());
      for (int64_t j = 0; j < 200; ++j)
        for (int64_t q = 0; q < f; ++q) r[(m - 1 - j) * f + q] = r[(5 * j) * f + q];
      Json node = {{"op", "KNearest"}, {"inputs", {"X", "ref"}}, {"outputs", {"d2", "idx"}}, {"attrs", {{"k", k}}}};
      Json g = one_node_graph(dt, f, node, {{"dist", "d2"}, {"index", "idx"}});
      // Queries: random rows (NaN in some: all their distances NaN), and copies of
      // reference rows (distance 0, duplicated neighbours).
      Array X = random_array(rng, dt, {150, f}, -2, 2, 0.004);
      for (int64_t i = 0; i < 40; ++i)
        for (int64_t q = 0; q < f; ++q) {
          double v = r[(5 * i) * f + q];
          if (dt == DType::kFloat32) static_cast<float*>(X.mutable_data())[i * f + q] = static_cast<float>(v);
          else static_cast<double*>(X.mutable_data())[i * f + q] = v;
        }
      // Candidates are re-ranked on exact distances: the same bits as the reference.
      expect_backends_agree(g.dump(), {{"ref", ref}}, X, 0,
                            "KNearest k " + std::to_string(k) + " " + std::string(dtype_name(dt)));
    }
  }
}

TEST(FusedKernels, KNearestRejectsKOutOfRange) {
  std::map<std::string, Array> consts = {{"ref", Array::Zeros(DType::kFloat64, {4, 3})}};
  for (int64_t k : {0, 5}) {
    Json node = {{"op", "KNearest"}, {"inputs", {"X", "ref"}}, {"outputs", {"d2", "idx"}}, {"attrs", {{"k", k}}}};
    auto m = Model::Compile(one_node_graph(DType::kFloat64, 3, node, {{"i", "idx"}}).dump(), consts, "cpu");
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("attr k must be in [1, 4]"), std::string::npos) << m.status().ToString();
  }
}

}  // namespace
}  // namespace gtn::ml
