#include "gtn/ml/tree_simd.h"

#include <algorithm>
#include <limits>

#include "gtn/ml/tree_simd_util.h"

namespace gtn::ml {

TreeIsa detect_tree_isa() {
#if defined(__x86_64__)
  static const TreeIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return TreeIsa::kAvx512;
    if (__builtin_cpu_supports("avx2")) return TreeIsa::kAvx2;
    return TreeIsa::kScalar;
  }();
  return isa;
#else
  return TreeIsa::kScalar;
#endif
}

TreeIsa auto_walk_isa() {
#if defined(__x86_64__)
  static const TreeIsa isa = [] {
    __builtin_cpu_init();
    TreeIsa best = detect_tree_isa();
    return best == TreeIsa::kAvx512 && __builtin_cpu_is("intel") ? TreeIsa::kAvx2 : best;
  }();
  return isa;
#else
  return TreeIsa::kScalar;
#endif
}

const char* tree_isa_name(TreeIsa isa) {
  switch (isa) {
    case TreeIsa::kAvx512: return "avx512";
    case TreeIsa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

bool parse_tree_isa(const std::string& name, TreeIsa* isa, std::string* error) {
  TreeIsa best = detect_tree_isa();
  if (name == "auto") *isa = best;
  else if (name == "scalar") *isa = TreeIsa::kScalar;
  else if (name == "avx2") *isa = TreeIsa::kAvx2;
  else if (name == "avx512") *isa = TreeIsa::kAvx512;
  else {
    *error = "unknown tree_isa '" + name + "'; expected auto, avx512, avx2 or scalar";
    return false;
  }
  if (static_cast<int>(*isa) > static_cast<int>(best)) {
    *error = "tree_isa '" + name + "' is not supported by this CPU (its best is " + tree_isa_name(best) + ")";
    return false;
  }
  return true;
}

#if defined(__x86_64__)
namespace {

bool avx512vl() {
  static const bool ok = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vl") != 0;
  }();
  return ok;
}


// ------------------------------------------------------------------ AVX-512, 16 lanes
// kSingle: one output column and one value per leaf (regression, binary boosting): the
// sums stay in registers across the trees of a block.
template <bool kMissing, bool kSingle>
__attribute__((target("avx512f"))) void walk_avx512(const SimdForest& F, const float* X, int64_t n, float* out) {
  constexpr int G = 4, L = 16, R = G * L;
  const int64_t nf = F.n_features, k = F.k, w = F.width;
  const int64_t n_acc = kSingle ? 1 : (w == 1 ? k : w);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i fmask = _mm512_set1_epi32(0x7fffffff);
  __m512 acc[kSimdMaxOutputs][G];
  alignas(64) float tmp[L];
  for (const auto& [b, e] : F.blocks) {
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const float* Xg = X + r0 * nf;
      const int32_t last = static_cast<int32_t>(n - 1 - r0);
      __m512i rowoff[G];
      for (int g = 0; g < G; ++g) {
        __m512i r = _mm512_min_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(g * L)), _mm512_set1_epi32(last));
        rowoff[g] = _mm512_mullo_epi32(r, _mm512_set1_epi32(static_cast<int32_t>(nf)));
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) acc[c][g] = _mm512_setzero_ps();
      for (size_t t = b; t < e; ++t) {
        const float* thr = F.thr.data() + F.node_off[t];
        const int32_t* feat = F.feat.data() + F.node_off[t];
        __m512i idx[G];
        for (int g = 0; g < G; ++g) idx[g] = _mm512_setzero_si512();
        for (int d = 0; d < F.depth; ++d) {
          // Levels 0-6 are 1-64 consecutive nodes: loads and permutes (one, two or four
          // registers) replace the two node gathers.
          const int tables = d <= 4 ? 1 : d == 5 ? 2 : d == 6 ? 4 : 0;
          const int32_t first = (1 << d) - 1;
          __m512 th_tab[4];
          __m512i fw_tab[4];
          for (int j = 0; j < tables; ++j) {
            th_tab[j] = _mm512_loadu_ps(thr + first + 16 * j);
            fw_tab[j] = _mm512_loadu_si512(feat + first + 16 * j);
          }
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            __m512 th;
            __m512i fw;
            if (tables > 0) {
              __m512i local = _mm512_sub_epi32(idx[g], _mm512_set1_epi32(first));
              if (tables == 1) {
                th = _mm512_permutexvar_ps(local, th_tab[0]);
                fw = _mm512_permutexvar_epi32(local, fw_tab[0]);
              } else {
                th = _mm512_permutex2var_ps(th_tab[0], local, th_tab[1]);
                fw = _mm512_permutex2var_epi32(fw_tab[0], local, fw_tab[1]);
                if (tables == 4) {
                  __mmask16 hi = _mm512_test_epi32_mask(local, _mm512_set1_epi32(32));
                  th = _mm512_mask_blend_ps(hi, th, _mm512_permutex2var_ps(th_tab[2], local, th_tab[3]));
                  fw = _mm512_mask_blend_epi32(hi, fw, _mm512_permutex2var_epi32(fw_tab[2], local, fw_tab[3]));
                }
              }
            } else {
              th = _mm512_i32gather_ps(idx[g], thr, 4);
              fw = _mm512_i32gather_epi32(idx[g], feat, 4);
            }
            __mmask16 mr = 0;
            if constexpr (kMissing) {
              mr = _mm512_cmplt_epi32_mask(fw, _mm512_setzero_si512());
              fw = _mm512_and_si512(fw, fmask);
            }
            __m512 x = _mm512_i32gather_ps(_mm512_add_epi32(rowoff[g], fw), Xg, 4);
            __mmask16 right = _mm512_cmp_ps_mask(x, th, _CMP_GT_OQ);
            if constexpr (kMissing) right |= _mm512_mask_cmp_ps_mask(mr, x, x, _CMP_UNORD_Q);
            __m512i base = _mm512_add_epi32(_mm512_add_epi32(idx[g], idx[g]), one);
            idx[g] = _mm512_mask_add_epi32(base, right, base, one);
          }
        }
        const float* lf = F.leaves.data() + F.leaf_off[t];
        const __m512i sub = _mm512_set1_epi32(F.leaf_sub);
        for (int g = 0; g < G; ++g) {
          __m512i li = _mm512_sub_epi32(idx[g], sub);
          if (kSingle || w == 1) {
            int64_t c = kSingle ? 0 : F.target[t];
            acc[c][g] = _mm512_add_ps(acc[c][g], _mm512_i32gather_ps(li, lf, 4));
          } else {
            li = _mm512_mullo_epi32(li, _mm512_set1_epi32(static_cast<int32_t>(w)));
            for (int64_t c = 0; c < w; ++c)
              acc[c][g] = _mm512_add_ps(acc[c][g], _mm512_i32gather_ps(_mm512_add_epi32(li, _mm512_set1_epi32(static_cast<int32_t>(c))), lf, 4));
          }
        }
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) {
          _mm512_store_ps(tmp, acc[c][g]);
          if (r0 + g * L < n) add_lanes(tmp, L, r0 + g * L, n, k, c, out);
        }
    }
  }
}

