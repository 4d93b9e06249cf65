// Ops that move elements without arithmetic: Concat, Gather, OneHot, Reshape, Transpose,
// Slice.
#include <algorithm>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {


// ---- Concat
Result<std::vector<ValueInfo>> infer_concat(const NodeContext& ctx) {
  const Shape& s0 = ctx.inputs[0].shape;
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", -1));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, s0.size()));
  Shape out = s0;
  bool all_bool = true;
  for (size_t k = 0; k < ctx.inputs.size(); ++k) {
    const Shape& s = ctx.inputs[k].shape;
    all_bool &= ctx.inputs[k].dtype == DType::kBool;
    if (s.size() != s0.size()) return ctx.error("inputs must have the same rank");
    for (size_t d = 0; d < s.size(); ++d) {
      if (static_cast<int64_t>(d) == axis) continue;
      if (s[d] != s0[d] && s[d] != -1 && s0[d] != -1)
        return ctx.error("input " + std::to_string(k) + " has shape " + shape_to_string(s) + ", expected " +
                         shape_to_string(s0) + " outside axis " + std::to_string(axis));
    }
    if (k > 0) out[axis] = (out[axis] < 0 || s[axis] < 0) ? -1 : out[axis] + s[axis];
  }
  DType dt = all_bool ? DType::kBool : elementwise_dtype("Add", ctx.inputs, ctx.graph_dtype);
  return std::vector<ValueInfo>{{dt, out}};
}

Result<RefKernel> ref_concat(const NodeContext& ctx) {
  int64_t axis_attr = *ctx.attr_int("axis", -1);
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    int64_t axis = norm_axis(axis_attr, in[0]->shape.size());
    Shape s = in[0]->shape;
    s[axis] = 0;
    for (const RTensor* t : in) {
      for (size_t d = 0; d < s.size(); ++d)
        if (static_cast<int64_t>(d) != axis && t->shape[d] != in[0]->shape[d])
          return Status::InvalidArgument("Concat: input shapes " + shape_to_string(t->shape) + " and " +
                                         shape_to_string(in[0]->shape) + " differ outside the axis");
      s[axis] += t->shape[axis];
    }
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    RTensor r{dt, s, {}};
    r.v.reserve(static_cast<size_t>(shape_numel(s)));
    for (int64_t o = 0; o < outer; ++o)
      for (const RTensor* t : in) {
        int64_t chunk = shape_numel(t->shape) / std::max<int64_t>(outer, 1);
        for (int64_t i = 0; i < chunk; ++i) r.v.push_back(round_to_dtype(t->v[o * chunk + i], dt));
      }
    out[0] = std::move(r);
    return Status::OK();
  });
}

bool concat_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  for (bool b : batched)
    if (b) return norm_axis(*ctx.attr_int("axis", -1), ctx.inputs[0].shape.size()) != 0;
  return true;
}

// ---- Gather (numpy take)
Result<std::vector<ValueInfo>> infer_gather(const NodeContext& ctx) {
  const ValueInfo& data = ctx.inputs[0];
  const ValueInfo& idx = ctx.inputs[1];
  if (data.shape.empty()) return ctx.error("data must have rank >= 1");
  if (is_float(idx.dtype) || idx.dtype == DType::kBool)
    return ctx.error("indices must be integers, got " + std::string(dtype_name(idx.dtype)));
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", 0));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, data.shape.size()));
  Shape out(data.shape.begin(), data.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), data.shape.begin() + axis + 1, data.shape.end());
  return std::vector<ValueInfo>{{data.dtype, out}};
}

Result<RefKernel> ref_gather(const NodeContext& ctx) {
  int64_t axis_attr = *ctx.attr_int("axis", 0);
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& data = *in[0];
    const RTensor& idx = *in[1];
    int64_t axis = norm_axis(axis_attr, data.shape.size());
    int64_t outer = 1, inner = 1, len = data.shape[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
    for (size_t d = axis + 1; d < data.shape.size(); ++d) inner *= data.shape[d];
    Shape s(data.shape.begin(), data.shape.begin() + axis);
    s.insert(s.end(), idx.shape.begin(), idx.shape.end());
    s.insert(s.end(), data.shape.begin() + axis + 1, data.shape.end());
    RTensor r{dt, s, {}};
    r.v.reserve(static_cast<size_t>(shape_numel(s)));
    for (int64_t o = 0; o < outer; ++o)
      for (double fi : idx.v) {
        int64_t i = static_cast<int64_t>(fi);
        if (i < 0) i += len;
        if (i < 0 || i >= len)
          return Status::OutOfRange("Gather: index " + std::to_string(static_cast<int64_t>(fi)) +
                                    " is out of range for an axis of length " + std::to_string(len));
        for (int64_t k = 0; k < inner; ++k) r.v.push_back(data.v[(o * len + i) * inner + k]);
      }
    out[0] = std::move(r);
    return Status::OK();
  });
}

