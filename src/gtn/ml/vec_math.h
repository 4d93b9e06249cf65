// exp written so that loops over it auto-vectorize (no libm call per element):
// exp(x) = 2^k * p(r), x = k ln2 + r, |r| <= ln2/2, p a Taylor polynomial (degree 11 for
// double: relative error < 1e-14; degree 7 for float). Overflow gives inf, underflow 0
// (through subnormals), NaN stays NaN.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace gtn::ml {

inline double vexp(double x) {
  constexpr double kLog2e = 1.4426950408889634, kLn2Hi = 0.6931471803691238, kLn2Lo = 1.9082149292705877e-10;
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  double xc = x > 709.8 ? 709.8 : (x < -745.2 ? -745.2 : x);
  xc = x != x ? 0.0 : xc;
  double kf = (xc * kLog2e + kShift) - kShift;
  double r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
  double p = 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k from the bits of k + kShift (k in the low bits); k is moved into [-1000, 1000]
  // and the rest applied as a second factor, so subnormal and near-max results work.
  double post = kf < -1000.0 ? 0x1p-60 : (kf > 1000.0 ? 0x1p60 : 1.0);
  double k2 = kf < -1000.0 ? kf + 60.0 : (kf > 1000.0 ? kf - 60.0 : kf);
  uint64_t bits = std::bit_cast<uint64_t>(k2 + kShift);
  double scale = std::bit_cast<double>((bits + 1023) << 52);
  double v = p * scale * post;
  v = x > 709.782712893384 ? std::numeric_limits<double>::infinity() : v;
  v = x < -745.1332191019412 ? 0.0 : v;
  return x != x ? x : v;
}

inline float vexp(float x) {
  constexpr float kLog2e = 1.44269504f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  float xc = x > 88.8f ? 88.8f : (x < -104.0f ? -104.0f : x);
  xc = x != x ? 0.0f : xc;
  float kf = (xc * kLog2e + kShift) - kShift;
  float r = (xc - kf * kLn2Hi) - kf * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  float post = kf < -120.0f ? 0x1p-30f : (kf > 120.0f ? 0x1p30f : 1.0f);
  float k2 = kf < -120.0f ? kf + 30.0f : (kf > 120.0f ? kf - 30.0f : kf);
  uint32_t bits = std::bit_cast<uint32_t>(k2 + kShift);
  float scale = std::bit_cast<float>((bits + 127) << 23);
  float v = p * scale * post;
  v = x > 88.7228394f ? std::numeric_limits<float>::infinity() : v;
  v = x < -103.972084f ? 0.0f : v;
  return x != x ? x : v;
}

// 1 / (1 + e^-x) without overflow: e = exp(-|x|), x >= 0 ? 1/(1+e) : e/(1+e).
template <typename T>
inline T vsigmoid(T x) {
  T ax = x < T(0) ? -x : x;
  T e = vexp(-ax);
  T s = T(1) / (T(1) + e);
  T v = x >= T(0) ? s : e * s;
  return x != x ? x : v;
}

// tanh without a libm call: |x| < 0.1 by its Taylor series to x^17 (terms shrink by
// (2x/pi)^2 < 0.005), else (1 - e) / (1 + e) with e = exp(-2|x|), where 1 - e > 0.18 has no
// cancellation. Relative error < 4e-14 (vexp's error carried through); the float version
// rounds the double one.
inline double vtanh(double x) {
  double a = x < 0 ? -x : x;
  double e = vexp(-2.0 * a);
  double big = (1.0 - e) / (1.0 + e);
  double z = a * a;
  double p = 6404582.0 / 10854718875.0;
  p = p * z - 929569.0 / 638512875.0;
  p = p * z + 21844.0 / 6081075.0;
  p = p * z - 1382.0 / 155925.0;
  p = p * z + 62.0 / 2835.0;
  p = p * z - 17.0 / 315.0;
  p = p * z + 2.0 / 15.0;
  p = p * z - 1.0 / 3.0;
  double small = a + a * z * p;
  double v = a < 0.1 ? small : big;
  v = x < 0 ? -v : v;
  return x != x ? x : v;
}

inline float vtanh(float x) { return static_cast<float>(vtanh(static_cast<double>(x))); }

}  // namespace gtn::ml
