#include "gtn/ml/vec_math.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

namespace gtn::ml {
namespace {

TEST(VecMath, ExpMatchesLibmOnRandomAndEdgeInputs) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<double> u(-750, 712);
  for (int i = 0; i < 200000; ++i) {
    double x = i % 2 ? u(rng) : u(rng) / 300;
    double want = std::exp(x);
    double got = vexp(x);
    if (want > 1e-300 && std::isfinite(want)) {
      ASSERT_NEAR(got, want, 2e-14 * want) << x;
    } else if (want == 0) {
      ASSERT_LT(got, 1e-300) << x;
    }
    float xf = static_cast<float>(x / 8);
    float wf = std::exp(xf);
    float gf = vexp(xf);
    if (wf > 1e-37f && std::isfinite(wf)) {
      ASSERT_NEAR(gf, wf, 3e-7f * wf) << xf;
    }
  }
  EXPECT_TRUE(std::isnan(vexp(NAN)));
  EXPECT_TRUE(std::isnan(vexp(NAN * 1.0f)));
  EXPECT_EQ(vexp(1000.0), INFINITY);
  EXPECT_EQ(vexp(-1000.0), 0.0);
  EXPECT_EQ(vexp(200.0f), INFINITY);
  EXPECT_EQ(vexp(-200.0f), 0.0f);
  EXPECT_EQ(vexp(0.0), 1.0);
  EXPECT_NEAR(vexp(709.7), std::exp(709.7), 1e-14 * std::exp(709.7));
  EXPECT_NEAR(vexp(-740.0), std::exp(-740.0), 1e-323);  // subnormal result
}

TEST(VecMath, SigmoidIsStableAtBothEnds) {
  for (double x : {-800.0, -40.0, -1.0, 0.0, 0.5, 30.0, 800.0}) {
    double want = x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
    EXPECT_NEAR(vsigmoid(x), want, 1e-15) << x;
    EXPECT_NEAR(vsigmoid(static_cast<float>(x)), static_cast<float>(want), 1e-7f) << x;
  }
  EXPECT_TRUE(std::isnan(vsigmoid(NAN)));
}

TEST(VecMath, TanhMatchesLibm) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int i = 0; i < 200000; ++i) {
    // Magnitudes from 1e-12 to 1e3, both signs, across the series/formula switch at 0.1.
    double x = u(rng) * std::pow(10.0, -12 + (i % 16));
    double want = std::tanh(x);
    ASSERT_NEAR(vtanh(x), want, 4e-14 * std::fabs(want) + 1e-300) << x;
    float xf = static_cast<float>(x);
    float wf = static_cast<float>(std::tanh(static_cast<double>(xf)));  // correctly rounded
    ASSERT_NEAR(vtanh(xf), wf, 1.2e-7f * std::fabs(wf)) << xf;
  }
  EXPECT_EQ(vtanh(0.0), 0.0);
  EXPECT_EQ(vtanh(800.0), 1.0);
  EXPECT_EQ(vtanh(-800.0), -1.0);
  EXPECT_TRUE(std::isnan(vtanh(NAN)));
}

}  // namespace
}  // namespace gtn::ml
