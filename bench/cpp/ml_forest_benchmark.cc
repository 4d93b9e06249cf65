// Latency of a synthetic 100-tree, depth-8 random forest (28 features, 2 classes,
// float32) per TreeEnsemble strategy: 1 row, and 100,000 rows on all cores.
// Build with -DGTN_BUILD_BENCH=ON; run build/<dir>/bench/gtn_ml_forest_benchmark.
#include <random>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "gtn/ml.h"

namespace {

using gtn::Array;
using gtn::DType;
using Json = nlohmann::json;

constexpr int kTrees = 100, kDepth = 8, kFeatures = 28;

// Full trees of depth kDepth with random splits; leaves hold class probabilities.
gtn::ml::Model make_forest() {
  std::mt19937 rng(1);
  std::normal_distribution<double> thr(0, 0.7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int32_t> feature, left, right, roots;
  std::vector<double> threshold, leaf;
  for (int t = 0; t < kTrees; ++t) {
    int32_t base = static_cast<int32_t>(feature.size());
    roots.push_back(base);
    int32_t n = (1 << (kDepth + 1)) - 1;
    for (int32_t i = 0; i < n; ++i) {
      bool is_leaf = i >= (1 << kDepth) - 1;
      feature.push_back(is_leaf ? -1 : static_cast<int32_t>(rng() % kFeatures));
      threshold.push_back(is_leaf ? 0 : thr(rng));
      left.push_back(is_leaf ? 0 : base + 2 * i + 1);
      right.push_back(is_leaf ? 0 : base + 2 * i + 2);
      double p = u(rng);
      leaf.push_back(p);
      leaf.push_back(1 - p);
    }
  }
  int64_t n = static_cast<int64_t>(feature.size());
  Json g = {{"format", "gtn-ml-graph"}, {"version", 1}, {"dtype", "float32"},
            {"inputs", {{{"name", "X"}, {"shape", {-1, kFeatures}}}}},
            {"outputs", {{"predict_proba", "p"}}},
            {"nodes", {{{"op", "TreeEnsemble"}, {"inputs", {"X"}}, {"outputs", {"p"}},
                        {"attrs", {{"n_outputs", 2}, {"comparison", "le"}, {"aggregate", "mean"},
                                   {"nodes_feature", "f"}, {"nodes_threshold", "t"}, {"nodes_left", "l"},
                                   {"nodes_right", "r"}, {"leaf_values", "v"}, {"tree_roots", "roots"}}}}}}};
  auto arr = [](DType dt, gtn::Shape s, const auto& v) {
    return *Array::Copy(dt, std::move(s), v.data(), v.size() * sizeof(v[0]));
  };
  std::map<std::string, Array> c = {
      {"f", arr(DType::kInt32, {n}, feature)}, {"t", arr(DType::kFloat64, {n}, threshold)},
      {"l", arr(DType::kInt32, {n}, left)}, {"r", arr(DType::kInt32, {n}, right)},
      {"v", arr(DType::kFloat64, {n, 2}, leaf)}, {"roots", arr(DType::kInt32, {kTrees}, roots)}};
  auto m = gtn::ml::Model::Compile(g.dump(), std::move(c), "cpu");
  if (!m.ok()) std::abort();
  return std::move(*m);
}

Array random_rows(int64_t n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0, 1);
  Array X = Array::Zeros(DType::kFloat32, {n, kFeatures});
  float* p = static_cast<float*>(X.mutable_data());
  for (int64_t i = 0; i < n * kFeatures; ++i) p[i] = d(rng);
  return X;
}

void run(benchmark::State& state, const std::string& strategy, int64_t rows, const std::string& isa = "auto",
         int threads = 0) {
  static gtn::ml::Model base = make_forest();
  gtn::ml::Model m = base;
  if (!m.SetOption("tree_strategy", strategy).ok()) std::abort();
  if (!m.SetOption("tree_isa", isa).ok()) {
    state.SkipWithError(("tree_isa " + isa + " not supported by this CPU").c_str());
    return;
  }
  Array X = random_rows(rows);
  for (auto _ : state) {
    auto r = m.Predict("predict_proba", X, threads);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r->data());
  }
  state.SetItemsProcessed(state.iterations() * rows);
}

const char* kStrategies[] = {"perfect_interleaved", "interleaved", "perfect_tree_traversal", "tree_traversal", "gemm"};

int register_all() {
  for (const char* s : kStrategies) {
    std::string name(s);
    benchmark::RegisterBenchmark(("forest_1_row/" + name).c_str(), [name](benchmark::State& st) { run(st, name, 1); })
        ->Unit(benchmark::kMicrosecond);
    // GEMM does O(internal nodes x leaves) work per row and tree: measured on 2,000 rows.
    int64_t rows = name == "gemm" ? 2000 : 100000;
    benchmark::RegisterBenchmark(("forest_" + std::to_string(rows) + "_rows/" + name).c_str(),
                                 [name, rows](benchmark::State& st) { run(st, name, rows); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  // perfect_interleaved's SIMD kernels against its portable lane loops ("scalar", the
  // kernel before the SIMD ones), one thread, so CPU time is the kernel's work.
  for (const char* s : {"perfect_interleaved"})
    for (const char* isa : {"scalar", "avx2", "avx512"}) {
      std::string name(s), i(isa);
      benchmark::RegisterBenchmark(("forest_100000_rows_1_thread/" + name + "/" + i).c_str(),
                                   [name, i](benchmark::State& st) { run(st, name, 100000, i, 1); })
          ->Unit(benchmark::kMillisecond);
    }
  return 0;
}
int registered = register_all();

}  // namespace

BENCHMARK_MAIN();