bool gather_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  int64_t axis = norm_axis(*ctx.attr_int("axis", 0), ctx.inputs[0].shape.size());
  if (batched[0] && batched[1]) return false;
  if (batched[0]) return axis != 0;
  if (batched[1]) return axis == 0;
  return true;
}

// ---- OneHot
Result<std::vector<ValueInfo>> infer_onehot(const NodeContext& ctx) {
  const ValueInfo& idx = ctx.inputs[0];
  if (is_float(idx.dtype) || idx.dtype == DType::kBool)
    return ctx.error("indices must be integers, got " + std::string(dtype_name(idx.dtype)));
  GTN_ASSIGN_OR_RETURN(int64_t depth, ctx.attr_int("depth"));
  if (depth < 1) return ctx.error("attr depth must be >= 1");
  Shape s = idx.shape;
  s.push_back(depth);
  return std::vector<ValueInfo>{{ctx.graph_dtype, s}};
}

Result<RefKernel> ref_onehot(const NodeContext& ctx) {
  int64_t depth = *ctx.attr_int("depth");
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& idx = *in[0];
    Shape s = idx.shape;
    s.push_back(depth);
    RTensor r{dt, s, std::vector<double>(idx.v.size() * static_cast<size_t>(depth), 0.0)};
    for (size_t i = 0; i < idx.v.size(); ++i) {
      int64_t k = static_cast<int64_t>(idx.v[i]);
      if (k >= 0 && k < depth) r.v[i * depth + k] = 1.0;
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

// ---- Reshape: attr shape, -1 = inferred, 0 = keep that dimension of the input
Result<Shape> resolve_reshape(const Shape& in, const std::vector<int64_t>& spec, bool allow_unknown) {
  Shape out(spec.size());
  int64_t known = 1, infer_at = -1;
  bool unknown = false;
  for (size_t d = 0; d < spec.size(); ++d) {
    int64_t v = spec[d];
    if (v == 0) {
      if (d >= in.size()) return Status::InvalidArgument("Reshape: 0 at position " + std::to_string(d) + " has no input dimension to keep");
      v = in[d];
    }
    if (v == -1 && spec[d] == -1) {
      if (infer_at >= 0) return Status::InvalidArgument("Reshape: more than one -1 in the target shape");
      infer_at = static_cast<int64_t>(d);
    } else if (v < 0) {
      unknown = true;
    } else if (v >= 0) {
      known *= v;
    }
    out[d] = v;
  }
  int64_t total = 1;
  bool in_unknown = false;
  for (int64_t d : in) {
    if (d < 0) in_unknown = true;
    else total *= d;
  }
  // Dimensions kept from an unknown (batch) input dimension cancel out.
  if (in_unknown && unknown) in_unknown = false, unknown = false;
  if (in_unknown || unknown) {
    if (!allow_unknown) return Status::InvalidArgument("Reshape: cannot resolve the shape");
    if (infer_at >= 0) out[infer_at] = -1;
    return out;
  }
  if (infer_at >= 0) {
    if (known == 0 || total % known != 0)
      return Status::InvalidArgument("Reshape: cannot reshape " + shape_to_string(in) + " into " + shape_to_string(Shape(spec)));
    out[infer_at] = total / known;
  } else if (known != total) {
    return Status::InvalidArgument("Reshape: cannot reshape " + shape_to_string(in) + " into " + shape_to_string(Shape(spec)));
  }
  return out;
}

Result<std::vector<ValueInfo>> infer_reshape(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(auto spec, ctx.attr_ints("shape"));
  auto s = resolve_reshape(ctx.inputs[0].shape, spec, true);
  if (!s.ok()) return ctx.error(s.status().message());
  return std::vector<ValueInfo>{{ctx.inputs[0].dtype, *s}};
}

Result<RefKernel> ref_reshape(const NodeContext& ctx) {
  std::vector<int64_t> spec = *ctx.attr_ints("shape");
  return RefKernel([spec](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    GTN_ASSIGN_OR_RETURN(Shape s, resolve_reshape(in[0]->shape, spec, false));
    out[0] = *in[0];
    out[0].shape = s;
    return Status::OK();
  });
}

// Row-local when dimension 0 stays the batch and a row keeps its size: [N, 1] -> [N] too.
bool reshape_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  if (!batched[0]) return true;
  auto spec = ctx.attr_ints("shape");
  if (spec.ok() && !spec->empty() && (*spec)[0] == 0) return true;
  if (ctx.outputs.empty()) return false;
  const Shape& in = ctx.inputs[0].shape;
  const Shape& out = ctx.outputs[0].shape;
  if (out.empty() || out[0] != -1) return false;
  int64_t a = 1, b = 1;
  for (size_t d = 1; d < in.size(); ++d) {
    if (in[d] < 0) return false;
    a *= in[d];
  }
  for (size_t d = 1; d < out.size(); ++d) {
    if (out[d] < 0) return false;
    b *= out[d];
  }
  return a == b;
}

// ---- Transpose
Result<std::vector<ValueInfo>> infer_transpose(const NodeContext& ctx) {
  const Shape& s = ctx.inputs[0].shape;
  GTN_ASSIGN_OR_RETURN(auto perm, ctx.attr_ints("perm"));
  if (perm.size() != s.size()) return ctx.error("attr perm must have one entry per input dimension");
  std::vector<bool> seen(s.size(), false);
  Shape out;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(s.size()) || seen[p]) return ctx.error("attr perm must be a permutation");
    seen[p] = true;
    out.push_back(s[p]);
  }
  return std::vector<ValueInfo>{{ctx.inputs[0].dtype, out}};
}

