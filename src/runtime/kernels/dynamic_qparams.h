// Run-time qparams of dynamic activation quantization, shared by the choose_qparams kernel and the
// dynamic integer conv/linear kernels (so that the integer op and the fake-quant graph choose the
// same scale and zero point bit for bit).
//
// torch's quantized_decomposed.choose_qparams.tensor: (min, max) = aminmax(x), then
// determine_qparams with per_tensor_affine, i.e. our calculate_qparams (in float32 as torch):
//   min_neg = min(min, 0), max_pos = max(max, 0), scale = max((max_pos - min_neg) / (qmax - qmin), eps),
//   zero point = clamp(qmin - round_half_even(min_neg / scale), qmin, qmax);
// an empty tensor gives scale 1, zero point 0 (torch's check_min_max_valid). torch asserts on NaN
// (min <= max fails); we throw eq::Error naming the node. Inf is refused too (torch would produce an
// infinite scale, which no quantize can use).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "edgequant/error.h"
#include "edgequant/qparams.h"

namespace eq::dynq {

struct Chosen {
  float scale = 1.f;
  int32_t zero_point = 0;
};

inline Chosen choose_qparams(const float* x, int64_t n, int64_t qmin, int64_t qmax, float eps, DType dtype,
                             const std::string& who) {
  float mn = INFINITY, mx = -INFINITY;
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) {
    mn = std::fmin(mn, x[i]);
    mx = std::fmax(mx, x[i]);
    finite = finite && std::isfinite(x[i]);
  }
  check(finite, who + ": choose_qparams: the input holds NaN or Inf");
  const QParams q = calculate_qparams({mn}, {mx}, QuantizationScheme::per_tensor_affine, qmin, qmax, eps, dtype);
  return {q.scale[0], q.zero_point[0]};
}

}  // namespace eq::dynq
