// The vectorised loops over ew_math.h's functions. GCC only if-converts (and so vectorises) the
// clamps in ew_exp with -fno-trapping-math; that flag changes no result, it only lets the
// compiler ignore floating-point exception flags, which nothing here reads.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ew_math.h"

#include <limits>

namespace eq {

void ew_sigmoid_span(const float* __restrict x, float* __restrict y, long n) {
  for (long i = 0; i < n; ++i) y[i] = ew_sigmoid(x[i]);
}

void ew_tanh_span(const float* __restrict x, float* __restrict y, long n) {
  for (long i = 0; i < n; ++i) y[i] = ew_tanh(x[i]);
}

void ew_gelu_tanh_span(const float* __restrict x, float* __restrict y, long n) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (long i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + ew_tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void ew_erf_span(const float* __restrict x, float* __restrict y, long n) {
  for (long i = 0; i < n; ++i) y[i] = ew_erf(x[i]);
}

void ew_gelu_span(const float* __restrict x, float* __restrict y, long n) {
  for (long i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.0f + ew_erf(x[i] * 0.7071067811865476f));
}

// Reductions keep 16 partial results so that GCC vectorises them without -ffast-math (which would
// let it reassociate a single running sum or max).
float ew_exp_shift_sum(const float* __restrict x, float* __restrict y, long n, float shift) {
  for (long i = 0; i < n; ++i) y[i] = ew_exp(x[i] - shift);
  float part[16] = {};
  long i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) part[j] += y[i + j];
  float s = 0.f;
  for (; i < n; ++i) s += y[i];
  for (int j = 0; j < 16; ++j) s += part[j];
  return s;
}

float ew_max(const float* __restrict x, long n) {
  float part[16];
  for (float& p : part) p = -std::numeric_limits<float>::infinity();
  long i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) part[j] = x[i + j] > part[j] ? x[i + j] : part[j];
  float m = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < 16; ++j) m = part[j] > m ? part[j] : m;
  return m;
}

}  // namespace eq