// ------------------------------------------------------------------ AVX2, 8 lanes
// Tables j and j + 1 looked up at `local`, picked by index bit 3 (b3: that bit in the sign).
__attribute__((target("avx2,fma"), always_inline)) inline void avx2_pair(const __m256* th_tab, const __m256i* fw_tab,
                                                                         int j, __m256i local, __m256 b3, __m256& t,
                                                                         __m256& f) {
  t = _mm256_blendv_ps(_mm256_permutevar8x32_ps(th_tab[j], local), _mm256_permutevar8x32_ps(th_tab[j + 1], local), b3);
  f = _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_permutevar8x32_epi32(fw_tab[j], local)),
                       _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(fw_tab[j + 1], local)), b3);
}

// The feature values of level d (< 3) for rows [8g, 8g + 8) of a group: the level's 2^d
// features read as rows of the group's transposed copy xt[feature][32 rows] (plain loads),
// blended on the bits of each lane's node index within the level. Cheaper than a gather,
// whose latency dominates each step of the walk.
template <int kLevel>
__attribute__((target("avx2,fma"), always_inline)) inline __m256 avx2_direct_x(const int32_t* feat, const float* xt,
                                                                               int g, __m256i local) {
  constexpr int32_t first = (1 << kLevel) - 1;
  const float* rows[1 << kLevel];  // node j's feature, rows [8g, 8g + 8)
  for (int j = 0; j < (1 << kLevel); ++j) rows[j] = xt + (feat[first + j] & 0x7fffffff) * 32 + g * 8;
  if constexpr (kLevel == 0) {
    return _mm256_load_ps(rows[0]);
  } else {
    const __m256 b0 = _mm256_castsi256_ps(_mm256_slli_epi32(local, 31));
    const __m256 lo = _mm256_blendv_ps(_mm256_load_ps(rows[0]), _mm256_load_ps(rows[1]), b0);
    if constexpr (kLevel == 1) {
      return lo;
    } else {
      const __m256 b1 = _mm256_castsi256_ps(_mm256_slli_epi32(local, 30));
      const __m256 hi = _mm256_blendv_ps(_mm256_load_ps(rows[2]), _mm256_load_ps(rows[3]), b0);
      return _mm256_blendv_ps(lo, hi, b1);
    }
  }
}

