// Leaf-bitvector evaluation of tree ensembles whose trees have at most 64 leaves, after
// QuickScorer (Lucchese et al., SIGIR 2015) and its row-vectorized form (SIGIR 2016).
//
// A row keeps one bitvector per tree (bit j = leaf j in left-to-right order, all set at
// the start). Every split that sends the row right clears the leaves of its left subtree;
// the row's leaf is then the lowest bit still set. No split depends on another, so there
// is no chain of dependent loads as in a walk, and no lane waits for the deepest leaf of
// its group: this pays most for deep, unbalanced trees (31-leaf HistGradientBoosting and
// LightGBM trees reach depth 15-17).
//
// Two kernels:
//   - rows (any CPU): QuickScorer proper. The splits of a block of trees are sorted by
//     feature and threshold; a row scans each feature's list while x > t, so it touches
//     only the splits that send it right (about half).
//   - SIMD (AVX-512): 16 float32 rows (8 float64) at once, tree by tree, every split of
//     the tree applied with one compare and one masked AND, the bitvectors in registers.
//     (With 16 rows in a group, QuickScorer's scan stops early for almost none of the
//     splits, and its per-split read-modify-write of the bitvectors in memory measured
//     3-4x slower than this.)
// A split sends x right iff x > t (thresholds pre-rounded, tree_strategies.h), or x is NaN
// for the splits that send missing values right (listed last per tree, compared with
// "not <=", which is true for NaN).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "gtn/ml/tree_simd.h"

namespace gtn::ml {

// Most leaves per tree the bitvectors hold.
constexpr int kQuickScorerMaxLeaves = 64;

template <typename T>
struct QsForestOf {
  struct Block {  // trees [tree_begin, tree_end); tree ids below are relative to tree_begin
    size_t tree_begin = 0, tree_end = 0;
    std::vector<int32_t> features;  // the features some split of the block tests
    std::vector<int64_t> off;       // [features + 1]: the splits on features[i] are [off[i], off[i + 1])
    std::vector<T> thr;             // ascending within each feature
    std::vector<int32_t> tree;
    std::vector<uint64_t> mask;     // all ones but the node's left-subtree leaves
    std::vector<int64_t> nan_off;   // [features + 1]: the splits that send NaN right, same fields
    std::vector<int32_t> nan_tree;
    std::vector<uint64_t> nan_mask;
  };
  int64_t n_features = 0;
  // Per tree, its splits (the SIMD kernels evaluate every split of a tree with the
  // bitvectors in registers): [split_off[t], split_off[t + 1]), those that send NaN right
  // last, from split_nan[t].
  std::vector<int64_t> split_off, split_nan;
  std::vector<int32_t> split_feature;
  std::vector<T> split_thr;
  std::vector<uint64_t> split_mask;
  int64_t k = 1;              // output columns
  int64_t width = 1;          // values per leaf (1: the tree adds to column target[t])
  bool wide = false;          // some tree has more than 32 leaves (64-bit bitvectors)
  bool missing = false;       // some split sends NaN right
  std::vector<Block> blocks;  // trees in cache-sized blocks
  std::vector<T> leaves;      // per tree, its leaves left to right, `width` values each
  std::vector<int64_t> leaf_off;  // per tree: first leaf value
  std::vector<int32_t> target;    // per tree: output column (width 1)
};
using QsForest = QsForestOf<float>;
using QsForest64 = QsForestOf<double>;

// Whether run_quickscorer_simd runs with `isa` on this CPU (AVX-512 F and CD).
bool quickscorer_simd(TreeIsa isa);

// out[n, k] += sum over trees of the leaf values, one row at a time (any CPU).
template <typename T>
void run_quickscorer_rows(const QsForestOf<T>& F, const T* X, int64_t n, T* out);

// The same with the AVX-512 kernels (16 float32 or 8 float64 rows at once). Returns false
// (and touches nothing) when `isa` is not AVX-512, the CPU lacks AVX-512 CD, or k is larger
// than kSimdMaxOutputs.
bool run_quickscorer_simd(TreeIsa isa, const QsForest& F, const float* X, int64_t n, float* out);
bool run_quickscorer_simd(TreeIsa isa, const QsForest64& F, const double* X, int64_t n, double* out);

}  // namespace gtn::ml
