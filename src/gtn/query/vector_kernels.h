// Row-wise vector kernels over float32 rows (cosine similarity, inner product, L2
// distance against one query vector): the hot loops of nearest-neighbour queries,
// compiled for AVX2+FMA as well as the baseline and picked at load time.
#pragma once

#include <cstdint>

namespace gtn::query {

// For each of n rows of d floats at p: dots[i] = <row, q>, norms2[i] = <row, row>.
void dot_and_norm_rows(const float* p, uint64_t n, uint64_t d, const float* q, double* dots, double* norms2);
// For each row: dots[i] = <row, q>.
void dot_rows(const float* p, uint64_t n, uint64_t d, const float* q, double* dots);
// For each row: dist2[i] = |row - q|^2.
void l2sq_rows(const float* p, uint64_t n, uint64_t d, const float* q, double* dist2);

}  // namespace gtn::query
