#include "gtn/ml/tree_strategies.h"

#include <algorithm>
#include <limits>

#include "gtn/ml/test_util.h"

namespace gtn::ml {
namespace {

using testing::array_of;
using testing::expect_backends_agree;
using testing::random_array;

struct RandomForest {
  std::vector<int32_t> feature, left, right, roots, targets;
  std::vector<double> threshold, leaf;
  std::vector<uint8_t> missing_left;
};

// A random tree: splits until max_depth, stopping early with probability p_leaf.
int32_t grow(RandomForest& f, std::mt19937& rng, int depth, int max_depth, int n_features, int width, double p_leaf) {
  int32_t id = static_cast<int32_t>(f.feature.size());
  f.feature.push_back(-1);
  f.threshold.push_back(0);
  f.left.push_back(0);
  f.right.push_back(0);
  f.missing_left.push_back(rng() % 2);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  for (int c = 0; c < width; ++c) f.leaf.push_back(u(rng));
  if (depth == max_depth || (depth > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < p_leaf)) return id;
  f.feature[id] = static_cast<int32_t>(rng() % n_features);
  // Thresholds that are not float32-representable, to test the float32 rounding.
  f.threshold[id] = u(rng) + 1e-9;
  if (rng() % 4 == 0) f.threshold[id] = std::round(f.threshold[id] * 4) / 4;  // ties with rounded X values
  int32_t l = grow(f, rng, depth + 1, max_depth, n_features, width, p_leaf);
  int32_t r = grow(f, rng, depth + 1, max_depth, n_features, width, p_leaf);
  f.left[id] = l;
  f.right[id] = r;
  return id;
}

struct Case {
  int n_trees, max_depth, n_features, n_outputs, width;
  double p_leaf;
  const char* comparison;
  const char* aggregate;
  const char* dtype;
};

void run_case(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  RandomForest f;
  for (int t = 0; t < c.n_trees; ++t) {
    f.roots.push_back(grow(f, rng, 0, c.max_depth, c.n_features, c.width, c.p_leaf));
    f.targets.push_back(static_cast<int32_t>(t % c.n_outputs));
  }
  int64_t n = static_cast<int64_t>(f.feature.size());
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", c.dtype},
            {"inputs", {{{"name", "X"}, {"shape", {-1, c.n_features}}}}},
            {"outputs", {{"predict", "y"}}},
            {"nodes", {{{"op", "TreeEnsemble"}, {"inputs", {"X"}}, {"outputs", {"y"}},
                        {"attrs", {{"n_outputs", c.n_outputs}, {"comparison", c.comparison}, {"aggregate", c.aggregate},
                                   {"base_values", std::vector<double>(c.n_outputs, 0.25)},
                                   {"nodes_feature", "f"}, {"nodes_threshold", "t"}, {"nodes_left", "l"},
                                   {"nodes_right", "r"}, {"nodes_missing_left", "m"}, {"leaf_values", "v"},
                                   {"tree_roots", "roots"}, {"tree_targets", "targets"}}}}}}};
  std::map<std::string, Array> consts = {
      {"f", array_of(DType::kInt32, {n}, f.feature)}, {"t", array_of(DType::kFloat64, {n}, f.threshold)},
      {"l", array_of(DType::kInt32, {n}, f.left)}, {"r", array_of(DType::kInt32, {n}, f.right)},
      {"m", array_of(DType::kUInt8, {n}, f.missing_left)}, {"v", array_of(DType::kFloat64, {n, c.width}, f.leaf)},
      {"roots", array_of(DType::kInt32, {c.n_trees}, f.roots)},
      {"targets", array_of(DType::kInt32, {c.n_trees}, f.targets)}};
  // quickscorer takes trees of at most 64 leaves (a tree's nodes are consecutive here).
  int max_leaves = 0;
  for (size_t t = 0; t < f.roots.size(); ++t) {
    int32_t end = t + 1 < f.roots.size() ? f.roots[t + 1] : static_cast<int32_t>(f.feature.size());
    max_leaves = std::max(max_leaves, static_cast<int>(std::count(f.feature.begin() + f.roots[t], f.feature.begin() + end, -1)));
  }
  const bool qs = max_leaves <= 64;
  DType dt = std::string(c.dtype) == "float32" ? DType::kFloat32 : DType::kFloat64;
  double rtol = dt == DType::kFloat32 ? 2e-5 : 1e-12;
  for (int64_t rows : {1, 5, 37, 300}) {
    Array X = random_array(rng, dt, {rows, c.n_features}, -2, 2, 0.05);
    // Some X values exactly on quarter thresholds.
    for (int64_t i = 0; i < X.numel(); i += 3) {
      double q = std::round(testing::element(X, i) * 4) / 4;
      if (dt == DType::kFloat32) static_cast<float*>(X.mutable_data())[i] = static_cast<float>(q);
      else static_cast<double*>(X.mutable_data())[i] = q;
    }
    for (const char* s : {"auto", "tree_traversal", "perfect_tree_traversal", "gemm", "interleaved", "perfect_interleaved"}) {
      std::string what = std::string(s) + " depth " + std::to_string(c.max_depth) + " trees " +
                         std::to_string(c.n_trees) + " " + c.comparison + " " + c.dtype + " rows " + std::to_string(rows);
      expect_backends_agree(g.dump(), consts, X, rtol, what, {{"tree_strategy", s}});
    }
    // Every SIMD kernel this CPU runs (perfect layout and quickscorer; the others ignore
    // tree_isa), and quickscorer's portable row loop (scalar).
    for (TreeIsa isa : {TreeIsa::kScalar, TreeIsa::kAvx2, TreeIsa::kAvx512}) {
      if (static_cast<int>(isa) > static_cast<int>(detect_tree_isa())) continue;
      for (const char* s : {"perfect_interleaved", "quickscorer"}) {
        if (std::string(s) == "quickscorer" && !qs) continue;  // refused: MaxLeavesOfQuickScorer
        std::string what = std::string(s) + " " + tree_isa_name(isa) + " depth " + std::to_string(c.max_depth) +
                           " trees " + std::to_string(c.n_trees) + " " + c.dtype + " rows " + std::to_string(rows);
        expect_backends_agree(g.dump(), consts, X, rtol, what, {{"tree_strategy", s}, {"tree_isa", tree_isa_name(isa)}});
      }
    }
  }
}

TEST(TreeStrategies, MatchReferenceOnRandomForests) {
  std::vector<Case> cases = {
      {10, 4, 6, 1, 1, 0.2, "le", "sum", "float64"},
      {10, 4, 6, 1, 1, 0.2, "lt", "sum", "float32"},
      {23, 7, 9, 3, 3, 0.3, "le", "mean", "float32"},
      {23, 7, 9, 3, 3, 0.3, "le", "mean", "float64"},
      {12, 5, 4, 3, 1, 0.1, "lt", "sum", "float64"},  // boosting: one tree per class
      {3, 0, 2, 1, 1, 0.0, "le", "sum", "float32"},   // every tree a single leaf
      {40, 12, 5, 2, 2, 0.45, "lt", "mean", "float32"},  // deep, unbalanced
      {20, 6, 8, 2, 1, 0.0, "le", "sum", "float32"},     // 64 leaves: 64-bit bitvectors
      {20, 6, 8, 2, 1, 0.0, "le", "sum", "float64"},
      {30, 14, 7, 1, 1, 0.6, "le", "sum", "float32"},    // deep trees of few leaves (31-leaf boosting)
      {30, 14, 7, 3, 1, 0.6, "lt", "sum", "float64"},
      {8, 2, 5, 1, 1, 0.0, "lt", "sum", "float32"},      // only the levels read from a transposed copy
      {15, 7, 80, 2, 1, 0.1, "le", "sum", "float32"},    // too many features for that copy: gathers
      {15, 7, 80, 2, 1, 0.1, "le", "sum", "float64"},
  };
  uint32_t seed = 1;
  for (const auto& c : cases) run_case(c, seed++);
}

TEST(TreeStrategies, MaxLeavesOfQuickScorer) {
  // A perfect depth-7 tree has 128 leaves: quickscorer refuses it and says why.
  std::mt19937 rng(5);
  RandomForest f;
  f.roots.push_back(grow(f, rng, 0, 7, 3, 1, 0.0));
  TreeEnsembleSpec spec;
  spec.n_features = 3;
  spec.base_values = {0};
  spec.feature = f.feature;
  spec.threshold = f.threshold;
  spec.left = f.left;
  spec.right = f.right;
  spec.missing_left = f.missing_left;
  spec.leaf_values = f.leaf;
  spec.roots = f.roots;
  spec.targets = {0};
  spec.tree_depth = {7};
  auto k = make_tree_kernel<float>(spec, "quickscorer");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("at most 64 leaves"), std::string::npos) << k.status().message();
  EXPECT_TRUE(make_tree_kernel<float>(spec, "auto").ok());
}

TEST(TreeStrategies, Float32ThresholdKeepsFloat64Decisions) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-100, 100);
  for (int i = 0; i < 20000; ++i) {
    double thr = u(rng);
    if (i % 5 == 0) thr = static_cast<float>(thr);  // exactly representable thresholds too
    float le = split_threshold<float>(thr, false);
    float lt = split_threshold<float>(thr, true);
    float c = static_cast<float>(thr);
    for (float x : {c, std::nextafter(c, -1e9f), std::nextafter(c, 1e9f), le, std::nextafter(le, 1e9f), lt,
                    std::nextafter(lt, 1e9f)}) {
      ASSERT_EQ(static_cast<double>(x) <= thr, !(x > le)) << thr << " " << x;
      ASSERT_EQ(static_cast<double>(x) < thr, !(x > lt)) << thr << " " << x;
    }
  }
  EXPECT_EQ(split_threshold<float>(1e300, false), std::numeric_limits<float>::max());
}

}  // namespace
}  // namespace gtn::ml
