// The TreeEnsemble op: schema, decoding, and the reference kernel (one row, one tree at a
// time, straight from the node arrays). The fast CPU strategies are in tree_strategies.cc.
#include <algorithm>
#include <cmath>

#include "gtn/ml/tree_ensemble.h"

namespace gtn::ml {

int32_t TreeEnsembleSpec::max_depth() const {
  int32_t d = 0;
  for (int32_t t : tree_depth) d = std::max(d, t);
  return d;
}

bool TreeEnsembleSpec::any_missing_right() const {
  for (size_t i = 0; i < feature.size(); ++i)
    if (feature[i] >= 0 && !missing_left[i]) return true;
  return false;
}

namespace {

template <typename T>
Result<std::vector<T>> constant_as(const NodeContext& ctx, const std::string& attr, int64_t expect_len,
                                   Shape* shape_out = nullptr) {
  GTN_ASSIGN_OR_RETURN(std::string name, ctx.attr_string(attr));
  if (!ctx.graph_constants) return ctx.error("has no constants");
  auto it = ctx.graph_constants->find(name);
  if (it == ctx.graph_constants->end())
    return ctx.error("attr '" + attr + "' names constant '" + name + "', which the graph does not define");
  const Array& a = it->second;
  if (dtype_is_bytes_like(a.dtype())) return ctx.error("constant '" + name + "' must be numeric");
  if (expect_len >= 0 && (a.ndim() != 1 || a.shape()[0] != expect_len))
    return ctx.error("constant '" + name + "' must have shape (" + std::to_string(expect_len) + ",), got " +
                     shape_to_string(a.shape()));
  if (shape_out) *shape_out = a.shape();
  RTensor t = to_rtensor(a);
  std::vector<T> out(t.v.size());
  for (size_t i = 0; i < t.v.size(); ++i) out[i] = static_cast<T>(t.v[i]);
  return out;
}

}  // namespace

Result<TreeEnsembleSpec> parse_tree_ensemble(const NodeContext& ctx) {
  TreeEnsembleSpec s;
  const ValueInfo& x = ctx.inputs[0];
  if (x.shape.size() != 2) return ctx.error("X must be 2-d [N, F], got " + shape_to_string(x.shape));
  if (!is_float(x.dtype)) return ctx.error("X must be a float tensor");
  s.n_features = x.shape[1];
  if (s.n_features < 1) return ctx.error("X must have at least one feature column");
  GTN_ASSIGN_OR_RETURN(s.n_outputs, ctx.attr_int("n_outputs"));
  if (s.n_outputs < 1) return ctx.error("attr n_outputs must be >= 1");
  GTN_ASSIGN_OR_RETURN(std::string cmp, ctx.attr_string("comparison", std::string("le")));
  if (cmp != "le" && cmp != "lt") return ctx.error("attr comparison must be \"le\" or \"lt\", got \"" + cmp + "\"");
  s.comparison_lt = cmp == "lt";
  GTN_ASSIGN_OR_RETURN(std::string agg, ctx.attr_string("aggregate", std::string("sum")));
  if (agg != "sum" && agg != "mean") return ctx.error("attr aggregate must be \"sum\" or \"mean\", got \"" + agg + "\"");
  s.aggregate_mean = agg == "mean";
  GTN_ASSIGN_OR_RETURN(s.strategy, ctx.attr_string("strategy", std::string("auto")));
  if (ctx.attrs().contains("base_values")) {
    GTN_ASSIGN_OR_RETURN(s.base_values, ctx.attr_floats("base_values"));
    if (static_cast<int64_t>(s.base_values.size()) != s.n_outputs)
      return ctx.error("attr base_values must have n_outputs = " + std::to_string(s.n_outputs) + " entries");
  } else {
    s.base_values.assign(static_cast<size_t>(s.n_outputs), 0.0);
  }

  Shape fshape;
  GTN_ASSIGN_OR_RETURN(s.feature, constant_as<int32_t>(ctx, "nodes_feature", -1, &fshape));
  if (fshape.size() != 1 || s.feature.empty()) return ctx.error("nodes_feature must be a non-empty 1-d tensor");
  int64_t n = static_cast<int64_t>(s.feature.size());
  GTN_ASSIGN_OR_RETURN(s.threshold, constant_as<double>(ctx, "nodes_threshold", n));
  GTN_ASSIGN_OR_RETURN(s.left, constant_as<int32_t>(ctx, "nodes_left", n));
  GTN_ASSIGN_OR_RETURN(s.right, constant_as<int32_t>(ctx, "nodes_right", n));
  if (ctx.attrs().contains("nodes_missing_left")) {
    GTN_ASSIGN_OR_RETURN(s.missing_left, constant_as<uint8_t>(ctx, "nodes_missing_left", n));
  } else {
    s.missing_left.assign(static_cast<size_t>(n), 1);
  }
  Shape lshape;
  GTN_ASSIGN_OR_RETURN(s.leaf_values, constant_as<double>(ctx, "leaf_values", -1, &lshape));
  if (lshape.size() == 1 && lshape[0] == n) lshape = {n, 1};
  if (lshape.size() != 2 || lshape[0] != n)
    return ctx.error("leaf_values must have shape (n_nodes, leaf_width) = (" + std::to_string(n) + ", w), got " +
                     shape_to_string(lshape));
  s.leaf_width = lshape[1];
  if (s.leaf_width != 1 && s.leaf_width != s.n_outputs)
    return ctx.error("leaf_values width must be 1 or n_outputs (" + std::to_string(s.n_outputs) + "), got " +
                     std::to_string(s.leaf_width));
  Shape rshape;
  GTN_ASSIGN_OR_RETURN(s.roots, constant_as<int32_t>(ctx, "tree_roots", -1, &rshape));
  if (rshape.size() != 1 || s.roots.empty()) return ctx.error("tree_roots must be a non-empty 1-d tensor");
  int64_t nt = static_cast<int64_t>(s.roots.size());
  if (s.leaf_width == 1 && s.n_outputs > 1) {
    GTN_ASSIGN_OR_RETURN(s.targets, constant_as<int32_t>(ctx, "tree_targets", nt));
  } else if (ctx.attrs().contains("tree_targets") && s.leaf_width == 1) {
    GTN_ASSIGN_OR_RETURN(s.targets, constant_as<int32_t>(ctx, "tree_targets", nt));
  } else {
    s.targets.assign(static_cast<size_t>(nt), 0);
  }
  for (int32_t t : s.targets)
    if (t < 0 || (s.leaf_width == 1 && t >= s.n_outputs))
      return ctx.error("tree_targets entry " + std::to_string(t) + " is not an output column in [0, " +
                       std::to_string(s.n_outputs) + ")");
  for (int64_t i = 0; i < n; ++i) {
    if (s.feature[i] < -1 || (s.feature[i] >= 0 && s.n_features >= 0 && s.feature[i] >= s.n_features))
      return ctx.error("node " + std::to_string(i) + " splits on feature " + std::to_string(s.feature[i]) +
                       ", expected -1 (leaf) or a feature in [0, " + std::to_string(s.n_features) + ")");
    if (s.feature[i] >= 0 && (s.left[i] < 0 || s.left[i] >= n || s.right[i] < 0 || s.right[i] >= n))
      return ctx.error("node " + std::to_string(i) + " has a child id outside [0, " + std::to_string(n) + ")");
    if (s.feature[i] >= 0 && std::isnan(s.threshold[i]))
      return ctx.error("node " + std::to_string(i) + " has a NaN threshold");
  }
  // Every tree must be a tree: walk it, each node reached at most once, depth bounded.
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  for (int64_t t = 0; t < nt; ++t) {
    int32_t r = s.roots[t];
    if (r < 0 || r >= n) return ctx.error("tree " + std::to_string(t) + " has root id " + std::to_string(r) + " outside the node arrays");
    std::vector<std::pair<int32_t, int32_t>> stack{{r, 0}};
    int32_t depth = 0;
    while (!stack.empty()) {
      auto [id, d] = stack.back();
      stack.pop_back();
      if (seen[id]) return ctx.error("tree " + std::to_string(t) + " reaches node " + std::to_string(id) + " twice (not a tree)");
      seen[id] = 1;
      depth = std::max(depth, d);
      if (d > 64) return ctx.error("tree " + std::to_string(t) + " is deeper than 64 levels");
      if (s.feature[id] >= 0) {
        stack.push_back({s.left[id], d + 1});
        stack.push_back({s.right[id], d + 1});
      }
    }
    s.tree_depth.push_back(depth);
  }
  return s;
}

namespace {

Result<std::vector<ValueInfo>> infer_tree_ensemble(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(TreeEnsembleSpec s, parse_tree_ensemble(ctx));
  return std::vector<ValueInfo>{{ctx.graph_dtype, {ctx.inputs[0].shape[0], s.n_outputs}}};
}

Result<RefKernel> ref_tree_ensemble(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(TreeEnsembleSpec spec, parse_tree_ensemble(ctx));
  auto s = std::make_shared<TreeEnsembleSpec>(std::move(spec));
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([s, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t n = x.shape[0], f = x.shape[1];
    if (f != s->n_features)
      return Status::InvalidArgument("TreeEnsemble: expected " + std::to_string(s->n_features) + " features, got " + std::to_string(f));
    int64_t k = s->n_outputs;
    RTensor r{dt, {n, k}, std::vector<double>(static_cast<size_t>(n * k), 0.0)};
    for (int64_t row = 0; row < n; ++row) {
      double* o = r.v.data() + row * k;
      for (size_t t = 0; t < s->n_trees(); ++t) {
        int32_t id = s->roots[t];
        while (s->feature[id] >= 0) {
          double v = x.v[row * f + s->feature[id]];
          bool go_left = std::isnan(v) ? s->missing_left[id] != 0
                         : s->comparison_lt ? v < s->threshold[id] : v <= s->threshold[id];
          id = go_left ? s->left[id] : s->right[id];
        }
        const double* leaf = s->leaf_values.data() + static_cast<size_t>(id) * s->leaf_width;
        if (s->leaf_width == 1) o[s->targets[t]] += leaf[0];
        else
          for (int64_t c = 0; c < k; ++c) o[c] += leaf[c];
      }
      for (int64_t c = 0; c < k; ++c) {
        double v = s->aggregate_mean ? o[c] / static_cast<double>(s->n_trees()) : o[c];
        o[c] = round_to_dtype(v + s->base_values[c], dt);
      }
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

}  // namespace

void register_tree_ensemble_op(OpRegistry& r) {
  r.Add({"TreeEnsemble", 1, 1, 1, infer_tree_ensemble, ref_tree_ensemble, nullptr});
}

}  // namespace gtn::ml
