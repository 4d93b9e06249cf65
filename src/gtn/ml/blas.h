// The CBLAS and OpenBLAS functions GTN-ML calls, under their usual names whichever OpenBLAS
// build is linked (cmake/GtnBlas.cmake). The scipy-openblas32 wheel prefixes every symbol
// with `scipy_`; GTN_BLAS_SYMBOL_PREFIX renames the declarations of <cblas.h> to match.
#pragma once

#include <string>

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

namespace gtn::ml {

// "OpenBLAS 0.3.34 DYNAMIC_ARCH ... Haswell ... / kernels: Haswell": the linked BLAS's
// build configuration and the kernel family it chose for this CPU.
std::string blas_info();

}  // namespace gtn::ml
