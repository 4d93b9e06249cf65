// What BLAS GTN-ML runs: the linked OpenBLAS's configuration and chosen kernels.
#include "gtn/ml/blas.h"

#include "gtn/ml.h"

namespace gtn::ml {

std::string blas_info() {
  std::string config = openblas_get_config();
  std::string core = openblas_get_corename();
  while (!config.empty() && config.back() == ' ') config.pop_back();
  return config + " / kernels: " + core;
}

std::string BlasInfo() { return blas_info(); }

}  // namespace gtn::ml
