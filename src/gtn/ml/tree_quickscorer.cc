#include "gtn/ml/tree_quickscorer.h"

#include <algorithm>

#include "gtn/ml/tree_simd_util.h"

namespace gtn::ml {

template <typename T>
void run_quickscorer_rows(const QsForestOf<T>& F, const T* X, int64_t n, T* out) {
  std::vector<uint64_t> v;
  for (const auto& B : F.blocks) {
    const size_t nt = B.tree_end - B.tree_begin;
    const size_t nfu = B.features.size();
    v.resize(nt);
    for (int64_t r = 0; r < n; ++r) {
      const T* x = X + r * F.n_features;
      std::fill(v.begin(), v.end(), ~uint64_t{0});
      for (size_t fi = 0; fi < nfu; ++fi) {
        const T xf = x[B.features[fi]];
        for (int64_t i = B.off[fi]; i < B.off[fi + 1] && xf > B.thr[i]; ++i) v[B.tree[i]] &= B.mask[i];
        if (F.missing && xf != xf)
          for (int64_t i = B.nan_off[fi]; i < B.nan_off[fi + 1]; ++i) v[B.nan_tree[i]] &= B.nan_mask[i];
      }
      T* o = out + r * F.k;
      for (size_t j = 0; j < nt; ++j) {
        const size_t t = B.tree_begin + j;
        const T* leaf = F.leaves.data() + F.leaf_off[t] + static_cast<int64_t>(__builtin_ctzll(v[j])) * F.width;
        if (F.width == 1) o[F.target[t]] += leaf[0];
        else
          for (int64_t c = 0; c < F.width; ++c) o[c] += leaf[c];
      }
    }
  }
}
template void run_quickscorer_rows<float>(const QsForest&, const float*, int64_t, float*);
template void run_quickscorer_rows<double>(const QsForest64&, const double*, int64_t, double*);

#if defined(__x86_64__)
namespace {

bool avx512cd() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd");
  }();
  return ok;
}

// Rows are taken kChunk at a time: transposed to [group][feature][lane] once, then every
// tree's splits are applied to each group from cache.
constexpr int64_t kChunk = 256;

// Rows [r0, r0 + rows) of X into xt as groups of L lanes: xt[(g * nf + f) * L + l]; lanes
// past the last row repeat it.
template <int L, typename T>
void transpose_chunk(const T* X, int64_t n, int64_t nf, int64_t r0, int64_t rows, T* xt) {
  for (int64_t g = 0; g * L < rows; ++g)
    for (int l = 0; l < L; ++l) {
      const T* row = X + std::min<int64_t>(r0 + g * L + l, n - 1) * nf;
      T* dst = xt + g * nf * L + l;
      for (int64_t f = 0; f < nf; ++f) dst[f * L] = row[f];
    }
}


// Split i ANDed into the bitvectors of 16 rows (xg: [feature][16 lanes]): it clears its
// left-subtree leaves in the lanes it sends right, x > t (kPred _CMP_GT_OQ) or x > t or
// NaN (_CMP_NLE_UQ). One register of 32-bit bitvectors, or two of 64-bit ones (lanes 0-7,
// 8-15) when kWide.
template <int kPred, bool kWide>
__attribute__((target("avx512f,avx512cd"), always_inline)) inline void and_split(const QsForest& F, int64_t i,
                                                                                 const float* xg, __m512i* acc) {
  const __mmask16 m =
      _mm512_cmp_ps_mask(_mm512_load_ps(xg + F.split_feature[i] * 16), _mm512_set1_ps(F.split_thr[i]), kPred);
  if constexpr (kWide) {
    const __m512i b = _mm512_set1_epi64(static_cast<int64_t>(F.split_mask[i]));
    acc[0] = _mm512_mask_and_epi64(acc[0], static_cast<__mmask8>(m), acc[0], b);
    acc[1] = _mm512_mask_and_epi64(acc[1], static_cast<__mmask8>(m >> 8), acc[1], b);
  } else {
    acc[0] = _mm512_mask_and_epi32(acc[0], m, acc[0], _mm512_set1_epi32(static_cast<int32_t>(F.split_mask[i])));
  }
}

// Splits [s, end) into two accumulators (even and odd splits), which halves the chain of
// dependent ANDs.
template <int kPred, bool kWide>
__attribute__((target("avx512f,avx512cd"), always_inline)) inline void and_splits(const QsForest& F, int64_t s, int64_t end,
                                                                                  const float* xg, __m512i* v) {
  for (; s + 1 < end; s += 2) {
    and_split<kPred, kWide>(F, s, xg, v);
    and_split<kPred, kWide>(F, s + 1, xg, v + 2);
  }
  if (s < end) and_split<kPred, kWide>(F, s, xg, v);
}

