// Linear-algebra ops: MatMul, Gemm, SquaredDistance (all [N,K] x [K,M]-shaped).
#include <cmath>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

bool dims_match(int64_t a, int64_t b) { return a == b || a == -1 || b == -1; }

// Checks a [N,K] against b ([K,M], or [M,K] when transposed); returns {N, M}.
Result<Shape> matmul_shape(const NodeContext& ctx, bool transpose_b) {
  const Shape& a = ctx.inputs[0].shape;
  const Shape& b = ctx.inputs[1].shape;
  if (a.size() != 2 || b.size() != 2)
    return ctx.error("inputs must be 2-d, got " + shape_to_string(a) + " and " + shape_to_string(b));
  int64_t bk = transpose_b ? b[1] : b[0];
  int64_t bm = transpose_b ? b[0] : b[1];
  if (!dims_match(a[1], bk))
    return ctx.error("inner dimensions differ: " + shape_to_string(a) + " x " + shape_to_string(b) +
                     (transpose_b ? " (b transposed)" : ""));
  for (const auto& in : ctx.inputs)
    if (in.dtype == DType::kBool) return ctx.error("inputs must be numeric, got bool");
  return Shape{a[0], bm};
}

Result<std::vector<ValueInfo>> infer_matmul(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(bool tb, ctx.attr_bool("transpose_b", false));
  GTN_ASSIGN_OR_RETURN(Shape s, matmul_shape(ctx, tb));
  if (ctx.node->op == "Gemm" && ctx.inputs.size() == 3) {
    auto bs = broadcast_shapes(s, ctx.inputs[2].shape);
    if (!bs.ok() || *bs != s) return ctx.error("c of shape " + shape_to_string(ctx.inputs[2].shape) +
                                               " does not broadcast to " + shape_to_string(s));
    GTN_ASSIGN_OR_RETURN(double alpha, ctx.attr_float("alpha", 1.0));
    GTN_ASSIGN_OR_RETURN(double beta, ctx.attr_float("beta", 1.0));
    (void)alpha, (void)beta;
  }
  return std::vector<ValueInfo>{{float_result_dtype(ctx.inputs, ctx.graph_dtype), s}};
}

Result<RefKernel> ref_matmul(const NodeContext& ctx) {
  bool tb = *ctx.attr_bool("transpose_b", false);
  double alpha = *ctx.attr_float("alpha", 1.0);
  double beta = *ctx.attr_float("beta", 1.0);
  bool gemm = ctx.node->op == "Gemm";
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& a = *in[0];
    const RTensor& b = *in[1];
    int64_t n = a.shape[0], k = a.shape[1];
    int64_t bk = tb ? b.shape[1] : b.shape[0], m = tb ? b.shape[0] : b.shape[1];
    if (bk != k) return Status::InvalidArgument("MatMul: inner dimensions differ at run time");
    RTensor r{dt, {n, m}, std::vector<double>(static_cast<size_t>(n * m))};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += a.v[i * k + p] * (tb ? b.v[j * k + p] : b.v[p * m + j]);
        r.v[i * m + j] = gemm ? alpha * s : s;
      }
    if (gemm && in.size() == 3) {
      RTensor c;
      GTN_RETURN_IF_ERROR(ref_broadcast({&r, in[2]}, DType::kFloat64,
                                        [beta](const double* x) { return x[0] + beta * x[1]; }, c));
      r.v = std::move(c.v);
    }
    for (double& x : r.v) x = round_to_dtype(x, dt);
    out[0] = std::move(r);
    return Status::OK();
  });
}

Result<std::vector<ValueInfo>> infer_sqdist(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(Shape s, matmul_shape(ctx, /*transpose_b=*/true));
  return std::vector<ValueInfo>{{float_result_dtype(ctx.inputs, ctx.graph_dtype), s}};
}

Result<RefKernel> ref_sqdist(const NodeContext& ctx) {
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& a = *in[0];
    const RTensor& b = *in[1];
    int64_t n = a.shape[0], f = a.shape[1], m = b.shape[0];
    if (b.shape[1] != f) return Status::InvalidArgument("SquaredDistance: feature counts differ at run time");
    RTensor r{dt, {n, m}, std::vector<double>(static_cast<size_t>(n * m))};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t p = 0; p < f; ++p) {
          double d = a.v[i * f + p] - b.v[j * f + p];
          s += d * d;
        }
        r.v[i * m + j] = round_to_dtype(s, dt);
      }
    out[0] = std::move(r);
    return Status::OK();
  });
}

bool row_local_first_only(const NodeContext&, const std::vector<bool>& batched) {
  for (size_t k = 1; k < batched.size(); ++k)
    if (batched[k]) return false;
  return true;
}

}  // namespace

void register_linalg_ops(OpRegistry& r) {
  r.Add({"MatMul", 2, 2, 1, infer_matmul, ref_matmul, row_local_first_only});
  r.Add({"Gemm", 2, 3, 1, infer_matmul, ref_matmul, row_local_first_only});
  r.Add({"SquaredDistance", 2, 2, 1, infer_sqdist, ref_sqdist, row_local_first_only});
}

}  // namespace gtn::ml
