// CPU kernels for elementwise ops (and FusedElementwise) on float32/float64 values.
// Other dtypes (int64 arithmetic, bool logic) run on the reference kernels.
#include <cmath>
#include <cstring>
#include <limits>

#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/fused_program.h"
#include "gtn/ml/vec_math.h"

namespace gtn::ml {
namespace {

// How one input maps onto the output: flat (same numel: offset i), scalar (offset 0),
// or general (per-dimension strides, 0 on broadcast dimensions).
struct Broadcast {
  Shape out;
  std::vector<std::vector<int64_t>> strides;  // per input, aligned to out
  bool flat = true;                            // every input is full-size or a scalar
  std::vector<bool> scalar;
};

Result<Broadcast> plan_broadcast(const std::vector<const Array*>& in) {
  Broadcast b;
  for (const Array* a : in) {
    GTN_ASSIGN_OR_RETURN(b.out, broadcast_shapes(b.out, a->shape()));
  }
  int64_t n = shape_numel(b.out);
  size_t rank = b.out.size();
  for (const Array* a : in) {
    bool sc = a->numel() == 1;
    b.scalar.push_back(sc);
    if (!sc && a->numel() != n) b.flat = false;
    if (!sc && a->numel() == n && a->shape() != b.out) b.flat = false;
    std::vector<int64_t> s(rank, 0);
    int64_t stride = 1;
    const Shape& as = a->shape();
    for (size_t d = 0; d < as.size(); ++d) {
      size_t od = rank - 1 - d, sd = as.size() - 1 - d;
      s[od] = as[sd] == 1 ? 0 : stride;
      stride *= as[sd];
    }
    b.strides.push_back(std::move(s));
  }
  return b;
}

// Calls body(offsets of each input, output offset, count, inner stride of each input)
// over runs of the innermost dimension.
template <typename Body>
void for_each_run(const Broadcast& b, size_t n_in, Body body) {
  int64_t n = shape_numel(b.out);
  std::vector<int64_t> off(n_in, 0), inner(n_in, 1);
  if (b.flat || b.out.empty()) {
    for (size_t k = 0; k < n_in; ++k) inner[k] = b.scalar[k] ? 0 : 1;
    body(off.data(), int64_t{0}, n, inner.data());
    return;
  }
  size_t rank = b.out.size();
  int64_t len = b.out[rank - 1];
  for (size_t k = 0; k < n_in; ++k) inner[k] = b.strides[k][rank - 1];
  std::vector<int64_t> idx(rank - 1, 0);
  for (int64_t o = 0; o < n; o += len) {
    for (size_t k = 0; k < n_in; ++k) {
      off[k] = 0;
      for (size_t d = 0; d + 1 < rank; ++d) off[k] += idx[d] * b.strides[k][d];
    }
    body(off.data(), o, len, inner.data());
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < b.out[d]) break;
      idx[d] = 0;
    }
  }
}

// exp and sigmoid over arrays: vec_math.h's loops, compiled for AVX-512 and AVX2+FMA as
// well as the baseline and picked at load time (target_clones; the same FMAs per element
// in every wide clone).
#if defined(__x86_64__)
#define GTN_MATH_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GTN_MATH_CLONES
#endif
GTN_MATH_CLONES void exp_f64(const double* a, double* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = vexp(a[i]);
}
GTN_MATH_CLONES void exp_f32(const float* a, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = vexp(a[i]);
}
GTN_MATH_CLONES void sigmoid_f64(const double* a, double* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = vsigmoid(a[i]);
}
GTN_MATH_CLONES void sigmoid_f32(const float* a, float* d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = vsigmoid(a[i]);
}
void exp_array(const double* a, double* d, int64_t n) { exp_f64(a, d, n); }
void exp_array(const float* a, float* d, int64_t n) { exp_f32(a, d, n); }
void sigmoid_array(const double* a, double* d, int64_t n) { sigmoid_f64(a, d, n); }
void sigmoid_array(const float* a, float* d, int64_t n) { sigmoid_f32(a, d, n); }

// A unary op applied by an array function (same shape in and out).
template <typename T>
CpuKernel make_array_op(DType dt, void (*fn)(const T*, T*, int64_t)) {
  return [dt, fn](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    out[0] = Array::Empty(dt, in[0]->shape());
    fn(in[0]->data_as<T>(), static_cast<T*>(out[0].mutable_data()), in[0]->numel());
    return Status::OK();
  };
}

