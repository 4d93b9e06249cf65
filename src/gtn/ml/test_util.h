// Helpers for GTN-ML tests: random arrays, one-node graphs, comparing backends.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "gtn/ml.h"
#include "gtn/ml/graph.h"

namespace gtn::ml::testing {

template <typename T>
Array array_of(DType dt, Shape shape, const std::vector<T>& v) {
  return *Array::Copy(dt, std::move(shape), v.data(), v.size() * sizeof(T));
}

// Uniform values in [lo, hi) of dtype dt (float32/float64/int64/bool), with a fraction of NaN.
inline Array random_array(std::mt19937& rng, DType dt, Shape shape, double lo = -2, double hi = 2, double nan_frac = 0) {
  Array a = Array::Zeros(dt, shape);
  std::uniform_real_distribution<double> u(lo, hi);
  std::uniform_real_distribution<double> p(0, 1);
  int64_t n = a.numel();
  for (int64_t i = 0; i < n; ++i) {
    double v = u(rng);
    if (p(rng) < nan_frac) v = NAN;
    switch (dt) {
      case DType::kFloat32: static_cast<float*>(a.mutable_data())[i] = static_cast<float>(v); break;
      case DType::kFloat64: static_cast<double*>(a.mutable_data())[i] = v; break;
      case DType::kInt64: static_cast<int64_t*>(a.mutable_data())[i] = static_cast<int64_t>(std::floor(v)); break;
      case DType::kInt32: static_cast<int32_t*>(a.mutable_data())[i] = static_cast<int32_t>(std::floor(v)); break;
      case DType::kBool: static_cast<uint8_t*>(a.mutable_data())[i] = v > (lo + hi) / 2; break;
      default: break;
    }
  }
  return a;
}

inline double element(const Array& a, int64_t i) {
  switch (a.dtype()) {
    case DType::kFloat32: return a.data_as<float>()[i];
    case DType::kFloat64: return a.data_as<double>()[i];
    case DType::kInt64: return static_cast<double>(a.data_as<int64_t>()[i]);
    case DType::kInt32: return a.data_as<int32_t>()[i];
    case DType::kBool: case DType::kUInt8: return a.data_as<uint8_t>()[i];
    default: return NAN;
  }
}

// The folder of a model fixture under tests/ml/ (e.g. "xgboost"), with a trailing slash.
inline std::string fixture_dir(const std::string& name) {
  const char* src = std::getenv("GTN_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/ml/" + name + "/";
}

// Expects as many elements, each |got - want| <= tol * max(1, |want|).
inline void expect_near(const Array& got, const Array& want, double tol, const std::string& what) {
  ASSERT_EQ(got.numel(), want.numel()) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = element(got, i), w = element(want, i);
    ASSERT_NEAR(g, w, tol * std::max(1.0, std::fabs(w))) << what << " element " << i;
  }
}

// Expects equal dtype and shape, and elements equal within rtol (NaN equals NaN).
inline void expect_close(const Array& got, const Array& want, double rtol, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int64_t bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = element(got, i), w = element(want, i);
    if (std::isnan(g) && std::isnan(w)) continue;
    if (g == w) continue;
    if (std::fabs(g - w) <= rtol * std::max({std::fabs(g), std::fabs(w), 1.0})) continue;
    if (++bad <= 5) ADD_FAILURE() << what << ": element " << i << " got " << g << " want " << w;
  }
  EXPECT_EQ(bad, 0) << what;
}

// Runs every method of the graph on the reference and cpu backends (and on cpu with a
// small tile so row tiling is exercised) and expects matching outputs.
inline void expect_backends_agree(const std::string& graph_json, const std::map<std::string, Array>& constants,
                                  const Array& X, double rtol, const std::string& what,
                                  const std::map<std::string, std::string>& cpu_options = {}) {
  auto ref = Model::Compile(graph_json, constants, "reference");
  ASSERT_TRUE(ref.ok()) << what << ": " << ref.status().ToString();
  for (std::string tile : {"", "7"}) {
    auto cpu = Model::Compile(graph_json, constants, "cpu");
    ASSERT_TRUE(cpu.ok()) << what << ": " << cpu.status().ToString();
    for (const auto& [k, v] : cpu_options) {
      ASSERT_TRUE(cpu->SetOption(k, v).ok()) << k << "=" << v;
    }
    if (!tile.empty()) {
      ASSERT_TRUE(cpu->SetOption("tile_rows", tile).ok());
    }
    for (const auto& m : ref->methods()) {
      auto want = ref->Run(m, X);
      auto got = cpu->Run(m, X, 2);
      ASSERT_TRUE(want.ok()) << what << " " << m << ": " << want.status().ToString();
      ASSERT_TRUE(got.ok()) << what << " " << m << ": " << got.status().ToString();
      ASSERT_EQ(got->size(), want->size());
      for (size_t i = 0; i < got->size(); ++i)
        expect_close((*got)[i], (*want)[i], rtol, what + " method " + m + (tile.empty() ? "" : " tile " + tile));
    }
  }
}

}  // namespace gtn::ml::testing