// One step of the walk at level d for G groups of 8 rows. kTables > 0: the level's 8 *
// kTables nodes come from registers (permutes, blended on index bits 3 and 4); 0: gathers.
// kDirect (levels 0-2, with `xt` the group transposed): feature values by avx2_direct_x.
template <int kTables, bool kMissing, int G, int kDirect = -1>
__attribute__((target("avx2,fma"), always_inline)) inline void avx2_level(int d, const float* thr, const int32_t* feat,
                                                                          const float* Xg, const __m256i* rowoff,
                                                                          __m256i* idx, const float* xt = nullptr) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i fmask = _mm256_set1_epi32(0x7fffffff);
  const int32_t first = (1 << d) - 1;
  __m256 th_tab[kTables > 0 ? kTables : 1];
  __m256i fw_tab[kTables > 0 ? kTables : 1];
  for (int j = 0; j < kTables; ++j) {
    th_tab[j] = _mm256_loadu_ps(thr + first + 8 * j);
    fw_tab[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(feat + first + 8 * j));
  }
#pragma GCC unroll 4
  for (int g = 0; g < G; ++g) {
    __m256 th;
    __m256i fw;
    if constexpr (kTables == 0) {
      th = _mm256_i32gather_ps(thr, idx[g], 4);
      fw = _mm256_i32gather_epi32(feat, idx[g], 4);
    } else {
      const __m256i local = _mm256_sub_epi32(idx[g], _mm256_set1_epi32(first));
      if constexpr (kTables == 1) {
        th = _mm256_permutevar8x32_ps(th_tab[0], local);
        fw = _mm256_permutevar8x32_epi32(fw_tab[0], local);
      } else {
        // blendv picks by the sign bit: shift index bit 3 (then 4) there.
        const __m256 b3 = _mm256_castsi256_ps(_mm256_slli_epi32(local, 28));
        __m256 f;
        avx2_pair(th_tab, fw_tab, 0, local, b3, th, f);
        if constexpr (kTables == 4) {
          __m256 th_hi, f_hi;
          avx2_pair(th_tab, fw_tab, 2, local, b3, th_hi, f_hi);
          const __m256 b4 = _mm256_castsi256_ps(_mm256_slli_epi32(local, 27));
          th = _mm256_blendv_ps(th, th_hi, b4);
          f = _mm256_blendv_ps(f, f_hi, b4);
        }
        fw = _mm256_castps_si256(f);
      }
    }
    __m256i mr = _mm256_setzero_si256();
    if constexpr (kMissing) {
      mr = _mm256_srai_epi32(fw, 31);
      fw = _mm256_and_si256(fw, fmask);
    }
    __m256 x;
    if constexpr (kDirect >= 0) x = avx2_direct_x<kDirect>(feat, xt, g, _mm256_sub_epi32(idx[g], _mm256_set1_epi32(first)));
    else x = _mm256_i32gather_ps(Xg, _mm256_add_epi32(rowoff[g], fw), 4);
    __m256i right = _mm256_castps_si256(_mm256_cmp_ps(x, th, _CMP_GT_OQ));
    if constexpr (kMissing)
      right = _mm256_or_si256(right, _mm256_and_si256(mr, _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q))));
    __m256i base = _mm256_add_epi32(_mm256_add_epi32(idx[g], idx[g]), one);
    idx[g] = _mm256_sub_epi32(base, right);  // right is -1 where true
  }
}