// Applies a scalar function of n_in arguments over broadcast inputs of type In into Out.
template <typename In, typename Out, int N, typename F>
CpuKernel make_map(DType out_dtype, F f) {
  return [out_dtype, f](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    GTN_ASSIGN_OR_RETURN(Broadcast b, plan_broadcast(in));
    out[0] = Array::Empty(out_dtype, b.out);  // every run below writes its elements
    Out* o = static_cast<Out*>(out[0].mutable_data());
    const In* p[3] = {};
    for (int k = 0; k < N; ++k) p[k] = in[k]->template data_as<In>();
    for_each_run(b, N, [&](const int64_t* off, int64_t oo, int64_t len, const int64_t* st) {
      Out* dst = o + oo;
      if constexpr (N == 1) {
        const In* a = p[0] + off[0];
        if (st[0] == 1)
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[i]);
        else
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[0]);
      } else if constexpr (N == 2) {
        const In* a = p[0] + off[0];
        const In* c = p[1] + off[1];
        if (st[0] == 1 && st[1] == 1)
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[i], c[i]);
        else if (st[0] == 1)
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[i], c[0]);
        else if (st[1] == 1)
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[0], c[i]);
        else
          for (int64_t i = 0; i < len; ++i) dst[i] = f(a[0], c[0]);
      }
    });
    return Status::OK();
  };
}

template <typename T>
Result<CpuKernel> make_float_op(const std::string& op, DType dt, const NodeContext& ctx) {
  using L = std::numeric_limits<T>;
  if (op == "Identity") return make_map<T, T, 1>(dt, [](T x) { return x; });
  if (op == "Neg") return make_map<T, T, 1>(dt, [](T x) { return -x; });
  if (op == "Abs") return make_map<T, T, 1>(dt, [](T x) { return std::fabs(x); });
  if (op == "Sqrt") return make_map<T, T, 1>(dt, [](T x) { return std::sqrt(x); });
  if (op == "Square") return make_map<T, T, 1>(dt, [](T x) { return x * x; });
  if (op == "Exp") return make_array_op<T>(dt, exp_array);
  if (op == "Log") return make_map<T, T, 1>(dt, [](T x) { return std::log(x); });
  if (op == "Log1p") return make_map<T, T, 1>(dt, [](T x) { return std::log1p(x); });
  if (op == "Reciprocal") return make_map<T, T, 1>(dt, [](T x) { return T(1) / x; });
  if (op == "Sign") return make_map<T, T, 1>(dt, [](T x) { return x != x ? x : T((x > 0) - (x < 0)); });
  if (op == "Floor") return make_map<T, T, 1>(dt, [](T x) { return std::floor(x); });
  if (op == "Sigmoid") return make_array_op<T>(dt, sigmoid_array);
  if (op == "Tanh") return make_map<T, T, 1>(dt, [](T x) { return std::tanh(x); });
  if (op == "Relu") return make_map<T, T, 1>(dt, [](T x) { return x != x ? x : (x > 0 ? x : T(0)); });
  if (op == "Softplus")
    return make_map<T, T, 1>(dt, [](T x) { return std::log1p(std::exp(-std::fabs(x))) + (x > 0 ? x : T(0)); });
  if (op == "Add") return make_map<T, T, 2>(dt, [](T a, T b) { return a + b; });
  if (op == "Sub") return make_map<T, T, 2>(dt, [](T a, T b) { return a - b; });
  if (op == "Mul") return make_map<T, T, 2>(dt, [](T a, T b) { return a * b; });
  if (op == "Div") return make_map<T, T, 2>(dt, [](T a, T b) { return a / b; });
  if (op == "Pow") return make_map<T, T, 2>(dt, [](T a, T b) { return std::pow(a, b); });
  if (op == "Max") return make_map<T, T, 2>(dt, [](T a, T b) { return (a != a || b != b) ? L::quiet_NaN() : (a > b ? a : b); });
  if (op == "Min") return make_map<T, T, 2>(dt, [](T a, T b) { return (a != a || b != b) ? L::quiet_NaN() : (a < b ? a : b); });
  if (op == "Clip") {
    T lo = static_cast<T>(*ctx.attr_float("min", -L::infinity()));
    T hi = static_cast<T>(*ctx.attr_float("max", L::infinity()));
    return make_map<T, T, 1>(dt, [lo, hi](T x) { return x != x ? x : (x < lo ? lo : (x > hi ? hi : x)); });
  }
  return Status::Unsupported(op);
}

