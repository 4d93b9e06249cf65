// CPU kernel of KNearest (ops_knn.cc): query rows in chunks of kRowChunk, reference rows in
// blocks of kRefBlock. Per (chunk, block): one GEMM for -2 x.r into a buffer that stays in
// L2, the squared distances completed in place, then each row's running k best (a sorted
// array, insertion from the back) takes the block's candidates that beat its current worst.
// Each row keeps kExtra more candidates than asked; once all blocks are seen, their exact
// distances (sum of squared differences in double, as the reference computes them) pick and
// order the k returned, so the GEMM identity's rounding (|x|^2 + |r|^2 - 2 x.r cancels)
// never reorders near-ties. Memory is O(kRowChunk * (kRefBlock + k)), whatever N and M.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gtn/ml/blas.h"
#include "gtn/ml/cpu_kernels.h"

namespace gtn::ml {
namespace {

constexpr int64_t kRowChunk = 64;
constexpr int64_t kRefBlock = 1024;
constexpr int64_t kExtra = 8;

#if defined(__x86_64__)
#define GTN_MATH_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GTN_MATH_CLONES
#endif

void gemm_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              -2.0f, a, static_cast<int>(k), b, static_cast<int>(k), 0.0f, c, static_cast<int>(n));
}
void gemm_nt(int64_t m, int64_t n, int64_t k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
              -2.0, a, static_cast<int>(k), b, static_cast<int>(k), 0.0, c, static_cast<int>(n));
}

// buf holds -2 x.r; becomes max(|x|^2 + |r|^2 - 2 x.r, 0) (NaN stays NaN).
template <typename T>
inline void finish_rows_impl(T* buf, int64_t rows, int64_t cols, const T* xn, const T* rn) {
  for (int64_t i = 0; i < rows; ++i) {
    T* b = buf + i * cols;
    T x2 = xn[i];
    for (int64_t j = 0; j < cols; ++j) {
      T d = b[j] + x2 + rn[j];
      b[j] = d < T(0) ? T(0) : d;
    }
  }
}
GTN_MATH_CLONES void finish_rows(float* buf, int64_t rows, int64_t cols, const float* xn, const float* rn) {
  finish_rows_impl(buf, rows, cols, xn, rn);
}
GTN_MATH_CLONES void finish_rows(double* buf, int64_t rows, int64_t cols, const double* xn, const double* rn) {
  finish_rows_impl(buf, rows, cols, xn, rn);
}

template <typename T>
void row_norms(const T* x, int64_t rows, int64_t f, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    T s = 0;
    for (int64_t q = 0; q < f; ++q) s += x[i * f + q] * x[i * f + q];
    out[i] = s;
  }
}

// One row's k best so far, sorted (distance ascending, NaN last, index order on ties).
// Candidates come in increasing index, so a candidate beats an entry only if strictly
// smaller, or a number against a NaN.
template <typename T>
struct Best {
  T* d;
  int64_t* ix;
  int64_t k;
  int64_t count = 0;

  bool beats(T v, int64_t slot) const {
    T w = d[slot];
    return w != w ? v == v : v < w;
  }
  void offer(T v, int64_t j) {
    if (count == k && !beats(v, k - 1)) return;
    int64_t pos = count < k ? count++ : k - 1;
    while (pos > 0 && beats(v, pos - 1)) {
      d[pos] = d[pos - 1];
      ix[pos] = ix[pos - 1];
      --pos;
    }
    d[pos] = v;
    ix[pos] = j;
  }
};

