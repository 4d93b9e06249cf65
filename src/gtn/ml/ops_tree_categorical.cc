// TreeEnsembleCategorical: TreeEnsemble (docs/ml/graph.md) whose splits may also test a
// category (LightGBM, XGBoost and HistGradientBoosting categorical splits) or treat zero as
// missing (LightGBM's missing_type=Zero). Converters emit it only for models that have such
// splits; all other tree models use TreeEnsemble and its fast strategies.
//
// Extra attrs, each naming a constant:
//   nodes_kind        uint8[n_nodes]: 0 numeric (as TreeEnsemble), 1 categorical,
//                     2 numeric with zero as missing (|x| <= 1e-35 goes the missing way).
//   nodes_other_left  uint8[n_nodes]: categorical nodes: where a category outside the
//                     node's table (or with direction 0) goes (1 = left).
//   cat_offsets, cat_sizes  int32[n_nodes]: categorical node i's table is
//                     cat_directions[cat_offsets[i] : cat_offsets[i] + cat_sizes[i]].
//   cat_directions    uint8[...]: per category c: 1 left, 2 right, 0 the "other" way.
// attr category_cast: "trunc" — c = (int)x, c < 0 is "other" (LightGBM: -0.5 is category 0);
//   "nonnegative" — x < 0 is "other", else c = (int)x (XGBoost, scikit-learn).
// NaN at a categorical node goes the nodes_missing_left way.
// The reference and CPU kernels share tree_leaf(), so both backends give the same bits.
#include <algorithm>
#include <cmath>
#include <memory>

#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/tree_ensemble.h"