template <typename T>
Result<CpuKernel> make_compare_op(const std::string& op) {
  const DType b = DType::kBool;
  if (op == "Greater") return make_map<T, uint8_t, 2>(b, [](T x, T y) -> uint8_t { return x > y; });
  if (op == "GreaterEqual") return make_map<T, uint8_t, 2>(b, [](T x, T y) -> uint8_t { return x >= y; });
  if (op == "Less") return make_map<T, uint8_t, 2>(b, [](T x, T y) -> uint8_t { return x < y; });
  if (op == "LessEqual") return make_map<T, uint8_t, 2>(b, [](T x, T y) -> uint8_t { return x <= y; });
  if (op == "Equal") return make_map<T, uint8_t, 2>(b, [](T x, T y) -> uint8_t { return x == y; });
  if (op == "IsNaN") return make_map<T, uint8_t, 1>(b, [](T x) -> uint8_t { return x != x; });
  return Status::Unsupported(op);
}

Result<CpuKernel> make_elementwise(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  const std::string& op = ctx.node->op;
  if (op == "And") return make_map<uint8_t, uint8_t, 2>(DType::kBool, [](uint8_t a, uint8_t b) -> uint8_t { return a && b; });
  if (op == "Or") return make_map<uint8_t, uint8_t, 2>(DType::kBool, [](uint8_t a, uint8_t b) -> uint8_t { return a || b; });
  if (op == "Not") return make_map<uint8_t, uint8_t, 1>(DType::kBool, [](uint8_t a) -> uint8_t { return !a; });
  DType dt = ctx.outputs[0].dtype;
  DType in_dt = ctx.inputs[0].dtype;
  for (const auto& in : ctx.inputs)
    if (in.dtype != in_dt) return Status::Unsupported("mixed input dtypes");
  if (in_dt != DType::kFloat32 && in_dt != DType::kFloat64) return Status::Unsupported("non-float inputs");
  if (dt == DType::kBool) return in_dt == DType::kFloat32 ? make_compare_op<float>(op) : make_compare_op<double>(op);
  if (dt != in_dt) return Status::Unsupported("dtype change");
  return dt == DType::kFloat32 ? make_float_op<float>(op, dt, ctx) : make_float_op<double>(op, dt, ctx);
}

// Where(cond bool, a T, b T)
template <typename T>
CpuKernel make_where_t(DType dt) {
  return [dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    GTN_ASSIGN_OR_RETURN(Broadcast b, plan_broadcast(in));
    out[0] = Array::Empty(dt, b.out);
    T* o = static_cast<T*>(out[0].mutable_data());
    const uint8_t* c = in[0]->data_as<uint8_t>();
    const T* x = in[1]->data_as<T>();
    const T* y = in[2]->data_as<T>();
    for_each_run(b, 3, [&](const int64_t* off, int64_t oo, int64_t len, const int64_t* st) {
      for (int64_t i = 0; i < len; ++i)
        o[oo + i] = c[off[0] + i * st[0]] ? x[off[1] + i * st[1]] : y[off[2] + i * st[2]];
    });
    return Status::OK();
  };
}

Result<CpuKernel> make_where(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.outputs[0].dtype;
  if (ctx.inputs[1].dtype != dt || ctx.inputs[2].dtype != dt) return Status::Unsupported("mixed dtypes");
  if (dt == DType::kFloat32) return make_where_t<float>(dt);
  if (dt == DType::kFloat64) return make_where_t<double>(dt);
  return Status::Unsupported("non-float Where");
}

// Cast between bool, int64, float32 and float64 (float -> int truncates; NaN -> 0).
template <typename In, typename Out>
CpuKernel make_cast_t(DType dt) {
  return [dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& x = *in[0];
    out[0] = Array::Zeros(dt, x.shape());
    const In* src = x.data_as<In>();
    Out* dst = static_cast<Out*>(out[0].mutable_data());
    int64_t n = x.numel();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<Out, uint8_t>) {
        dst[i] = src[i] != In(0);
      } else if constexpr (std::is_same_v<Out, int64_t> && std::is_floating_point_v<In>) {
        In v = src[i];
        dst[i] = v != v ? 0 : (v >= In(9.2e18) ? int64_t(9.2e18) : (v <= In(-9.2e18) ? int64_t(-9.2e18) : int64_t(v)));
      } else {
        dst[i] = static_cast<Out>(src[i]);
      }
    }
    return Status::OK();
  };
}

template <typename In>
Result<CpuKernel> make_cast_from(DType out) {
  switch (out) {
    case DType::kBool: return make_cast_t<In, uint8_t>(out);
    case DType::kInt64: return make_cast_t<In, int64_t>(out);
    case DType::kFloat32: return make_cast_t<In, float>(out);
    case DType::kFloat64: return make_cast_t<In, double>(out);
    default: return Status::Unsupported("cast target");
  }
}

