// SIMD walks of perfect-layout TreeEnsembles (trees padded to one depth D; node i's
// children are 2i + 1 and 2i + 2, leaf j at id n_internal + j): many rows through one tree
// at a time, four independent row groups in flight. Levels of up to 64 nodes (AVX-512
// float32; 8 nodes otherwise) are looked up with loads and register permutes, deeper ones
// with gathers; X values and leaves are gathered. AVX-512: 16 float32 or 8 float64 rows
// per register; AVX2: 8 float32. Picked at run time from the CPU's features; the library
// itself is built for baseline x86-64.
//
// Compact (unpadded) trees stay on the portable lane loops: measured on this project's
// AVX-512 machine, gathering their node fields was no faster than the loops' loads
// (docs/ml/benchmarks.md). A split sends x right iff x > thr (thresholds pre-rounded,
// tree_strategies.h), or x is NaN and bit 31 of the node's feature word is set.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gtn::ml {

enum class TreeIsa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The best ISA this CPU runs (kScalar off x86-64).
TreeIsa detect_tree_isa();
// The ISA tree_isa=auto runs the float32 perfect-layout walks with: detect_tree_isa(),
// except AVX2 on Intel CPUs, where the 8-lane AVX2 walk measured 1.3-1.8x faster than the
// 16-lane AVX-512 one (AVX-512 gathers; an Emerald Rapids Xeon, docs/ml/benchmarks.md);
// on AMD Zen 5 the AVX-512 walk was the faster one.
TreeIsa auto_walk_isa();
// "auto" (the CPU's best), "avx512", "avx2" or "scalar"; an ISA the CPU lacks is an error.
bool parse_tree_isa(const std::string& name, TreeIsa* isa, std::string* error);
const char* tree_isa_name(TreeIsa isa);

template <typename T>
struct SimdForestOf {
  int64_t n_features = 0;
  int64_t k = 1;       // output columns
  int64_t width = 1;   // values per leaf (1: the tree adds to column target[t])
  int depth = 0;               // D: every tree's steps
  bool missing = false;        // some split sends NaN right
  int32_t leaf_sub = 0;        // n_internal: leaf j of a tree is at id leaf_sub + j
  std::vector<T> thr;          // [tree][n_internal] (+64 padding: level loads)
  std::vector<int32_t> feat;   // same layout: feature | (missing right << 31)
  std::vector<T> leaves;       // [tree][n_leaves][width]
  std::vector<int64_t> node_off, leaf_off;  // per tree: first node, first leaf value
  std::vector<int32_t> target;              // per tree: output column (width 1)
  std::vector<std::pair<size_t, size_t>> blocks;  // trees in cache-sized blocks

  // Leaf value c of node `id` of tree t lives at leaves[leaf_off[t] + (id - leaf_sub) * width + c].
};
using SimdForest = SimdForestOf<float>;
using SimdForest64 = SimdForestOf<double>;

// The most output columns the SIMD kernels keep in registers/stack.
constexpr int64_t kSimdMaxOutputs = 32;

// out[n, k] += sum over trees of the leaf values for X[n, n_features] (C order).
// Returns false (and touches nothing) when `isa` has no SIMD kernel or k is too large.
bool run_forest_simd(TreeIsa isa, const SimdForest& f, const float* X, int64_t n, float* out);
// float64 (AVX-512 only: 8 lanes per register; AVX2 gathers of 4 doubles do not pay).
bool run_forest_simd(TreeIsa isa, const SimdForest64& f, const double* X, int64_t n, double* out);

}  // namespace gtn::ml
