// What the SIMD tree kernels share (tree_simd.cc, tree_quickscorer.cc): the x86 intrinsics
// and the copy of per-lane sums into the output.
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's gather intrinsics pass _mm512_undefined_*() as the merge source, which
// -Wmaybe-uninitialized reports inside the header; the values are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif

namespace gtn::ml {

// Adds the per-lane sums tmp (`lanes` rows from row r0; lanes past row n - 1 are padding)
// into out[:, c] of out[n, k].
template <typename T>
inline void add_lanes(const T* tmp, int lanes, int64_t r0, int64_t n, int64_t k, int64_t c, T* out) {
  const int live = static_cast<int>(std::min<int64_t>(lanes, n - r0));
  for (int l = 0; l < live; ++l) out[(r0 + l) * k + c] += tmp[l];
}

}  // namespace gtn::ml
