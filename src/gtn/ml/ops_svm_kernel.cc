// SvmKernel: a kernel machine's decision values in one op — the kernel between each row and
// every support vector, times the dual coefficients, plus the intercept:
//
//   out[i, p] = sum_j K(x_i, sv_j) * coef[j, p] + intercept[p]
//
// Inputs: x [N, F], sv [M, F] (constant), coef [M, P] (constant), optional intercept [P]
// (constant). Attrs: kernel = "rbf" | "poly" | "sigmoid" | "linear", gamma, coef0, degree.
// K: rbf exp(-gamma ||x - sv||^2); poly (gamma x.sv + coef0)^degree; sigmoid
// tanh(gamma x.sv + coef0); linear x.sv (libsvm's definitions). The CPU kernel
// (cpu_svm_kernel.cc) never holds the [N, M] kernel matrix; this reference computes each
// entry directly in double precision.
#include <cmath>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

Result<std::vector<ValueInfo>> infer_svm_kernel(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(std::string kernel, ctx.attr_string("kernel"));
  if (kernel != "rbf" && kernel != "poly" && kernel != "sigmoid" && kernel != "linear")
    return ctx.error("attr kernel must be rbf, poly, sigmoid or linear, got '" + kernel + "'");
  GTN_ASSIGN_OR_RETURN(double gamma, ctx.attr_float("gamma", 1.0));
  GTN_ASSIGN_OR_RETURN(double coef0, ctx.attr_float("coef0", 0.0));
  GTN_ASSIGN_OR_RETURN(double degree, ctx.attr_float("degree", 3.0));
  if (!std::isfinite(gamma) || !std::isfinite(coef0) || !std::isfinite(degree))
    return ctx.error("attrs gamma, coef0 and degree must be finite");
  const ValueInfo& x = ctx.inputs[0];
  const ValueInfo& sv = ctx.inputs[1];
  const ValueInfo& coef = ctx.inputs[2];
  if (x.shape.size() != 2) return ctx.error("x must be [N, F], got " + shape_to_string(x.shape));
  const char* names[] = {"x", "sv", "coef", "intercept"};
  for (size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (!is_float(ctx.inputs[i].dtype))
      return ctx.error(std::string(names[i]) + " must be float, got " + std::string(dtype_name(ctx.inputs[i].dtype)));
    if (i > 0 && !ctx.constants[i]) return ctx.error(std::string(names[i]) + " must be a constant");
  }
  if (sv.shape.size() != 2 || sv.shape[1] != x.shape[1])
    return ctx.error("sv must be [M, " + std::to_string(x.shape[1]) + "], got " + shape_to_string(sv.shape));
  if (coef.shape.size() != 2 || coef.shape[0] != sv.shape[0])
    return ctx.error("coef must be [" + std::to_string(sv.shape[0]) + ", P], got " + shape_to_string(coef.shape));
  if (ctx.inputs.size() == 4 && ctx.inputs[3].shape != Shape{coef.shape[1]})
    return ctx.error("intercept must be [" + std::to_string(coef.shape[1]) + "], got " +
                     shape_to_string(ctx.inputs[3].shape));
  return std::vector<ValueInfo>{{ctx.graph_dtype, Shape{x.shape[0], coef.shape[1]}}};
}

Result<RefKernel> ref_svm_kernel(const NodeContext& ctx) {
  std::string kernel = *ctx.attr_string("kernel");
  double gamma = *ctx.attr_float("gamma", 1.0), coef0 = *ctx.attr_float("coef0", 0.0);
  double degree = *ctx.attr_float("degree", 3.0);
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& x = *in[0];
    const RTensor& sv = *in[1];
    const RTensor& coef = *in[2];
    int64_t n = x.shape[0], f = x.shape[1], m = sv.shape[0], p = coef.shape[1];
    if (sv.shape[1] != f) return Status::InvalidArgument("SvmKernel: feature counts differ at run time");
    RTensor r{dt, Shape{n, p}, std::vector<double>(static_cast<size_t>(n * p))};
    for (int64_t i = 0; i < n; ++i) {
      double* o = r.v.data() + i * p;
      if (in.size() == 4)
        for (int64_t c = 0; c < p; ++c) o[c] = in[3]->v[c];
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t q = 0; q < f; ++q) {
          double a = x.v[i * f + q], b = sv.v[j * f + q];
          s += kernel == "rbf" ? (a - b) * (a - b) : a * b;
        }
        double k = kernel == "rbf"      ? std::exp(-gamma * s)
                   : kernel == "poly"    ? std::pow(gamma * s + coef0, degree)
                   : kernel == "sigmoid" ? std::tanh(gamma * s + coef0)
                                         : s;
        for (int64_t c = 0; c < p; ++c) o[c] += k * coef.v[j * p + c];
      }
      for (int64_t c = 0; c < p; ++c) o[c] = round_to_dtype(o[c], dt);
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

}  // namespace

void register_svm_kernel_op(OpRegistry& r) {
  r.Add({"SvmKernel", 3, 4, 1, infer_svm_kernel, ref_svm_kernel, row_local_first_input_only});
}

}  // namespace gtn::ml