Result<CpuKernel> make_cast(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType out = ctx.outputs[0].dtype;
  switch (ctx.inputs[0].dtype) {
    case DType::kBool: return make_cast_from<uint8_t>(out);
    case DType::kInt64: return make_cast_from<int64_t>(out);
    case DType::kFloat32: return make_cast_from<float>(out);
    case DType::kFloat64: return make_cast_from<double>(out);
    default: return Status::Unsupported("cast source");
  }
}

// FusedElementwise: the program runs over blocks of elements; each instruction is one
// tight loop over the block, so intermediates stay in L1. Ops are decoded once per kernel.
enum class FOp { kAdd, kSub, kMul, kDiv, kNeg, kSquare, kExp, kSigmoid, kWhere, kGeneric };

FOp decode_fused_op(const std::string& op) {
  if (op == "Add") return FOp::kAdd;
  if (op == "Sub") return FOp::kSub;
  if (op == "Mul") return FOp::kMul;
  if (op == "Div") return FOp::kDiv;
  if (op == "Neg") return FOp::kNeg;
  if (op == "Square") return FOp::kSquare;
  if (op == "Exp") return FOp::kExp;
  if (op == "Sigmoid") return FOp::kSigmoid;
  if (op == "Where") return FOp::kWhere;
  return FOp::kGeneric;
}

// Runs the program on m elements. reg[k] points at input k's m values; instruction i
// writes register n_in + i (scratch + i * stride), the last one straight into dst.
template <typename T>
void run_fused_block(const FusedProgram& p, const std::vector<FOp>& ops, const T** reg, size_t n_in, T* scratch,
                     int64_t stride, int64_t m, T* dst, double* file) {
  for (size_t i = 0; i < p.instrs.size(); ++i) {
    const FusedInstr& ins = p.instrs[i];
    T* d = i + 1 == p.instrs.size() ? dst : scratch + static_cast<int64_t>(i) * stride;
    reg[n_in + i] = d;
    const T* a = reg[ins.args.size() > 0 ? ins.args[0] : 0];
    const T* c = reg[ins.args.size() > 1 ? ins.args[1] : 0];
    const T* e = reg[ins.args.size() > 2 ? ins.args[2] : 0];
    switch (ops[i]) {
      case FOp::kAdd: for (int64_t j = 0; j < m; ++j) d[j] = a[j] + c[j]; break;
      case FOp::kSub: for (int64_t j = 0; j < m; ++j) d[j] = a[j] - c[j]; break;
      case FOp::kMul: for (int64_t j = 0; j < m; ++j) d[j] = a[j] * c[j]; break;
      case FOp::kDiv: for (int64_t j = 0; j < m; ++j) d[j] = a[j] / c[j]; break;
      case FOp::kNeg: for (int64_t j = 0; j < m; ++j) d[j] = -a[j]; break;
      case FOp::kSquare: for (int64_t j = 0; j < m; ++j) d[j] = a[j] * a[j]; break;
      case FOp::kExp: exp_array(a, d, m); break;
      case FOp::kSigmoid: sigmoid_array(a, d, m); break;
      case FOp::kWhere: for (int64_t j = 0; j < m; ++j) d[j] = a[j] != T(0) ? c[j] : e[j]; break;
      case FOp::kGeneric:
        for (int64_t j = 0; j < m; ++j) {
          // The scalar definition, reading the registers it needs.
          for (int q : ins.args) file[q] = static_cast<double>(reg[q][j]);
          d[j] = static_cast<T>(ins.eval(file));
        }
        break;
    }
  }
}

