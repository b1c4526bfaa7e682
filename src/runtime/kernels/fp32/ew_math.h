// Branch-free float exp / sigmoid / tanh written so that GCC auto-vectorises loops calling them
// (libm's expf/tanhf are scalar calls). Plain C++: correct, just scalar, in builds without AVX2.
//   ew_exp: Cephes expf (Cody-Waite reduction + degree-6 polynomial), within 2 ulp on
//           [-87.3, 88.3]; clamps outside that (no inf, no denormals); NaN propagates.
//   ew_sigmoid, ew_tanh: built on ew_exp; tanh uses an odd Taylor polynomial near 0 where
//           1 - 2/(e^2x + 1) would cancel. Max abs error about 1.5e-7 (checked in the unit tests).
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace eq {

inline float ew_exp(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;  // comparisons are false for NaN: it passes through
  x = x < -87.3365447504019f ? -87.3365447504019f : x;
  // Round to nearest with the 1.5 * 2^23 trick (|x * log2e| < 2^22): a libm call here stops GCC
  // from if-converting the clamps above, and with them the whole loop's vectorisation.
  constexpr float kRound = 12582912.0f;
  const float fx = (x * 1.44269504088896341f + kRound) - kRound;
  // ln2 split in two so that fx * 0.693359375 is exact (no FMA needed).
  float r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const float fn = fx == fx ? fx : 0.0f;  // keep the int conversion defined for NaN (y is NaN anyway)
  const int32_t bits = (static_cast<int32_t>(fn) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

inline float ew_sigmoid(float x) { return 1.0f / (1.0f + ew_exp(-x)); }

inline float ew_tanh(float x) {
  const float a = std::fabs(x);
  // Near 0: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 (next term < 2e-12 for |x| < 0.125).
  const float x2 = x * x;
  float p = 62.0f / 2835.0f;
  p = p * x2 - 17.0f / 315.0f;
  p = p * x2 + 2.0f / 15.0f;
  p = p * x2 - 1.0f / 3.0f;
  const float small = x + x * x2 * p;
  // Elsewhere: 1 - 2 / (e^{2|x|} + 1), with the sign put back; e^{2|x|} clamps to 1 - 0 = 1 for large |x|.
  const float t = 1.0f - 2.0f / (ew_exp(2.0f * a) + 1.0f);
  const float big = std::copysign(t, x);
  return a < 0.125f ? small : big;
}

// erf as an odd rational function on [-4, 4] (erf is ±1 in float beyond), degree 13 over 8: the
// minimax fit used by XLA and Eigen for float. Max abs error about 3.3e-7 against std::erf
// (checked in the unit tests); no libm call, so loops over it vectorise.
inline float ew_erf(float x) {
  x = x > 4.0f ? 4.0f : x;
  x = x < -4.0f ? -4.0f : x;
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * x;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return p / q;
}

}  // namespace eq

namespace eq {

// y[i] = f(x[i]) over [0, n) for the ops above, compiled (ew_math.cpp) so that GCC vectorises them.
void ew_sigmoid_span(const float* x, float* y, long n);
void ew_tanh_span(const float* x, float* y, long n);
void ew_gelu_tanh_span(const float* x, float* y, long n);
void ew_erf_span(const float* x, float* y, long n);
void ew_gelu_span(const float* x, float* y, long n);  // exact GELU: x/2 (1 + erf(x/sqrt 2))
// y[i] = exp(x[i] - shift); returns the sum of the y[i] (softmax's inner loop).
float ew_exp_shift_sum(const float* x, float* y, long n, float shift);
// max(x[0..n)), -inf for n = 0 (NaN elements are skipped unless all are NaN).
float ew_max(const float* x, long n);

}  // namespace eq