// The bitvectors of tree t for 16 rows: v[0] (v[0..1] when kWide) after every split.
template <bool kWide>
__attribute__((target("avx512f,avx512cd"), always_inline)) inline void tree_bits(const QsForest& F, size_t t,
                                                                                 const float* xg, __m512i* v) {
  const __m512i ones = _mm512_set1_epi32(-1);
  __m512i acc[4] = {ones, ones, ones, ones};
  and_splits<_CMP_GT_OQ, kWide>(F, F.split_off[t], F.split_nan[t], xg, acc);
  and_splits<_CMP_NLE_UQ, kWide>(F, F.split_nan[t], F.split_off[t + 1], xg, acc);
  v[0] = _mm512_and_si512(acc[0], acc[2]);
  if constexpr (kWide) v[1] = _mm512_and_si512(acc[1], acc[3]);
}

// ------------------------------------------------------------------ float32, 16 lanes
template <bool kWide>
__attribute__((target("avx512f,avx512cd"))) void qs_avx512(const QsForest& F, const float* X, int64_t n, float* out) {
  constexpr int L = 16;
  const int64_t nf = F.n_features, k = F.k, w = F.width;
  const int64_t n_acc = w == 1 ? k : w;
  const size_t nt = F.leaf_off.size();
  std::vector<float> xbuf(static_cast<size_t>(kChunk * nf) + 16);
  float* const xt = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(xbuf.data()) + 63) & ~uintptr_t{63});
  const __m512i zero = _mm512_setzero_si512();
  __m512 acc[kSimdMaxOutputs];
  alignas(64) float tmp[L];
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t rows = std::min(kChunk, n - c0);
    transpose_chunk<L>(X, n, nf, c0, rows, xt);
    for (int64_t g = 0; g * L < rows; ++g) {
      const float* xg = xt + g * nf * L;
      for (int64_t c = 0; c < n_acc; ++c) acc[c] = _mm512_setzero_ps();
      for (size_t t = 0; t < nt; ++t) {
        __m512i v[2];
        tree_bits<kWide>(F, t, xg, v);
        __m512i leaf;  // the lowest set bit of each lane's bitvector
        if constexpr (kWide) {
          __m256i half[2];
          for (int h = 0; h < 2; ++h) {
            __m512i b = _mm512_and_si512(v[h], _mm512_sub_epi64(zero, v[h]));
            half[h] = _mm512_cvtepi64_epi32(_mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(b)));
          }
          leaf = _mm512_inserti64x4(_mm512_castsi256_si512(half[0]), half[1], 1);
        } else {
          __m512i b = _mm512_and_si512(v[0], _mm512_sub_epi32(zero, v[0]));
          leaf = _mm512_sub_epi32(_mm512_set1_epi32(31), _mm512_lzcnt_epi32(b));
        }
        const float* lf = F.leaves.data() + F.leaf_off[t];
        if (w == 1) {
          const int64_t c = F.target[t];
          acc[c] = _mm512_add_ps(acc[c], _mm512_i32gather_ps(leaf, lf, 4));
        } else {
          leaf = _mm512_mullo_epi32(leaf, _mm512_set1_epi32(static_cast<int32_t>(w)));
          for (int64_t c = 0; c < w; ++c)
            acc[c] = _mm512_add_ps(acc[c], _mm512_i32gather_ps(_mm512_add_epi32(leaf, _mm512_set1_epi32(static_cast<int32_t>(c))), lf, 4));
        }
      }
      for (int64_t c = 0; c < n_acc; ++c) {
        _mm512_store_ps(tmp, acc[c]);
        add_lanes(tmp, L, c0 + g * L, n, k, c, out);
      }
    }
  }
}

// ------------------------------------------------------------------ float64, 8 lanes
// As and_split(s) for 8 float64 rows and one register of 64-bit bitvectors.
template <int kPred>
__attribute__((target("avx512f,avx512cd"), always_inline)) inline void and_split64(const QsForest64& F, int64_t i,
                                                                                   const double* xg, __m512i* acc) {
  const __mmask8 m =
      _mm512_cmp_pd_mask(_mm512_load_pd(xg + F.split_feature[i] * 8), _mm512_set1_pd(F.split_thr[i]), kPred);
  *acc = _mm512_mask_and_epi64(*acc, m, *acc, _mm512_set1_epi64(static_cast<int64_t>(F.split_mask[i])));
}