template <bool kMissing, bool kSingle>
__attribute__((target("avx2,fma"))) void walk_avx2(const SimdForest& F, const float* X, int64_t n, float* out) {
  constexpr int G = 4, L = 8, R = G * L;
  const int64_t nf = F.n_features, k = F.k, w = F.width;
  const int64_t n_acc = kSingle ? 1 : (w == 1 ? k : w);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256 acc[kSimdMaxOutputs][G];
  alignas(32) float tmp[L];
  // Up to kDirectFeatures features, each group of R rows is also copied transposed, so
  // that levels 0-2 read their few features with loads (avx2_direct_x).
  constexpr int64_t kDirectFeatures = 64;
  static_assert(R == 32, "avx2_direct_x reads rows of 32 lanes");
  const bool direct = nf <= kDirectFeatures;
  alignas(32) float xt[kDirectFeatures * R];
  for (const auto& [b, e] : F.blocks) {
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const float* Xg = X + r0 * nf;
      const int32_t last = static_cast<int32_t>(n - 1 - r0);
      if (direct)
        for (int r = 0; r < R; ++r) {
          const float* row = Xg + std::min<int64_t>(r, last) * nf;
          for (int64_t j = 0; j < nf; ++j) xt[j * R + r] = row[j];
        }
      __m256i rowoff[G];
      for (int g = 0; g < G; ++g) {
        __m256i r = _mm256_min_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(g * L)), _mm256_set1_epi32(last));
        rowoff[g] = _mm256_mullo_epi32(r, _mm256_set1_epi32(static_cast<int32_t>(nf)));
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) acc[c][g] = _mm256_setzero_ps();
      for (size_t t = b; t < e; ++t) {
        const float* thr = F.thr.data() + F.node_off[t];
        const int32_t* feat = F.feat.data() + F.node_off[t];
        __m256i idx[G];
        for (int g = 0; g < G; ++g) idx[g] = _mm256_setzero_si256();
        // Levels 0-5 are 1-32 consecutive nodes: loads and permutes of one, two or four
        // registers (blended on the index bits past the third) replace the two node
        // gathers, which take the most latency of a step.
        int d = 0;
        if (direct) {
          if (d < F.depth) avx2_level<1, kMissing, G, 0>(d++, thr, feat, Xg, rowoff, idx, xt);
          if (d < F.depth) avx2_level<1, kMissing, G, 1>(d++, thr, feat, Xg, rowoff, idx, xt);
          if (d < F.depth) avx2_level<1, kMissing, G, 2>(d++, thr, feat, Xg, rowoff, idx, xt);
        }
        for (; d < std::min(F.depth, 4); ++d) avx2_level<1, kMissing, G>(d, thr, feat, Xg, rowoff, idx);
        if (d < F.depth) avx2_level<2, kMissing, G>(d++, thr, feat, Xg, rowoff, idx);
        if (d < F.depth) avx2_level<4, kMissing, G>(d++, thr, feat, Xg, rowoff, idx);
        for (; d < F.depth; ++d) avx2_level<0, kMissing, G>(d, thr, feat, Xg, rowoff, idx);
        const float* lf = F.leaves.data() + F.leaf_off[t];
        const __m256i sub = _mm256_set1_epi32(F.leaf_sub);
        for (int g = 0; g < G; ++g) {
          __m256i li = _mm256_sub_epi32(idx[g], sub);
          if (kSingle || w == 1) {
            int64_t c = kSingle ? 0 : F.target[t];
            acc[c][g] = _mm256_add_ps(acc[c][g], _mm256_i32gather_ps(lf, li, 4));
          } else {
            li = _mm256_mullo_epi32(li, _mm256_set1_epi32(static_cast<int32_t>(w)));
            for (int64_t c = 0; c < w; ++c)
              acc[c][g] = _mm256_add_ps(acc[c][g], _mm256_i32gather_ps(lf, _mm256_add_epi32(li, _mm256_set1_epi32(static_cast<int32_t>(c))), 4));
          }
        }
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) {
          _mm256_store_ps(tmp, acc[c][g]);
          if (r0 + g * L < n) add_lanes(tmp, L, r0 + g * L, n, k, c, out);
        }
    }
  }
}

