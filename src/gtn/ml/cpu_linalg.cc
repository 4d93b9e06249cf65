// CPU kernels for MatMul, Gemm and SquaredDistance on OpenBLAS (sgemm/dgemm).
#include "gtn/ml/blas.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's masked-load intrinsics
#endif
#include <immintrin.h>
#endif

#include "gtn/ml/cpu_kernels.h"

namespace gtn::ml {
namespace {

#if defined(__x86_64__)
// Narrow float32 GEMMs (2-64 output columns: MLP layers, PCA, multi-class linear models):
// C = alpha * A B + beta * C with B's rows in registers' reach, 4 rows of A at a time
// into up to 16 AVX-512 accumulators, no packing. OpenBLAS's AVX2 kernels take about
// twice as long on these shapes and pay a packing pass per call.
bool have_avx512f() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return ok;
}

template <int MV, int R>
__attribute__((target("avx512f"), always_inline)) inline void narrow_rows(const float* a, const float* b, float* c, int m,
                                                                          int k, float alpha, float beta, __mmask16 last) {
  __m512 acc[R][MV];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < MV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int p = 0; p < k; ++p) {
    __m512 bv[MV];
    for (int v = 0; v < MV; ++v)
      bv[v] = v + 1 == MV ? _mm512_maskz_loadu_ps(last, b + p * m + 16 * v) : _mm512_loadu_ps(b + p * m + 16 * v);
    for (int r = 0; r < R; ++r) {
      __m512 av = _mm512_set1_ps(a[r * k + p]);
      for (int v = 0; v < MV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < MV; ++v) {
      __mmask16 mk = v + 1 == MV ? last : __mmask16(0xFFFF);
      float* dst = c + r * m + 16 * v;
      __m512 res = _mm512_mul_ps(va, acc[r][v]);
      if (beta != 0.0f) res = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, dst), res);
      _mm512_mask_storeu_ps(dst, mk, res);
    }
}

template <int MV>
__attribute__((target("avx512f"))) void narrow_sgemm(int n, int m, int k, float alpha, const float* a, const float* b,
                                                     float beta, float* c) {
  __mmask16 last = m % 16 ? static_cast<__mmask16>((1u << (m % 16)) - 1) : static_cast<__mmask16>(0xFFFF);
  int i = 0;
  for (; i + 4 <= n; i += 4) narrow_rows<MV, 4>(a + i * k, b, c + i * m, m, k, alpha, beta, last);
  for (; i < n; ++i) narrow_rows<MV, 1>(a + i * k, b, c + i * m, m, k, alpha, beta, last);
}

bool narrow_gemm(int n, int m, int k, float alpha, const float* a, const float* b, float beta, float* c) {
  if (m < 2 || m > 64 || k > 4096 || !have_avx512f()) return false;
  switch ((m + 15) / 16) {
    case 1: narrow_sgemm<1>(n, m, k, alpha, a, b, beta, c); break;
    case 2: narrow_sgemm<2>(n, m, k, alpha, a, b, beta, c); break;
    case 3: narrow_sgemm<3>(n, m, k, alpha, a, b, beta, c); break;
    default: narrow_sgemm<4>(n, m, k, alpha, a, b, beta, c); break;
  }
  return true;
}
#else
bool narrow_gemm(int, int, int, float, const float*, const float*, float, float*) { return false; }
#endif

// One output column (linear models, a binary classifier's logit): GEMV, which skips the
// packing GEMM does and costs a few microseconds less per call on small batches.
void gemm(bool tb, int m, int n, int k, float alpha, const float* a, const float* b, float beta, float* c) {
  if (!tb && narrow_gemm(m, n, k, alpha, a, b, beta, c)) return;
  if (n == 1) return cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, alpha, a, k, b, 1, beta, c, 1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, k, b, tb ? k : n, beta, c, n);
}
void gemm(bool tb, int m, int n, int k, double alpha, const double* a, const double* b, double beta, double* c) {
  if (n == 1) return cblas_dgemv(CblasRowMajor, CblasNoTrans, m, k, alpha, a, k, b, 1, beta, c, 1);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, k, b, tb ? k : n, beta, c, n);
}

