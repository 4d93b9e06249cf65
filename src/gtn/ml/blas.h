// The CBLAS and OpenBLAS functions GTN-ML calls, under their usual names whichever OpenBLAS
// build is linked (cmake/GtnBlas.cmake). The scipy-openblas32 wheel prefixes every symbol
// with `scipy_`; gtn_cblas.h (cmake/blas) renames the declarations of <cblas.h> to match.
#pragma once

#include <string>

#include "gtn_cblas.h"  // cmake/blas: the renames for the linked OpenBLAS

namespace gtn::ml {

// "OpenBLAS 0.3.34 DYNAMIC_ARCH ... Haswell ... / kernels: Haswell": the linked BLAS's
// build configuration and the kernel family it chose for this CPU.
std::string blas_info();

}  // namespace gtn::ml
