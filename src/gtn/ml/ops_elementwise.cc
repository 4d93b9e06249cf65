// Elementwise ops: arithmetic, math functions, comparisons, logic, Where, Clip, Cast,
// Identity. Broadcasting follows numpy.
#include <cmath>
#include <limits>
#include <set>

#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  double e = std::exp(x);
  return e / (1.0 + e);
}
double nan_max(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? NAN : (a > b ? a : b); }
double nan_min(double a, double b) { return (std::isnan(a) || std::isnan(b)) ? NAN : (a < b ? a : b); }
double sign(double x) { return std::isnan(x) ? x : (x > 0) - (x < 0); }
double relu(double x) { return std::isnan(x) ? x : (x > 0 ? x : 0.0); }
double softplus(double x) { return std::log1p(std::exp(-std::fabs(x))) + (x > 0 ? x : 0.0); }

const std::set<std::string> kFloatUnary = {"Sqrt", "Exp", "Log", "Log1p", "Reciprocal", "Sigmoid", "Tanh", "Softplus"};
const std::set<std::string> kIntUnary = {"Neg", "Abs", "Square", "Sign", "Floor", "Relu"};
const std::set<std::string> kArith = {"Add", "Sub", "Mul", "Pow", "Max", "Min"};
const std::set<std::string> kCompare = {"Greater", "GreaterEqual", "Less", "LessEqual", "Equal"};

}  // namespace

UnaryFn unary_function(const std::string& op) {
  static const std::map<std::string, UnaryFn> f = {
      {"Neg", [](double x) { return -x; }},
      {"Abs", [](double x) { return std::fabs(x); }},
      {"Sqrt", [](double x) { return std::sqrt(x); }},
      {"Square", [](double x) { return x * x; }},
      {"Exp", [](double x) { return std::exp(x); }},
      {"Log", [](double x) { return std::log(x); }},
      {"Log1p", [](double x) { return std::log1p(x); }},
      {"Reciprocal", [](double x) { return 1.0 / x; }},
      {"Sign", sign},
      {"Floor", [](double x) { return std::floor(x); }},
      {"Sigmoid", sigmoid},
      {"Tanh", [](double x) { return std::tanh(x); }},
      {"Relu", relu},
      {"Softplus", softplus},
      {"Not", [](double x) { return x != 0.0 ? 0.0 : 1.0; }},
      {"IsNaN", [](double x) { return std::isnan(x) ? 1.0 : 0.0; }},
      {"Identity", [](double x) { return x; }},
  };
  auto it = f.find(op);
  return it == f.end() ? nullptr : it->second;
}

BinaryFn binary_function(const std::string& op) {
  static const std::map<std::string, BinaryFn> f = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Pow", [](double a, double b) { return std::pow(a, b); }},
      {"Max", nan_max},
      {"Min", nan_min},
      {"Greater", [](double a, double b) { return a > b ? 1.0 : 0.0; }},
      {"GreaterEqual", [](double a, double b) { return a >= b ? 1.0 : 0.0; }},
      {"Less", [](double a, double b) { return a < b ? 1.0 : 0.0; }},
      {"LessEqual", [](double a, double b) { return a <= b ? 1.0 : 0.0; }},
      {"Equal", [](double a, double b) { return a == b ? 1.0 : 0.0; }},
      {"And", [](double a, double b) { return (a != 0.0 && b != 0.0) ? 1.0 : 0.0; }},
      {"Or", [](double a, double b) { return (a != 0.0 || b != 0.0) ? 1.0 : 0.0; }},
  };
  auto it = f.find(op);
  return it == f.end() ? nullptr : it->second;
}

DType float_result_dtype(const std::vector<ValueInfo>& in, DType graph_dtype) {
  bool any = false, f64 = false;
  for (const auto& v : in) {
    if (is_float(v.dtype)) {
      any = true;
      f64 |= v.dtype == DType::kFloat64;
    }
  }
  if (!any) return graph_dtype;
  return f64 ? DType::kFloat64 : DType::kFloat32;
}

DType elementwise_dtype(const std::string& op, const std::vector<ValueInfo>& in, DType graph_dtype) {
  if (kCompare.count(op) || op == "And" || op == "Or" || op == "Not" || op == "IsNaN") return DType::kBool;
  if (kFloatUnary.count(op) || op == "Div") return float_result_dtype(in, graph_dtype);
  if (op == "Identity") return in[0].dtype;
  bool any_float = false;
  for (const auto& v : in) any_float |= is_float(v.dtype);
  if (any_float) return float_result_dtype(in, graph_dtype);
  return DType::kInt64;
}