template <typename T>
Result<CpuKernel> make_fused_t(std::shared_ptr<FusedProgram> p, DType dt) {
  for (const auto& ins : p->instrs)
    if (ins.dtype != dt && ins.dtype != DType::kBool) return Status::Unsupported("mixed dtypes in program");
  if (p->instrs.empty()) return Status::Unsupported("empty program");
  std::vector<FOp> ops;
  for (const auto& ins : p->instrs) ops.push_back(decode_fused_op(ins.op));
  return CpuKernel([p, ops, dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    GTN_ASSIGN_OR_RETURN(Broadcast b, plan_broadcast(in));
    for (const Array* a : in)
      if (a->dtype() != dt && a->dtype() != DType::kBool) return Status::Internal("FusedElementwise: input dtype");
    out[0] = Array::Empty(dt, b.out);  // both paths below write every element
    T* o = static_cast<T*>(out[0].mutable_data());
    const size_t n_in = in.size();
    const size_t n_regs = n_in + p->instrs.size();
    const int64_t n = shape_numel(b.out);
    std::vector<const T*> reg(n_regs, nullptr);
    std::vector<double> file(n_regs);
    // Rows path: the output as [rows, C], each input the full output (read in place), one
    // value per column ([C], [1, C]: tiled once into its register) or a scalar. Blocks of
    // whole rows.
    const int64_t C = b.out.empty() ? 1 : std::max<int64_t>(b.out.back(), 1);
    bool rows_path = n > 0;
    for (const Array* a : in) {
      bool full = a->numel() == n, scalar = a->numel() == 1,
           column = a->numel() == C && !a->shape().empty() && a->shape().back() == C;
      rows_path &= a->dtype() == dt && (full || scalar || column);
    }
    if (rows_path) {
      const int64_t rows = n / C, per = std::max<int64_t>(1, 2048 / C), B = per * C;
      std::vector<T> scratch(static_cast<size_t>(n_regs * B));
      std::vector<bool> moving(n_in, false);
      for (size_t k = 0; k < n_in; ++k) {
        const Array* a = in[k];
        T* r = scratch.data() + k * B;
        if (a->numel() == n && n != 1) {  // full: read in place
          moving[k] = true;
        } else if (a->numel() == 1) {  // scalar
          std::fill(r, r + B, a->data_as<T>()[0]);
          reg[k] = r;
        } else {  // one value per column
          for (int64_t i = 0; i < per; ++i) std::memcpy(r + i * C, a->data_as<T>(), C * sizeof(T));
          reg[k] = r;
        }
      }
      T* tmp = scratch.data() + n_in * B;
      for (int64_t r0 = 0; r0 < rows; r0 += per) {
        int64_t m = std::min(per, rows - r0) * C;
        for (size_t k = 0; k < n_in; ++k)
          if (moving[k]) reg[k] = in[k]->data_as<T>() + r0 * C;
        run_fused_block(*p, ops, reg.data(), n_in, tmp, B, m, o + r0 * C, file.data());
      }
      return Status::OK();
    }
    constexpr int64_t kBlock = 256;
    std::vector<T> scratch(n_regs * kBlock);
    for_each_run(b, n_in, [&](const int64_t* off, int64_t oo, int64_t len, const int64_t* st) {
      for (int64_t s = 0; s < len; s += kBlock) {
        int64_t m = std::min(kBlock, len - s);
        for (size_t k = 0; k < n_in; ++k) {
          T* r = scratch.data() + k * kBlock;
          if (in[k]->dtype() == DType::kBool) {
            const uint8_t* src = in[k]->data_as<uint8_t>() + off[k] + s * st[k];
            for (int64_t i = 0; i < m; ++i) r[i] = src[i * st[k]];
          } else {
            const T* src = in[k]->data_as<T>() + off[k] + s * st[k];
            if (st[k] == 1) std::memcpy(r, src, m * sizeof(T));
            else std::fill(r, r + m, src[0]);
          }
          reg[k] = r;
        }
        run_fused_block(*p, ops, reg.data(), n_in, scratch.data() + n_in * kBlock, kBlock, m, o + oo + s, file.data());
      }
    });
    return Status::OK();
  });
}

Result<CpuKernel> make_fused(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  GTN_ASSIGN_OR_RETURN(FusedProgram prog, parse_fused_program(ctx));
  auto p = std::make_shared<FusedProgram>(std::move(prog));
  DType dt = ctx.outputs[0].dtype;
  if (dt == DType::kFloat32) return make_fused_t<float>(p, dt);
  if (dt == DType::kFloat64) return make_fused_t<double>(p, dt);
  return Status::Unsupported("non-float FusedElementwise");
}

}  // namespace

void register_cpu_elementwise_kernels(CpuKernelRegistry& r) {
  for (const char* op : {"Identity", "Neg", "Abs", "Sqrt", "Square", "Exp", "Log", "Log1p", "Reciprocal", "Sign",
                         "Floor", "Sigmoid", "Tanh", "Relu", "Softplus", "Add", "Sub", "Mul", "Div", "Pow", "Max",
                         "Min", "Clip", "Greater", "GreaterEqual", "Less", "LessEqual", "Equal", "IsNaN", "And", "Or",
                         "Not"})
    r.Add(op, make_elementwise);
  r.Add("Where", make_where);
  r.Add("Cast", make_cast);
  r.Add("FusedElementwise", make_fused);
}

}  // namespace gtn::ml