template <int kPred>
__attribute__((target("avx512f,avx512cd"), always_inline)) inline void and_splits64(const QsForest64& F, int64_t s,
                                                                                    int64_t end, const double* xg,
                                                                                    __m512i* v) {
  for (; s + 1 < end; s += 2) {
    and_split64<kPred>(F, s, xg, v);
    and_split64<kPred>(F, s + 1, xg, v + 1);
  }
  if (s < end) and_split64<kPred>(F, s, xg, v);
}

__attribute__((target("avx512f,avx512cd"))) void qs_avx512_f64(const QsForest64& F, const double* X, int64_t n, double* out) {
  constexpr int L = 8;
  const int64_t nf = F.n_features, k = F.k, w = F.width;
  const int64_t n_acc = w == 1 ? k : w;
  const size_t nt = F.leaf_off.size();
  std::vector<double> xbuf(static_cast<size_t>(kChunk * nf) + 8);
  double* const xt = reinterpret_cast<double*>((reinterpret_cast<uintptr_t>(xbuf.data()) + 63) & ~uintptr_t{63});
  const __m512i ones = _mm512_set1_epi64(-1);
  const __m512i zero = _mm512_setzero_si512();
  __m512d acc[kSimdMaxOutputs];
  alignas(64) double tmp[L];
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t rows = std::min(kChunk, n - c0);
    transpose_chunk<L>(X, n, nf, c0, rows, xt);
    for (int64_t g = 0; g * L < rows; ++g) {
      const double* xg = xt + g * nf * L;
      for (int64_t c = 0; c < n_acc; ++c) acc[c] = _mm512_setzero_pd();
      for (size_t t = 0; t < nt; ++t) {
        __m512i v[2] = {ones, ones};  // two accumulators: even and odd splits
        and_splits64<_CMP_GT_OQ>(F, F.split_off[t], F.split_nan[t], xg, v);
        and_splits64<_CMP_NLE_UQ>(F, F.split_nan[t], F.split_off[t + 1], xg, v);
        __m512i b = _mm512_and_si512(v[0], v[1]);
        b = _mm512_and_si512(b, _mm512_sub_epi64(zero, b));
        __m512i leaf = _mm512_sub_epi64(_mm512_set1_epi64(63), _mm512_lzcnt_epi64(b));
        const double* lf = F.leaves.data() + F.leaf_off[t];
        if (w == 1) {
          const int64_t c = F.target[t];
          acc[c] = _mm512_add_pd(acc[c], _mm512_i64gather_pd(leaf, lf, 8));
        } else {
          leaf = _mm512_mul_epu32(leaf, _mm512_set1_epi64(w));  // leaf < 64: 32-bit multiply
          for (int64_t c = 0; c < w; ++c)
            acc[c] = _mm512_add_pd(acc[c], _mm512_i64gather_pd(_mm512_add_epi64(leaf, _mm512_set1_epi64(c)), lf, 8));
        }
      }
      for (int64_t c = 0; c < n_acc; ++c) {
        _mm512_store_pd(tmp, acc[c]);
        add_lanes(tmp, L, c0 + g * L, n, k, c, out);
      }
    }
  }
}

}  // namespace
#endif

bool quickscorer_simd(TreeIsa isa) {
#if defined(__x86_64__)
  return isa == TreeIsa::kAvx512 && avx512cd();
#else
  (void)isa;
  return false;
#endif
}

bool run_quickscorer_simd(TreeIsa isa, const QsForest& F, const float* X, int64_t n, float* out) {
#if defined(__x86_64__)
  if (!quickscorer_simd(isa) || n <= 0) return false;
  if ((F.width == 1 ? F.k : F.width) > kSimdMaxOutputs) return false;
  if (F.wide) qs_avx512<true>(F, X, n, out);
  else qs_avx512<false>(F, X, n, out);
  return true;
#else
  (void)isa, (void)F, (void)X, (void)n, (void)out;
  return false;
#endif
}

bool run_quickscorer_simd(TreeIsa isa, const QsForest64& F, const double* X, int64_t n, double* out) {
#if defined(__x86_64__)
  if (!quickscorer_simd(isa) || n <= 0) return false;
  if ((F.width == 1 ? F.k : F.width) > kSimdMaxOutputs) return false;
  qs_avx512_f64(F, X, n, out);
  return true;
#else
  (void)isa, (void)F, (void)X, (void)n, (void)out;
  return false;
#endif
}

}  // namespace gtn::ml