// ------------------------------------------------------------------ AVX-512, float64, 8 lanes
// Node ids, feature words and child steps in 256-bit integer vectors; values in 512-bit.
template <bool kMissing, bool kSingle>
__attribute__((target("avx512f,avx512vl,avx2"))) void walk_avx512_f64(const SimdForest64& F, const double* X, int64_t n,
                                                                      double* out) {
  constexpr int G = 4, L = 8, R = G * L;
  const int64_t nf = F.n_features, k = F.k, w = F.width;
  const int64_t n_acc = kSingle ? 1 : (w == 1 ? k : w);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i fmask = _mm256_set1_epi32(0x7fffffff);
  __m512d acc[kSimdMaxOutputs][G];
  alignas(64) double tmp[L];
  for (const auto& [b, e] : F.blocks) {
    for (int64_t r0 = 0; r0 < n; r0 += R) {
      const double* Xg = X + r0 * nf;
      const int32_t last = static_cast<int32_t>(n - 1 - r0);
      __m256i rowoff[G];
      for (int g = 0; g < G; ++g) {
        __m256i r = _mm256_min_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(g * L)), _mm256_set1_epi32(last));
        rowoff[g] = _mm256_mullo_epi32(r, _mm256_set1_epi32(static_cast<int32_t>(nf)));
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) acc[c][g] = _mm512_setzero_pd();
      for (size_t t = b; t < e; ++t) {
        const double* thr = F.thr.data() + F.node_off[t];
        const int32_t* feat = F.feat.data() + F.node_off[t];
        __m256i idx[G];
        for (int g = 0; g < G; ++g) idx[g] = _mm256_setzero_si256();
        for (int d = 0; d < F.depth; ++d) {
          const bool small = d <= 3;  // levels of at most 8 nodes: a load and a permute
          const int32_t first = (1 << d) - 1;
          __m512d th_tab = _mm512_setzero_pd();
          __m256i fw_tab = _mm256_setzero_si256();
          if (small) {
            th_tab = _mm512_loadu_pd(thr + first);
            fw_tab = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(feat + first));
          }
#pragma GCC unroll 4
          for (int g = 0; g < G; ++g) {
            __m512d th;
            __m256i fw;
            if (small) {
              __m256i local = _mm256_sub_epi32(idx[g], _mm256_set1_epi32(first));
              th = _mm512_permutexvar_pd(_mm512_cvtepi32_epi64(local), th_tab);
              fw = _mm256_permutevar8x32_epi32(fw_tab, local);
            } else {
              th = _mm512_i32gather_pd(idx[g], thr, 8);
              fw = _mm256_i32gather_epi32(feat, idx[g], 4);
            }
            __mmask8 mr = 0;
            if constexpr (kMissing) {
              mr = _mm256_cmplt_epi32_mask(fw, _mm256_setzero_si256());
              fw = _mm256_and_si256(fw, fmask);
            }
            __m512d x = _mm512_i32gather_pd(_mm256_add_epi32(rowoff[g], fw), Xg, 8);
            __mmask8 right = _mm512_cmp_pd_mask(x, th, _CMP_GT_OQ);
            if constexpr (kMissing) right |= _mm512_mask_cmp_pd_mask(mr, x, x, _CMP_UNORD_Q);
            __m256i base = _mm256_add_epi32(_mm256_add_epi32(idx[g], idx[g]), one);
            idx[g] = _mm256_mask_add_epi32(base, right, base, one);
          }
        }
        const double* lf = F.leaves.data() + F.leaf_off[t];
        const __m256i sub = _mm256_set1_epi32(F.leaf_sub);
        for (int g = 0; g < G; ++g) {
          __m256i li = _mm256_sub_epi32(idx[g], sub);
          if (kSingle || w == 1) {
            int64_t c = kSingle ? 0 : F.target[t];
            acc[c][g] = _mm512_add_pd(acc[c][g], _mm512_i32gather_pd(li, lf, 8));
          } else {
            li = _mm256_mullo_epi32(li, _mm256_set1_epi32(static_cast<int32_t>(w)));
            for (int64_t c = 0; c < w; ++c)
              acc[c][g] = _mm512_add_pd(acc[c][g], _mm512_i32gather_pd(_mm256_add_epi32(li, _mm256_set1_epi32(static_cast<int32_t>(c))), lf, 8));
          }
        }
      }
      for (int64_t c = 0; c < n_acc; ++c)
        for (int g = 0; g < G; ++g) {
          _mm512_store_pd(tmp, acc[c][g]);
          if (r0 + g * L < n) add_lanes(tmp, L, r0 + g * L, n, k, c, out);
        }
    }
  }
}

