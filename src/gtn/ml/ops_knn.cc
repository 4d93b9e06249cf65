// KNearest: the k nearest rows of a constant reference set (euclidean), per input row.
//
// Inputs: x [N, F], ref [M, F] (constant). Attr k (1 <= k <= M).
// Outputs: d2 [N, k] squared distances ascending, idx [N, k] int64 rows of ref.
// Ties keep the lower index first; NaN distances rank after every number (TopK's order).
// Same result as SquaredDistance followed by TopK(largest=false), but the CPU kernel
// (cpu_knn.cc) never holds an [N, M] matrix; this reference computes each distance
// directly in double precision and stable-sorts each row.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

Result<std::vector<ValueInfo>> infer_knn(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(int64_t k, ctx.attr_int("k"));
  const ValueInfo& x = ctx.inputs[0];
  const ValueInfo& ref = ctx.inputs[1];
  if (x.shape.size() != 2) return ctx.error("x must be [N, F], got " + shape_to_string(x.shape));
  if (!is_float(x.dtype) || !is_float(ref.dtype)) return ctx.error("x and ref must be float");
  if (!ctx.constants[1]) return ctx.error("ref must be a constant");
  if (ref.shape.size() != 2 || ref.shape[1] != x.shape[1])
    return ctx.error("ref must be [M, " + std::to_string(x.shape[1]) + "], got " + shape_to_string(ref.shape));
  if (k < 1 || k > ref.shape[0])
    return ctx.error("attr k must be in [1, " + std::to_string(ref.shape[0]) + "] (the rows of ref), got " +
                     std::to_string(k));
  return std::vector<ValueInfo>{{ctx.graph_dtype, Shape{x.shape[0], k}}, {DType::kInt64, Shape{x.shape[0], k}}};
}

Result<RefKernel> ref_knn(const NodeContext& ctx) {
  int64_t k = *ctx.attr_int("k");
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    const RTensor& ref = *in[1];
    int64_t n = x.shape[0], f = x.shape[1], m = ref.shape[0];
    if (ref.shape[1] != f) return Status::InvalidArgument("KNearest: feature counts differ at run time");
    RTensor d{dt, Shape{n, k}, std::vector<double>(static_cast<size_t>(n * k))};
    RTensor ix{DType::kInt64, Shape{n, k}, std::vector<double>(static_cast<size_t>(n * k))};
    std::vector<double> dist(static_cast<size_t>(m));
    std::vector<int64_t> order(static_cast<size_t>(m));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t q = 0; q < f; ++q) {
          double a = x.v[i * f + q] - ref.v[j * f + q];
          s += a * a;
        }
        dist[j] = round_to_dtype(s, dt);
      }
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        if (std::isnan(dist[a])) return false;
        return std::isnan(dist[b]) || dist[a] < dist[b];
      });
      for (int64_t c = 0; c < k; ++c) {
        d.v[i * k + c] = dist[order[c]];
        ix.v[i * k + c] = static_cast<double>(order[c]);
      }
    }
    out[0] = std::move(d);
    out[1] = std::move(ix);
    return Status::OK();
  });
}

}  // namespace

void register_knn_op(OpRegistry& r) { r.Add({"KNearest", 2, 2, 2, infer_knn, ref_knn, row_local_first_input_only}); }

}  // namespace gtn::ml
