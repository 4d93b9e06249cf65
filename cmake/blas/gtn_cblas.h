// <cblas.h> under its usual names whichever OpenBLAS build is linked (cmake/GtnBlas.cmake):
// the scipy-openblas32 wheel prefixes every symbol with `scipy_`, and
// GTN_BLAS_SYMBOL_PREFIX renames the declarations to match. Every target that links
// gtn::blas sees this header.
#pragma once

#ifdef GTN_BLAS_SYMBOL_PREFIX
#define GTN_BLAS_CAT_(a, b) a##b
#define GTN_BLAS_CAT(a, b) GTN_BLAS_CAT_(a, b)
#define GTN_BLAS_NAME(name) GTN_BLAS_CAT(GTN_BLAS_SYMBOL_PREFIX, name)
#define cblas_sgemm GTN_BLAS_NAME(cblas_sgemm)
#define cblas_dgemm GTN_BLAS_NAME(cblas_dgemm)
#define cblas_sgemv GTN_BLAS_NAME(cblas_sgemv)
#define cblas_dgemv GTN_BLAS_NAME(cblas_dgemv)
#define openblas_set_num_threads GTN_BLAS_NAME(openblas_set_num_threads)
#define openblas_get_num_threads GTN_BLAS_NAME(openblas_get_num_threads)
#define openblas_get_corename GTN_BLAS_NAME(openblas_get_corename)
#define openblas_get_config GTN_BLAS_NAME(openblas_get_config)
#endif

#include <cblas.h>