// out[N,M] = alpha * a @ b (+ beta * c broadcast)
template <typename T>
CpuKernel make_gemm_t(DType dt, bool tb, double alpha, double beta, bool has_c) {
  return [=](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& a = *in[0];
    const Array& b = *in[1];
    int64_t n = a.shape()[0], k = a.shape()[1];
    int64_t bk = tb ? b.shape()[1] : b.shape()[0], m = tb ? b.shape()[0] : b.shape()[1];
    if (bk != k) return Status::InvalidArgument("inner dimensions differ at run time");
    // Filled from c, or zeros (a BLAS given beta 0 may still scale C by it: NaN * 0).
    out[0] = Array::Empty(dt, {n, m});
    T* o = static_cast<T*>(out[0].mutable_data());
    T b_coef = T(0);
    if (!has_c) std::fill(o, o + n * m, T(0));
    if (has_c) {
      const Array& c = *in[2];
      const T* cv = c.data_as<T>();
      if (c.numel() == 1) {
        std::fill(o, o + n * m, cv[0]);
      } else if (c.numel() == m && c.shape().back() == m) {
        for (int64_t i = 0; i < n; ++i) std::memcpy(o + i * m, cv, m * sizeof(T));
      } else if (c.numel() == n * m) {
        std::memcpy(o, cv, n * m * sizeof(T));
      } else if (c.numel() == n) {
        for (int64_t i = 0; i < n; ++i) std::fill(o + i * m, o + (i + 1) * m, cv[i]);
      } else {
        return Status::InvalidArgument("Gemm: c of shape " + shape_to_string(c.shape()) + " does not broadcast");
      }
      b_coef = static_cast<T>(beta);
    }
    if (n > 0 && m > 0) {
      if (k == 0) {
        for (int64_t i = 0; i < n * m; ++i) o[i] *= b_coef;
      } else {
        gemm(tb, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), static_cast<T>(alpha),
             a.data_as<T>(), b.data_as<T>(), b_coef, o);
      }
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_matmul(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.outputs[0].dtype;
  for (const auto& in : ctx.inputs)
    if (in.dtype != dt) return Status::Unsupported("mixed dtypes");
  bool gemm_op = ctx.node->op == "Gemm";
  bool tb = *ctx.attr_bool("transpose_b", false);
  double alpha = gemm_op ? *ctx.attr_float("alpha", 1.0) : 1.0;
  double beta = gemm_op ? *ctx.attr_float("beta", 1.0) : 0.0;
  bool has_c = gemm_op && ctx.inputs.size() == 3;
  if (dt == DType::kFloat32) return make_gemm_t<float>(dt, tb, alpha, beta, has_c);
  if (dt == DType::kFloat64) return make_gemm_t<double>(dt, tb, alpha, beta, has_c);
  return Status::Unsupported("non-float MatMul");
}

// ||a_i||^2 + ||b_j||^2 - 2 a_i . b_j, clamped at 0.
template <typename T>
CpuKernel make_sqdist_t(DType dt) {
  return [dt](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& a = *in[0];
    const Array& b = *in[1];
    int64_t n = a.shape()[0], f = a.shape()[1], m = b.shape()[0];
    if (b.shape()[1] != f) return Status::InvalidArgument("feature counts differ at run time");
    out[0] = Array::Zeros(dt, {n, m});
    T* o = static_cast<T*>(out[0].mutable_data());
    if (n == 0 || m == 0) return Status::OK();
    const T* av = a.data_as<T>();
    const T* bv = b.data_as<T>();
    std::vector<T> bn(m);
    for (int64_t j = 0; j < m; ++j) {
      T s = 0;
      for (int64_t p = 0; p < f; ++p) s += bv[j * f + p] * bv[j * f + p];
      bn[j] = s;
    }
    if (f > 0) gemm(true, static_cast<int>(n), static_cast<int>(m), static_cast<int>(f), T(-2), av, bv, T(0), o);
    for (int64_t i = 0; i < n; ++i) {
      T s = 0;
      for (int64_t p = 0; p < f; ++p) s += av[i * f + p] * av[i * f + p];
      T* row = o + i * m;
      for (int64_t j = 0; j < m; ++j) {
        T d = row[j] + s + bn[j];
        row[j] = d < T(0) ? T(0) : d;  // NaN stays NaN
      }
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_sqdist(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.outputs[0].dtype;
  for (const auto& in : ctx.inputs)
    if (in.dtype != dt) return Status::Unsupported("mixed dtypes");
  if (dt == DType::kFloat32) return make_sqdist_t<float>(dt);
  if (dt == DType::kFloat64) return make_sqdist_t<double>(dt);
  return Status::Unsupported("non-float SquaredDistance");
}

}  // namespace

void register_cpu_linalg_kernels(CpuKernelRegistry& r) {
  r.Add("MatMul", make_matmul);
  r.Add("Gemm", make_matmul);
  r.Add("SquaredDistance", make_sqdist);
}

}  // namespace gtn::ml