template <bool kMissing>
void dispatch(TreeIsa isa, bool single, const SimdForest& F, const float* X, int64_t n, float* out) {
  if (isa == TreeIsa::kAvx512) {
    if (single) walk_avx512<kMissing, true>(F, X, n, out);
    else walk_avx512<kMissing, false>(F, X, n, out);
  } else {
    if (single) walk_avx2<kMissing, true>(F, X, n, out);
    else walk_avx2<kMissing, false>(F, X, n, out);
  }
}

}  // namespace
#endif

bool run_forest_simd(TreeIsa isa, const SimdForest64& F, const double* X, int64_t n, double* out) {
#if defined(__x86_64__)
  if (isa != TreeIsa::kAvx512 || n <= 0 || !avx512vl()) return false;
  if ((F.width == 1 ? F.k : F.width) > kSimdMaxOutputs) return false;
  if (F.n_features > (int64_t{1} << 24)) return false;
  bool single = F.k == 1 && F.width == 1;
  if (F.missing) {
    if (single) walk_avx512_f64<true, true>(F, X, n, out);
    else walk_avx512_f64<true, false>(F, X, n, out);
  } else {
    if (single) walk_avx512_f64<false, true>(F, X, n, out);
    else walk_avx512_f64<false, false>(F, X, n, out);
  }
  return true;
#else
  (void)isa, (void)F, (void)X, (void)n, (void)out;
  return false;
#endif
}

bool run_forest_simd(TreeIsa isa, const SimdForest& F, const float* X, int64_t n, float* out) {
#if defined(__x86_64__)
  if (isa == TreeIsa::kScalar || n <= 0) return false;
  if ((F.width == 1 ? F.k : F.width) > kSimdMaxOutputs) return false;
  // Gather offsets are int32: a group's rows times the features must stay far below 2^31.
  if (F.n_features > (int64_t{1} << 24)) return false;
  bool single = F.k == 1 && F.width == 1;
  if (F.missing) dispatch<true>(isa, single, F, X, n, out);
  else dispatch<false>(isa, single, F, X, n, out);
  return true;
#else
  (void)isa, (void)F, (void)X, (void)n, (void)out;
  return false;
#endif
}

}  // namespace gtn::ml
