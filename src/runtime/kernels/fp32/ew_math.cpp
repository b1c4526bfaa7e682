// The vectorised loops over ew_math.h's functions. GCC only if-converts (and so vectorises) the
// clamps in ew_exp with -fno-trapping-math; that flag changes no result, it only lets the
// compiler ignore floating-point exception flags, which nothing here reads.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "ew_math.h"

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

}  // namespace eq
