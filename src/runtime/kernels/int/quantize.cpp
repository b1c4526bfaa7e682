// float <-> int8 quantize / dequantize and int8 -> int8 requantize, TFLite reference semantics.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "edgequant/int_kernels.h"

namespace eq::intk {

void Quantize(const float* in, int64_t n, float scale, int32_t zp, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    // TfLiteRound(val / scale) in float, then + zero point, clamp. TFLite converts the rounded
    // float to int32 first, which is undefined for |val/scale| >= 2^31 (on x86 it yields
    // INT32_MIN, so +1e9 can come out as -128); we clamp in double instead, which is identical
    // whenever TFLite's conversion is defined. NaN maps to the zero point.
    const float r = std::round(in[i] / scale);
    if (std::isnan(r)) {
      out[i] = static_cast<int8_t>(std::clamp<int32_t>(zp, -128, 127));
      continue;
    }
    const double q = std::clamp(static_cast<double>(r) + zp, -128.0, 127.0);
    out[i] = static_cast<int8_t>(q);
  }
}

void Dequantize(const int8_t* in, int64_t n, float scale, int32_t zp, float* out) {
  const double s = static_cast<double>(scale);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(s * static_cast<double>(static_cast<int32_t>(in[i]) - zp));
}

RequantizeParams MakeRequantizeParams(float in_scale, int32_t in_zp, float out_scale,
                                      int32_t out_zp) {
  RequantizeParams p;
  p.in_zp = in_zp;
  p.out_zp = out_zp;
  p.m = QuantizeMultiplier(static_cast<double>(in_scale) / static_cast<double>(out_scale));
  return p;
}

void Requantize(const RequantizeParams& p, const int8_t* in, int64_t n, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = MultiplyByQuantizedMultiplier(static_cast<int32_t>(in[i]) - p.in_zp,
                                                    p.m.multiplier, p.m.shift) +
                      p.out_zp;
    out[i] = static_cast<int8_t>(std::clamp<int32_t>(v, -128, 127));
  }
}

void Requantize(const int8_t* in, int64_t n, float in_scale, int32_t in_zp, float out_scale,
                int32_t out_zp, int8_t* out) {
  Requantize(MakeRequantizeParams(in_scale, in_zp, out_scale, out_zp), in, n, out);
}

}  // namespace eq::intk
