// Ops that reduce or rank along one axis: Reduce*, ArgMax/ArgMin, TopK, Softmax,
// LogSoftmax, Normalize.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

// A tensor seen as [outer, len, inner] around `axis`.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};
AxisView axis_view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < axis; ++d) v.outer *= s[d];
  v.len = s[axis];
  for (size_t d = axis + 1; d < s.size(); ++d) v.inner *= s[d];
  return v;
}

Shape reduced_shape(const Shape& s, int64_t axis, bool keepdims) {
  Shape out;
  for (size_t d = 0; d < s.size(); ++d) {
    if (static_cast<int64_t>(d) == axis) {
      if (keepdims) out.push_back(1);
    } else {
      out.push_back(s[d]);
    }
  }
  return out;
}

Result<std::vector<ValueInfo>> infer_reduce(const NodeContext& ctx) {
  const ValueInfo& x = ctx.inputs[0];
  if (x.shape.empty()) return ctx.error("input must have rank >= 1");
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", -1));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, x.shape.size()));
  GTN_ASSIGN_OR_RETURN(bool keepdims, ctx.attr_bool("keepdims", false));
  const std::string& op = ctx.node->op;
  DType dt;
  if (op == "ArgMax" || op == "ArgMin") dt = DType::kInt64;
  else if (op == "ReduceMean" || op == "ReduceLogSumExp") dt = float_result_dtype({x}, ctx.graph_dtype);
  else if (op == "ReduceMax" || op == "ReduceMin") dt = x.dtype == DType::kBool ? DType::kInt64 : x.dtype;
  else dt = elementwise_dtype("Add", {x}, ctx.graph_dtype);
  return std::vector<ValueInfo>{{dt, reduced_shape(x.shape, axis, keepdims)}};
}

double reduce_line(const std::string& op, const double* p, int64_t len, int64_t stride) {
  if (op == "ReduceSum" || op == "ReduceMean") {
    double s = 0;
    for (int64_t i = 0; i < len; ++i) s += p[i * stride];
    return op == "ReduceSum" ? s : s / static_cast<double>(len);
  }
  if (op == "ReduceProd") {
    double s = 1;
    for (int64_t i = 0; i < len; ++i) s *= p[i * stride];
    return s;
  }
  if (op == "ReduceMax" || op == "ReduceMin") {
    bool mx = op == "ReduceMax";
    double b = mx ? -INFINITY : INFINITY;
    for (int64_t i = 0; i < len; ++i) {
      double x = p[i * stride];
      if (std::isnan(x)) return x;
      if (mx ? x > b : x < b) b = x;
    }
    return b;
  }
  if (op == "ReduceLogSumExp") {
    double m = -INFINITY;
    for (int64_t i = 0; i < len; ++i) m = std::max(m, p[i * stride]);
    if (std::isinf(m)) return m;
    double s = 0;
    for (int64_t i = 0; i < len; ++i) s += std::exp(p[i * stride] - m);
    return m + std::log(s);
  }
  // ArgMax / ArgMin: first index on ties, first NaN wins (numpy).
  bool mx = op == "ArgMax";
  int64_t best = 0;
  for (int64_t i = 1; i < len; ++i) {
    double x = p[i * stride], b = p[best * stride];
    if (std::isnan(b)) break;
    if (std::isnan(x) || (mx ? x > b : x < b)) best = i;
  }
  return static_cast<double>(best);
}

Result<RefKernel> ref_reduce(const NodeContext& ctx) {
  int64_t axis_attr = *ctx.attr_int("axis", -1);
  bool keepdims = *ctx.attr_bool("keepdims", false);
  std::string op = ctx.node->op;
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t axis = norm_axis(axis_attr, x.shape.size());
    AxisView v = axis_view(x.shape, axis);
    if (v.len == 0 && (op == "ArgMax" || op == "ArgMin"))
      return Status::InvalidArgument(op + ": cannot take the arg-extremum of an empty axis");
    RTensor r{dt, reduced_shape(x.shape, axis, keepdims), {}};
    r.v.resize(static_cast<size_t>(v.outer * v.inner));
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i)
        r.v[o * v.inner + i] = round_to_dtype(reduce_line(op, x.v.data() + o * v.len * v.inner + i, v.len, v.inner), dt);
    out[0] = std::move(r);
    return Status::OK();
  });
}

// TopK -> values, indices
Result<std::vector<ValueInfo>> infer_topk(const NodeContext& ctx) {
  const ValueInfo& x = ctx.inputs[0];
  if (x.shape.empty()) return ctx.error("input must have rank >= 1");
  GTN_ASSIGN_OR_RETURN(int64_t k, ctx.attr_int("k"));
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", -1));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, x.shape.size()));
  GTN_ASSIGN_OR_RETURN(bool largest, ctx.attr_bool("largest", true));
  (void)largest;
  if (k < 1) return ctx.error("attr k must be >= 1");
  if (x.shape[axis] >= 0 && k > x.shape[axis])
    return ctx.error("k = " + std::to_string(k) + " exceeds the axis length " + std::to_string(x.shape[axis]));
  Shape s = x.shape;
  s[axis] = k;
  return std::vector<ValueInfo>{{x.dtype, s}, {DType::kInt64, s}};
}

