// Ways to evaluate a TreeEnsemble on the CPU. All of them compute the same thing as the
// reference kernel (ops_tree_ensemble.cc); tree_strategies_test.cc checks that.
//
//   tree_traversal          per row, per tree: follow child ids from the root (Hummingbird TT)
//   perfect_tree_traversal  trees padded to perfect depth D; child = 2i+1+(x>t), no child
//                           arrays (Hummingbird PTT)
//   gemm                    per tree: leaf = one-hot of (go_left · C == D), out += leaf · E,
//                           with BLAS GEMMs (Hummingbird GEMM)
//   interleaved             compact 12/16-byte nodes with adjacent children, 16 rows walked in
//                           lockstep per tree (16 trees per row when the batch is small),
//                           branch-free child select, trees in cache-sized blocks
//   perfect_interleaved     perfect-tree layout walked 16 rows (or 16 trees) at a time
//   quickscorer             trees of <= 64 leaves as leaf bitvectors, splits scanned by
//                           feature and threshold (tree_quickscorer.h)
//
// Thresholds are pre-rounded so that every split is "go right iff x > t" in the compute
// type: for float32, t is the largest float32 that keeps (x <= thr64) == (x <= t) for every
// float32 x (and the matching rounding for "lt"), so float32 decisions equal the float64
// model's decisions on float32 inputs.
#pragma once

#include <memory>
#include <string>

#include "gtn/ml/tree_ensemble.h"
#include "gtn/ml/tree_simd.h"

namespace gtn::ml {

template <typename T>
class TreeEnsembleKernel {
 public:
  virtual ~TreeEnsembleKernel() = default;
  // out[n, n_outputs] = base + aggregate of the trees on X[n, n_features] (C order).
  virtual void Run(const T* X, int64_t n, T* out) const = 0;
};

// The strategy "auto" picks for kernels of `isa` (see the heuristic in tree_strategies.cc).
std::string choose_tree_strategy(const TreeEnsembleSpec& spec, TreeIsa isa);
// Builds `strategy` ("auto" allowed) for compute type T (float or double).
// perfect_interleaved walks batches of >= 8 rows with the SIMD kernels of `walk_isa` for
// float32 and `isa` for float64 (tree_simd.h: float32 on AVX2 or AVX-512, float64 on
// AVX-512); quickscorer runs its AVX-512 kernel when `isa` is AVX-512; otherwise, and for
// every other strategy, the portable loops.
template <typename T>
Result<std::unique_ptr<TreeEnsembleKernel<T>>> make_tree_kernel(const TreeEnsembleSpec& spec, const std::string& strategy,
                                                                TreeIsa isa, TreeIsa walk_isa);
template <typename T>
Result<std::unique_ptr<TreeEnsembleKernel<T>>> make_tree_kernel(const TreeEnsembleSpec& spec, const std::string& strategy,
                                                                TreeIsa isa = detect_tree_isa()) {
  return make_tree_kernel<T>(spec, strategy, isa, isa);
}

// The threshold t for "go right iff x > t" in type T (see above).
template <typename T>
T split_threshold(double thr, bool comparison_lt);

}  // namespace gtn::ml
