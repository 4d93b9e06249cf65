// TreeEnsemble: the decoded, validated form of a TreeEnsemble node (docs/ml/graph.md),
// shared by the reference kernel and the CPU strategies (tree_strategies.h).
#pragma once

#include <vector>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {

struct TreeEnsembleSpec {
  int64_t n_features = 0;
  int64_t n_outputs = 1;
  int64_t leaf_width = 1;
  bool comparison_lt = false;  // true: left when x < thr (XGBoost); false: left when x <= thr
  bool aggregate_mean = false;
  std::vector<double> base_values;      // [n_outputs]
  std::vector<int32_t> feature;         // [n_nodes], -1 = leaf
  std::vector<double> threshold;        // [n_nodes]
  std::vector<int32_t> left, right;     // [n_nodes]
  std::vector<uint8_t> missing_left;    // [n_nodes]
  std::vector<double> leaf_values;      // [n_nodes * leaf_width]
  std::vector<int32_t> roots;           // [n_trees]
  std::vector<int32_t> targets;         // [n_trees] (leaf_width == 1)
  std::vector<int32_t> tree_depth;      // [n_trees], edges from root to deepest leaf
  std::string strategy = "auto";        // the node's attr (the model option overrides it)

  size_t n_trees() const { return roots.size(); }
  size_t n_nodes() const { return feature.size(); }
  int32_t max_depth() const;
  // True when some split sends missing values (NaN) right.
  bool any_missing_right() const;
};

// Decodes and checks the node's attrs and constants: every id in range, every tree a tree.
Result<TreeEnsembleSpec> parse_tree_ensemble(const NodeContext& ctx);

}  // namespace gtn::ml
