// What the model-file loaders (xgboost_loader.cc, lightgbm_loader.cc) share: building the
// graph JSON and its constant arrays.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtn/tensor.h"

namespace gtn::ml::loader {

// A copy of v as an Array of `dtype` and `shape` (T must be dtype's C type).
template <typename T>
Array make_array(DType dtype, Shape shape, const std::vector<T>& v) {
  return *Array::Copy(dtype, std::move(shape), v.data(), v.size() * sizeof(T));
}

// One graph node: {"op", "inputs", "outputs", "attrs"}.
inline nlohmann::json node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                           nlohmann::json attrs = nlohmann::json::object()) {
  return {{"op", op}, {"inputs", in}, {"outputs", out}, {"attrs", attrs}};
}

}  // namespace gtn::ml::loader