Result<RefKernel> ref_topk(const NodeContext& ctx) {
  int64_t k = *ctx.attr_int("k");
  int64_t axis_attr = *ctx.attr_int("axis", -1);
  bool largest = *ctx.attr_bool("largest", true);
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t axis = norm_axis(axis_attr, x.shape.size());
    AxisView v = axis_view(x.shape, axis);
    if (k > v.len) return Status::InvalidArgument("TopK: k exceeds the axis length");
    Shape s = x.shape;
    s[axis] = k;
    RTensor vals{dt, s, std::vector<double>(static_cast<size_t>(v.outer * k * v.inner))};
    RTensor idx{DType::kInt64, s, vals.v};
    std::vector<int64_t> order(static_cast<size_t>(v.len));
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        const double* p = x.v.data() + o * v.len * v.inner + i;
        std::iota(order.begin(), order.end(), 0);
        // NaN ranks above every number; equal values keep index order.
        auto gt = [](double x, double y) { return x != x ? y == y : (y == y && x > y); };
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? gt(p[a * v.inner], p[b * v.inner]) : gt(p[b * v.inner], p[a * v.inner]);
        });
        for (int64_t j = 0; j < k; ++j) {
          size_t at = static_cast<size_t>(o * k * v.inner + j * v.inner + i);
          vals.v[at] = p[order[j] * v.inner];
          idx.v[at] = static_cast<double>(order[j]);
        }
      }
    out[0] = std::move(vals);
    out[1] = std::move(idx);
    return Status::OK();
  });
}

// Softmax / LogSoftmax
Result<std::vector<ValueInfo>> infer_softmax(const NodeContext& ctx) {
  const ValueInfo& x = ctx.inputs[0];
  if (x.shape.empty()) return ctx.error("input must have rank >= 1");
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", -1));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, x.shape.size()));
  (void)axis;
  return std::vector<ValueInfo>{{float_result_dtype({x}, ctx.graph_dtype), x.shape}};
}

Result<RefKernel> ref_softmax(const NodeContext& ctx) {
  int64_t axis_attr = *ctx.attr_int("axis", -1);
  bool log = ctx.node->op == "LogSoftmax";
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t axis = norm_axis(axis_attr, x.shape.size());
    AxisView v = axis_view(x.shape, axis);
    RTensor r{dt, x.shape, std::vector<double>(x.v.size())};
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t i = 0; i < v.inner; ++i) {
        int64_t base = o * v.len * v.inner + i;
        double m = -INFINITY;
        for (int64_t j = 0; j < v.len; ++j) m = std::max(m, x.v[base + j * v.inner]);
        double s = 0;
        for (int64_t j = 0; j < v.len; ++j) s += std::exp(x.v[base + j * v.inner] - m);
        for (int64_t j = 0; j < v.len; ++j) {
          double z = x.v[base + j * v.inner] - m;
          r.v[base + j * v.inner] = round_to_dtype(log ? z - std::log(s) : std::exp(z) / s, dt);
        }
      }
    out[0] = std::move(r);
    return Status::OK();
  });
}

// Normalize(x [N,F]) with attr norm
Result<std::vector<ValueInfo>> infer_normalize(const NodeContext& ctx) {
  const ValueInfo& x = ctx.inputs[0];
  if (x.shape.size() != 2) return ctx.error("input must be 2-d [N, F], got " + shape_to_string(x.shape));
  GTN_ASSIGN_OR_RETURN(std::string norm, ctx.attr_string("norm", std::string("l2")));
  if (norm != "l1" && norm != "l2" && norm != "max")
    return ctx.error("attr norm must be \"l1\", \"l2\" or \"max\", got \"" + norm + "\"");
  return std::vector<ValueInfo>{{float_result_dtype({x}, ctx.graph_dtype), x.shape}};
}

Result<RefKernel> ref_normalize(const NodeContext& ctx) {
  std::string norm = *ctx.attr_string("norm", std::string("l2"));
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t n = x.shape[0], f = x.shape[1];
    RTensor r{dt, x.shape, x.v};
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < f; ++j) {
        double a = x.v[i * f + j];
        if (norm == "l1") s += std::fabs(a);
        else if (norm == "l2") s += a * a;
        else s = std::max(s, std::fabs(a));
      }
      if (norm == "l2") s = std::sqrt(s);
      if (s == 0) s = 1;
      for (int64_t j = 0; j < f; ++j) r.v[i * f + j] = round_to_dtype(x.v[i * f + j] / s, dt);
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceLogSumExp",
                         "ArgMax", "ArgMin"})
    r.Add({op, 1, 1, 1, infer_reduce, ref_reduce, row_local_axis_attr});
  r.Add({"TopK", 1, 1, 2, infer_topk, ref_topk, row_local_axis_attr});
  r.Add({"Softmax", 1, 1, 1, infer_softmax, ref_softmax, row_local_axis_attr});
  r.Add({"LogSoftmax", 1, 1, 1, infer_softmax, ref_softmax, row_local_axis_attr});
  r.Add({"Normalize", 1, 1, 1, infer_normalize, ref_normalize, nullptr});
}

}  // namespace gtn::ml