Status ref_broadcast(const std::vector<const RTensor*>& in, DType out_dtype,
                     const std::function<double(const double*)>& f, RTensor& out) {
  Shape shape;
  for (const RTensor* t : in) {
    GTN_ASSIGN_OR_RETURN(shape, broadcast_shapes(shape, t->shape));
  }
  size_t rank = shape.size();
  std::vector<std::vector<int64_t>> strides(in.size(), std::vector<int64_t>(rank, 0));
  for (size_t k = 0; k < in.size(); ++k) {
    const Shape& s = in[k]->shape;
    int64_t stride = 1;
    for (size_t d = 0; d < s.size(); ++d) {
      size_t od = rank - 1 - d;
      size_t sd = s.size() - 1 - d;
      strides[k][od] = s[sd] == 1 ? 0 : stride;
      stride *= s[sd];
    }
  }
  out.dtype = out_dtype;
  out.shape = shape;
  int64_t n = shape_numel(shape);
  out.v.assign(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> idx(rank, 0);
  std::vector<double> args(in.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += idx[d] * strides[k][d];
      args[k] = in[k]->v[static_cast<size_t>(off)];
    }
    out.v[static_cast<size_t>(i)] = round_to_dtype(f(args.data()), out_dtype);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return Status::OK();
}

namespace {

bool elementwise_row_local(const NodeContext& ctx, const std::vector<bool>& batched) {
  size_t rank = ctx.outputs.empty() ? 0 : ctx.outputs[0].shape.size();
  for (size_t k = 0; k < batched.size(); ++k)
    if (batched[k] && ctx.inputs[k].shape.size() != rank) return false;
  return true;
}

Result<std::vector<ValueInfo>> infer_elementwise(const NodeContext& ctx) {
  Shape shape;
  for (const auto& in : ctx.inputs) {
    auto s = broadcast_shapes(shape, in.shape);
    if (!s.ok()) return ctx.error(s.status().message());
    shape = *s;
  }
  const std::string& op = ctx.node->op;
  if ((op == "And" || op == "Or" || op == "Not") )
    for (const auto& in : ctx.inputs)
      if (in.dtype != DType::kBool) return ctx.error("inputs must be bool, got " + std::string(dtype_name(in.dtype)));
  return std::vector<ValueInfo>{{elementwise_dtype(op, ctx.inputs, ctx.graph_dtype), shape}};
}

Result<RefKernel> ref_elementwise(const NodeContext& ctx) {
  DType dt = ctx.outputs[0].dtype;
  if (UnaryFn u = unary_function(ctx.node->op)) {
    return RefKernel([u, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) {
      return ref_broadcast(in, dt, [u](const double* a) { return u(a[0]); }, out[0]);
    });
  }
  BinaryFn b = binary_function(ctx.node->op);
  if (!b) return ctx.error("is not an elementwise op");
  return RefKernel([b, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) {
    return ref_broadcast(in, dt, [b](const double* a) { return b(a[0], a[1]); }, out[0]);
  });
}

// Where(cond, a, b)
Result<std::vector<ValueInfo>> infer_where(const NodeContext& ctx) {
  if (ctx.inputs[0].dtype != DType::kBool) return ctx.error("condition must be bool");
  Shape shape;
  for (const auto& in : ctx.inputs) {
    auto s = broadcast_shapes(shape, in.shape);
    if (!s.ok()) return ctx.error(s.status().message());
    shape = *s;
  }
  DType dt = ctx.inputs[1].dtype == DType::kBool && ctx.inputs[2].dtype == DType::kBool
                 ? DType::kBool
                 : elementwise_dtype("Add", {ctx.inputs[1], ctx.inputs[2]}, ctx.graph_dtype);
  return std::vector<ValueInfo>{{dt, shape}};
}
Result<RefKernel> ref_where(const NodeContext& ctx) {
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) {
    return ref_broadcast(in, dt, [](const double* a) { return a[0] != 0.0 ? a[1] : a[2]; }, out[0]);
  });
}

// Clip(x) with attrs min, max
Result<std::vector<ValueInfo>> infer_clip(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(double lo, ctx.attr_float("min", -std::numeric_limits<double>::infinity()));
  GTN_ASSIGN_OR_RETURN(double hi, ctx.attr_float("max", std::numeric_limits<double>::infinity()));
  if (lo > hi) return ctx.error("attr min must not exceed max");
  return std::vector<ValueInfo>{{elementwise_dtype("Add", ctx.inputs, ctx.graph_dtype), ctx.inputs[0].shape}};
}
Result<RefKernel> ref_clip(const NodeContext& ctx) {
  double lo = *ctx.attr_float("min", -std::numeric_limits<double>::infinity());
  double hi = *ctx.attr_float("max", std::numeric_limits<double>::infinity());
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([lo, hi, dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) {
    return ref_broadcast(in, dt, [lo, hi](const double* a) {
      double x = a[0];
      if (std::isnan(x)) return x;
      return x < lo ? lo : (x > hi ? hi : x);
    }, out[0]);
  });
}

// Cast(x) with attr to
Result<std::vector<ValueInfo>> infer_cast(const NodeContext& ctx) {
  GTN_ASSIGN_OR_RETURN(std::string to, ctx.attr_string("to"));
  DType dt;
  if (to == "float32") dt = DType::kFloat32;
  else if (to == "float64") dt = DType::kFloat64;
  else if (to == "int64" || to == "int32") dt = DType::kInt64;
  else if (to == "bool") dt = DType::kBool;
  else return ctx.error("attr 'to' must be float32, float64, int32, int64 or bool, got '" + to + "'");
  return std::vector<ValueInfo>{{dt, ctx.inputs[0].shape}};
}
Result<RefKernel> ref_cast(const NodeContext& ctx) {
  DType dt = ctx.outputs[0].dtype;
  return RefKernel([dt](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) {
    return ref_broadcast(in, dt, [](const double* a) { return a[0]; }, out[0]);
  });
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  for (const char* op : {"Neg", "Abs", "Sqrt", "Square", "Exp", "Log", "Log1p", "Reciprocal", "Sign", "Floor",
                         "Sigmoid", "Tanh", "Relu", "Softplus", "Not", "IsNaN", "Identity"})
    r.Add({op, 1, 1, 1, infer_elementwise, ref_elementwise, elementwise_row_local});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Greater", "GreaterEqual", "Less",
                         "LessEqual", "Equal", "And", "Or"})
    r.Add({op, 2, 2, 1, infer_elementwise, ref_elementwise, elementwise_row_local});
  r.Add({"Where", 3, 3, 1, infer_where, ref_where, elementwise_row_local});
  r.Add({"Clip", 1, 1, 1, infer_clip, ref_clip, elementwise_row_local});
  r.Add({"Cast", 1, 1, 1, infer_cast, ref_cast, elementwise_row_local});
}

}  // namespace gtn::ml