namespace gtn::ml {
namespace {

struct CategoricalSpec {
  TreeEnsembleSpec base;
  std::vector<uint8_t> kind, other_left, directions;
  std::vector<int32_t> offsets, sizes;
  bool trunc_cast = false;
};

template <typename T>
Result<std::vector<T>> named_constant(const NodeContext& ctx, const std::string& attr, int64_t expect_len) {
  GTN_ASSIGN_OR_RETURN(std::string name, ctx.attr_string(attr));
  auto it = ctx.graph_constants->find(name);
  if (it == ctx.graph_constants->end())
    return ctx.error("attr '" + attr + "' names constant '" + name + "', which the graph does not define");
  const Array& a = it->second;
  if (dtype_is_bytes_like(a.dtype()) || a.ndim() != 1 || (expect_len >= 0 && a.shape()[0] != expect_len))
    return ctx.error("constant '" + name + "' must be a numeric 1-d tensor" +
                     (expect_len >= 0 ? " of length " + std::to_string(expect_len) : std::string()) + ", got " +
                     shape_to_string(a.shape()));
  RTensor t = to_rtensor(a);
  std::vector<T> out(t.v.size());
  for (size_t i = 0; i < t.v.size(); ++i) out[i] = static_cast<T>(t.v[i]);
  return out;
}

Result<CategoricalSpec> parse(const NodeContext& ctx) {
  CategoricalSpec s;
  GTN_ASSIGN_OR_RETURN(s.base, parse_tree_ensemble(ctx));
  if (!ctx.graph_constants) return ctx.error("has no constants");
  int64_t n = static_cast<int64_t>(s.base.n_nodes());
  GTN_ASSIGN_OR_RETURN(s.kind, named_constant<uint8_t>(ctx, "nodes_kind", n));
  GTN_ASSIGN_OR_RETURN(s.other_left, named_constant<uint8_t>(ctx, "nodes_other_left", n));
  GTN_ASSIGN_OR_RETURN(s.offsets, named_constant<int32_t>(ctx, "cat_offsets", n));
  GTN_ASSIGN_OR_RETURN(s.sizes, named_constant<int32_t>(ctx, "cat_sizes", n));
  GTN_ASSIGN_OR_RETURN(s.directions, named_constant<uint8_t>(ctx, "cat_directions", -1));
  GTN_ASSIGN_OR_RETURN(std::string cast, ctx.attr_string("category_cast", std::string("nonnegative")));
  if (cast != "trunc" && cast != "nonnegative")
    return ctx.error("attr category_cast must be \"trunc\" or \"nonnegative\", got \"" + cast + "\"");
  s.trunc_cast = cast == "trunc";
  int64_t total = static_cast<int64_t>(s.directions.size());
  for (int64_t i = 0; i < n; ++i) {
    if (s.kind[i] > 2) return ctx.error("nodes_kind[" + std::to_string(i) + "] must be 0, 1 or 2");
    if (s.kind[i] != 1 || s.base.feature[i] < 0) continue;
    if (s.offsets[i] < 0 || s.sizes[i] < 0 || int64_t{s.offsets[i]} + s.sizes[i] > total)
      return ctx.error("categorical node " + std::to_string(i) + " has a table outside cat_directions (offset " +
                       std::to_string(s.offsets[i]) + ", size " + std::to_string(s.sizes[i]) + ", " +
                       std::to_string(total) + " entries)");
  }
  for (uint8_t d : s.directions)
    if (d > 2) return ctx.error("cat_directions entries must be 0 (other), 1 (left) or 2 (right)");
  return s;
}

// The leaf node that row `x` reaches in the tree rooted at `id`.
template <typename T>
int32_t tree_leaf(const CategoricalSpec& s, const T* x, int32_t id) {
  const TreeEnsembleSpec& b = s.base;
  while (b.feature[id] >= 0) {
    double v = static_cast<double>(x[b.feature[id]]);
    bool left;
    if (std::isnan(v)) {
      left = b.missing_left[id] != 0;
    } else if (s.kind[id] == 1) {
      int direction = 0;
      bool valid = s.trunc_cast ? v > -1.0 : v >= 0.0;
      if (valid && v < static_cast<double>(s.sizes[id])) {
        direction = s.directions[static_cast<size_t>(s.offsets[id]) + static_cast<size_t>(v)];
      }
      left = direction == 0 ? s.other_left[id] != 0 : direction == 1;
    } else if (s.kind[id] == 2 && std::fabs(v) <= 1e-35) {
      left = b.missing_left[id] != 0;
    } else {
      left = b.comparison_lt ? v < b.threshold[id] : v <= b.threshold[id];
    }
    id = left ? b.left[id] : b.right[id];
  }
  return id;
}

// out[k] = base_values + aggregate of the trees' leaves, for one row (double accumulation).
template <typename T>
void predict_row(const CategoricalSpec& s, const T* x, double* o) {
  const TreeEnsembleSpec& b = s.base;
  int64_t k = b.n_outputs;
  std::fill(o, o + k, 0.0);
  for (size_t t = 0; t < b.n_trees(); ++t) {
    int32_t id = tree_leaf(s, x, b.roots[t]);
    const double* leaf = b.leaf_values.data() + static_cast<size_t>(id) * b.leaf_width;
    if (b.leaf_width == 1) o[b.targets[t]] += leaf[0];
    else
      for (int64_t c = 0; c < k; ++c) o[c] += leaf[c];
  }
  for (int64_t c = 0; c < k; ++c)
    o[c] = (b.aggregate_mean ? o[c] / static_cast<double>(b.n_trees()) : o[c]) + b.base_values[c];
}

Result<std::vector<ValueInfo>> infer(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(CategoricalSpec s, parse(ctx));
  return std::vector<ValueInfo>{{ctx.graph_dtype, {ctx.inputs[0].shape[0], s.base.n_outputs}}};
}

Result<RefKernel> reference(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(CategoricalSpec spec, parse(ctx));
  auto s = std::make_shared<CategoricalSpec>(std::move(spec));
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([s, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t n = x.shape[0], f = x.shape[1], k = s->base.n_outputs;
    if (f != s->base.n_features)
      return Status::InvalidArgument("TreeEnsembleCategorical: expected " + std::to_string(s->base.n_features) +
                                     " features, got " + std::to_string(f));
    RTensor r{dt, {n, k}, std::vector<double>(static_cast<size_t>(n * k), 0.0)};
    for (int64_t row = 0; row < n; ++row) {
      double* o = r.v.data() + row * k;
      predict_row(*s, x.v.data() + row * f, o);
      for (int64_t c = 0; c < k; ++c) o[c] = round_to_dtype(o[c], dt);
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

template <typename T>
CpuKernel cpu_kernel(std::shared_ptr<const CategoricalSpec> s, DType dt) {
  return [s, dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& X = *in[0];
    int64_t n = X.shape()[0], f = X.shape()[1], k = s->base.n_outputs;
    out[0] = Array::Zeros(dt, {n, k});
    T* o = static_cast<T*>(out[0].mutable_data());
    const T* x = X.data_as<T>();
    std::vector<double> acc(static_cast<size_t>(k));
    for (int64_t row = 0; row < n; ++row) {
      predict_row(*s, x + row * f, acc.data());
      for (int64_t c = 0; c < k; ++c) o[row * k + c] = static_cast<T>(acc[c]);
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_cpu(const NodeContext& ctx, const Options&, std::vector<std::string>& notes) {
  GTN_ASSIGN_OR_RETURN(CategoricalSpec spec, parse(ctx));
  DType dt = ctx.outputs[0].dtype;
  if (ctx.inputs[0].dtype != dt) return Status::Unsupported("X is not of the graph dtype");
  size_t n_cat = static_cast<size_t>(std::count(spec.kind.begin(), spec.kind.end(), uint8_t{1}));
  notes.push_back(ctx.label + ": categorical tree traversal, " + std::to_string(spec.base.n_trees()) + " trees, " +
                  std::to_string(spec.base.n_nodes()) + " nodes (" + std::to_string(n_cat) + " categorical)");
  auto s = std::make_shared<const CategoricalSpec>(std::move(spec));
  if (dt == DType::kFloat32) return cpu_kernel<float>(s, dt);
  if (dt == DType::kFloat64) return cpu_kernel<double>(s, dt);
  return Status::Unsupported("non-float TreeEnsembleCategorical");
}

}  // namespace

void register_tree_categorical_op(OpRegistry& r) {
  r.Add({"TreeEnsembleCategorical", 1, 1, 1, infer, reference, nullptr});
}

void register_cpu_tree_categorical_kernels(CpuKernelRegistry& r) { r.Add("TreeEnsembleCategorical", make_cpu); }

}  // namespace gtn::ml