template <typename T>
CpuKernel make_t(DType dt, int64_t k) {
  return [dt, k](const std::vector<const Array*>& in, std::vector<Array>& out) -> Status {
    const Array& xa = *in[0];
    const Array& ra = *in[1];
    int64_t n = xa.shape()[0], f = xa.shape()[1], m = ra.shape()[0];
    if (ra.shape()[1] != f) return Status::InvalidArgument("feature counts differ at run time");
    if (k > m) return Status::InvalidArgument("k exceeds the reference rows");
    out[0] = Array::Zeros(dt, Shape{n, k});
    out[1] = Array::Zeros(DType::kInt64, Shape{n, k});
    T* od = static_cast<T*>(out[0].mutable_data());
    int64_t* oi = static_cast<int64_t*>(out[1].mutable_data());
    if (n == 0) return Status::OK();
    const T* x = xa.data_as<T>();
    const T* r = ra.data_as<T>();
    std::vector<T> rn(static_cast<size_t>(m));
    row_norms(r, m, f, rn.data());
    int64_t rb = std::min(kRefBlock, m);
    int64_t kc = std::min(m, k + kExtra);  // candidates kept per row
    std::vector<T> buf(static_cast<size_t>(kRowChunk * rb)), xn(static_cast<size_t>(kRowChunk));
    std::vector<T> cand_d(static_cast<size_t>(kRowChunk * kc));
    std::vector<int64_t> cand_i(static_cast<size_t>(kRowChunk * kc));
    std::vector<std::pair<double, int64_t>> exact(static_cast<size_t>(kc));
    std::vector<Best<T>> best;
    for (int64_t r0 = 0; r0 < n; r0 += kRowChunk) {
      int64_t cn = std::min(kRowChunk, n - r0);
      const T* xr = x + r0 * f;
      row_norms(xr, cn, f, xn.data());
      best.clear();
      for (int64_t i = 0; i < cn; ++i) best.push_back(Best<T>{cand_d.data() + i * kc, cand_i.data() + i * kc, kc});
      for (int64_t s0 = 0; s0 < m; s0 += rb) {
        int64_t sn = std::min(rb, m - s0);
        T* b = buf.data();
        if (f > 0) gemm_nt(cn, sn, f, xr, r + s0 * f, b);
        else std::fill(b, b + cn * sn, T(0));
        finish_rows(b, cn, sn, xn.data(), rn.data() + s0);
        for (int64_t i = 0; i < cn; ++i) {
          Best<T>& bi = best[i];
          const T* row = b + i * sn;
          int64_t j = 0;
          for (; j < sn && bi.count < kc; ++j) bi.offer(row[j], s0 + j);
          // Fast path: the current worst as a plain threshold (NaN worst: any number wins).
          for (; j < sn; ++j) {
            T w = bi.d[kc - 1];
            T v = row[j];
            if (v < w || (w != w && v == v)) bi.offer(v, s0 + j);
          }
        }
      }
      for (int64_t i = 0; i < cn; ++i) {
        const T* xi = xr + i * f;
        for (int64_t c = 0; c < kc; ++c) {
          int64_t j = cand_i[i * kc + c];
          double s = 0;
          for (int64_t q = 0; q < f; ++q) {
            double d = static_cast<double>(xi[q]) - static_cast<double>(r[j * f + q]);
            s += d * d;
          }
          exact[c] = {static_cast<double>(static_cast<T>(s)), j};  // compared as returned
        }
        std::sort(exact.begin(), exact.end(), [](const auto& a, const auto& b) {
          bool an = a.first != a.first, bn = b.first != b.first;  // NaN last
          if (an != bn) return bn;
          if (!an && a.first != b.first) return a.first < b.first;
          return a.second < b.second;
        });
        for (int64_t c = 0; c < k; ++c) {
          od[(r0 + i) * k + c] = static_cast<T>(exact[c].first);
          oi[(r0 + i) * k + c] = exact[c].second;
        }
      }
    }
    return Status::OK();
  };
}

Result<CpuKernel> make_knn(const NodeContext& ctx, const Options&, std::vector<std::string>&) {
  DType dt = ctx.outputs[0].dtype;
  if (ctx.inputs[0].dtype != dt || ctx.inputs[1].dtype != dt) return Status::Unsupported("mixed dtypes");
  int64_t k = *ctx.attr_int("k");
  if (dt == DType::kFloat32) return make_t<float>(dt, k);
  if (dt == DType::kFloat64) return make_t<double>(dt, k);
  return Status::Unsupported("non-float KNearest");
}

}  // namespace

void register_cpu_knn_kernels(CpuKernelRegistry& r) { r.Add("KNearest", make_knn); }

}  // namespace gtn::ml