Result<RefKernel> ref_transpose(const NodeContext& ctx) {
  std::vector<int64_t> perm = *ctx.attr_ints("perm");
  return RefKernel([perm](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    size_t rank = x.shape.size();
    std::vector<int64_t> in_strides(rank, 1);
    for (size_t d = rank; d-- > 1;) in_strides[d - 1] = in_strides[d] * x.shape[d];
    Shape s(rank);
    for (size_t d = 0; d < rank; ++d) s[d] = x.shape[perm[d]];
    RTensor r{x.dtype, s, std::vector<double>(x.v.size())};
    std::vector<int64_t> idx(rank, 0);
    for (size_t i = 0; i < r.v.size(); ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += idx[d] * in_strides[perm[d]];
      r.v[i] = x.v[static_cast<size_t>(off)];
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < s[d]) break;
        idx[d] = 0;
      }
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

bool transpose_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  if (!batched[0]) return true;
  auto perm = ctx.attr_ints("perm");
  return perm.ok() && !perm->empty() && (*perm)[0] == 0;
}

// ---- Slice(x) with axis, start, end (python slice semantics, step 1)
void clamp_slice(int64_t len, int64_t& start, int64_t& end) {
  if (start < 0) start += len;
  if (end < 0) end += len;
  start = std::clamp<int64_t>(start, 0, len);
  end = std::clamp<int64_t>(end, start, len);
}

Result<std::vector<ValueInfo>> infer_slice(const NodeContext& ctx) {
  const Shape& s = ctx.inputs[0].shape;
  if (s.empty()) return ctx.error("input must have rank >= 1");
  GTN_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attr_int("axis", 0));
  GTN_ASSIGN_OR_RETURN(int64_t axis, ctx.axis(axis_attr, s.size()));
  GTN_ASSIGN_OR_RETURN(int64_t start, ctx.attr_int("start", 0));
  GTN_ASSIGN_OR_RETURN(int64_t end, ctx.attr_int("end", INT64_MAX));
  Shape out = s;
  if (s[axis] >= 0) {
    clamp_slice(s[axis], start, end);
    out[axis] = end - start;
  }
  return std::vector<ValueInfo>{{ctx.inputs[0].dtype, out}};
}

Result<RefKernel> ref_slice(const NodeContext& ctx) {
  int64_t axis_attr = *ctx.attr_int("axis", 0);
  int64_t start0 = *ctx.attr_int("start", 0);
  int64_t end0 = *ctx.attr_int("end", INT64_MAX);
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    int64_t axis = norm_axis(axis_attr, x.shape.size());
    int64_t len = x.shape[axis], start = start0, end = end0;
    clamp_slice(len, start, end);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
    for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
    Shape s = x.shape;
    s[axis] = end - start;
    RTensor r{x.dtype, s, {}};
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = start; i < end; ++i)
        for (int64_t k = 0; k < inner; ++k) r.v.push_back(x.v[(o * len + i) * inner + k]);
    out[0] = std::move(r);
    return Status::OK();
  });
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.Add({"Concat", 1, -1, 1, infer_concat, ref_concat, concat_row_local});
  r.Add({"Gather", 2, 2, 1, infer_gather, ref_gather, gather_row_local});
  r.Add({"OneHot", 1, 1, 1, infer_onehot, ref_onehot, nullptr});
  r.Add({"Reshape", 1, 1, 1, infer_reshape, ref_reshape, reshape_row_local});
  r.Add({"Transpose", 1, 1, 1, infer_transpose, ref_transpose, transpose_row_local});
  r.Add({"Slice", 1, 1, 1, infer_slice, ref_slice, [](const NodeContext& ctx, const std::vector<bool>& batched) {
            return !batched[0] || norm_axis(*ctx.attr_int("axis", 0), ctx.inputs[0].shape.size()) != 0;
          }});
}

}  // namespace gtn::ml
