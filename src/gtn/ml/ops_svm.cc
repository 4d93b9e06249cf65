// SvmProbability: libsvm's predict_proba for SVC(probability=True) in one op — Platt
// scaling of the one-vs-one decision values, then libsvm's pairwise coupling (Wu, Lin & Weng 2004, method 2), per row, in double precision, with
// libsvm's own stopping rule. One op instead of an unrolled graph of ~k * 1,500 nodes.
//
// Inputs: dec [N, P] (libsvm's decision values, P = k(k-1)/2 pairs in libsvm's order
// (0,1), (0,2), ..., (k-2,k-1)), prob_a [P], prob_b [P]. Attr n_classes = k >= 2.
// Output: [N, k] in the float dtype of dec. The reference kernel and the CPU kernel share
// svm_probability_row(), so both backends give the same bits.
#include <algorithm>
#include <cmath>

#include "gtn/ml/cpu_kernels.h"
#include "gtn/ml/op_registry.h"

namespace gtn::ml {
namespace {

constexpr double kMinProb = 1e-7;

// libsvm's sigmoid_predict: 1 / (1 + exp(A * dec + B)) without cancellation.
double sigmoid_predict(double dec, double a, double b) {
  double f = dec * a + b;
  if (f >= 0) return std::exp(-f) / (1.0 + std::exp(-f));
  return 1.0 / (1 + std::exp(f));
}

// Scratch of one row: the pairwise probabilities r [k*k] and Q [k*k], Qp [k].
struct Scratch {
  std::vector<double> r, q, qp;
  explicit Scratch(int64_t k) : r(k * k), q(k * k), qp(k) {}
};

// libsvm svm.cpp multiclass_probability(), line for line (p has k entries).
void multiclass_probability(int64_t k, const double* r, double* p, Scratch& s) {
  double* Q = s.q.data();
  double* Qp = s.qp.data();
  int64_t max_iter = std::max<int64_t>(100, k);
  double eps = 0.005 / static_cast<double>(k);
  for (int64_t t = 0; t < k; ++t) {
    p[t] = 1.0 / static_cast<double>(k);
    Q[t * k + t] = 0;
    for (int64_t j = 0; j < t; ++j) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (int64_t j = t + 1; j < k; ++j) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (int64_t iter = 0; iter < max_iter; ++iter) {
    double pQp = 0;
    for (int64_t t = 0; t < k; ++t) {
      Qp[t] = 0;
      for (int64_t j = 0; j < k; ++j) Qp[t] += Q[t * k + j] * p[j];
      pQp += p[t] * Qp[t];
    }
    double max_error = 0;
    for (int64_t t = 0; t < k; ++t) {
      double error = std::fabs(Qp[t] - pQp);
      if (error > max_error) max_error = error;
    }
    if (max_error < eps) break;
    for (int64_t t = 0; t < k; ++t) {
      double diff = (-Qp[t] + pQp) / Q[t * k + t];
      p[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (int64_t j = 0; j < k; ++j) {
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
        p[j] /= (1 + diff);
      }
    }
  }
}

// libsvm svm_predict_probability() after the decision values: dec [P] -> p [k].
void svm_probability_row(int64_t k, const double* dec, const double* a, const double* b, double* p,
                         Scratch& s) {
  double* r = s.r.data();
  int64_t pair = 0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j, ++pair) {
      double v = std::min(std::max(sigmoid_predict(dec[pair], a[pair], b[pair]), kMinProb), 1 - kMinProb);
      r[i * k + j] = v;
      r[j * k + i] = 1 - v;
    }
  // scikit-learn's libsvm (3.10-based) couples two classes too; newer libsvm would
  // return r[0][1], r[1][0] directly.
  multiclass_probability(k, r, p, s);
}

Result<std::vector<ValueInfo>> infer_svm_probability(const NodeContext& ctx) {
  const ValueInfo& dec = ctx.inputs[0];
  GTN_ASSIGN_OR_RETURN(int64_t k, ctx.attr_int("n_classes"));
  if (k < 2) return ctx.error("attr n_classes must be >= 2, got " + std::to_string(k));
  int64_t pairs = k * (k - 1) / 2;
  if (dec.shape.size() != 2 || dec.shape[1] != pairs)
    return ctx.error("dec must be [N, " + std::to_string(pairs) + "] (one column per pair of " +
                     std::to_string(k) + " classes), got " + shape_to_string(dec.shape));
  if (!is_float(dec.dtype)) return ctx.error("dec must be float, got " + std::string(dtype_name(dec.dtype)));
  for (int i = 1; i <= 2; ++i) {
    const ValueInfo& v = ctx.inputs[i];
    if (!ctx.constants[i]) return ctx.error(std::string(i == 1 ? "prob_a" : "prob_b") + " must be a constant");
    if (v.shape != Shape{pairs})
      return ctx.error(std::string(i == 1 ? "prob_a" : "prob_b") + " must be [" + std::to_string(pairs) +
                       "], got " + shape_to_string(v.shape));
  }
  return std::vector<ValueInfo>{{dec.dtype, Shape{dec.shape[0], k}}};
}

// The Platt coefficients as doubles, as stored (not rounded to the graph dtype).
std::vector<double> constant_doubles(const NodeContext& ctx, int i) {
  RTensor t = to_rtensor(*ctx.constants[i]);
  return t.v;
}

Result<RefKernel> ref_svm_probability(const NodeContext& ctx) {
  int64_t k = *ctx.attr_int("n_classes");
  DType dt = ctx.outputs[0].dtype;
  std::vector<double> a = constant_doubles(ctx, 1), b = constant_doubles(ctx, 2);
  return RefKernel([=](const std::vector<const RTensor*>& in, std::vector<RTensor>& out) -> Status {
    const RTensor& dec = *in[0];
    int64_t n = dec.shape[0], pairs = dec.shape[1];
    RTensor r{dt, Shape{n, k}, std::vector<double>(static_cast<size_t>(n * k))};
    Scratch s(k);
    for (int64_t i = 0; i < n; ++i) {
      double* p = r.v.data() + i * k;
      svm_probability_row(k, dec.v.data() + i * pairs, a.data(), b.data(), p, s);
      for (int64_t j = 0; j < k; ++j) p[j] = round_to_dtype(p[j], dt);
    }
    out[0] = std::move(r);
    return Status::OK();
  });
}

template <typename T>
CpuKernel make_cpu_svm_probability_t(DType dt, int64_t k, std::vector<double> a, std::vector<double> b) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& dec = *in[0];
    int64_t n = dec.shape()[0], pairs = dec.shape()[1];
    out[0] = Array::Zeros(dt, Shape{n, k});
    T* o = static_cast<T*>(out[0].mutable_data());
    const T* d = dec.data_as<T>();
    Scratch s(k);
    std::vector<double> row(static_cast<size_t>(pairs)), p(static_cast<size_t>(k));
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < pairs; ++j) row[j] = static_cast<double>(d[i * pairs + j]);
      svm_probability_row(k, row.data(), a.data(), b.data(), p.data(), s);
      for (int64_t j = 0; j < k; ++j) o[i * k + j] = static_cast<T>(p[j]);
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_cpu_svm_probability(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  int64_t k = *ctx.attr_int("n_classes");
  DType dt = ctx.outputs[0].dtype;
  std::vector<double> a = constant_doubles(ctx, 1), b = constant_doubles(ctx, 2);
  if (dt == DType::kFloat32) return make_cpu_svm_probability_t<float>(dt, k, std::move(a), std::move(b));
  if (dt == DType::kFloat64) return make_cpu_svm_probability_t<double>(dt, k, std::move(a), std::move(b));
  return Status::Unsupported("non-float SvmProbability");
}

}  // namespace

void register_svm_ops(OpRegistry& r) {
  r.Add({"SvmProbability", 3, 3, 1, infer_svm_probability, ref_svm_probability, nullptr});
}

void register_cpu_svm_kernels(CpuKernelRegistry& r) { r.Add("SvmProbability", make_cpu_svm_probability); }

}  // namespace gtn::ml
