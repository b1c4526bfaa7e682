// Bit-exactness against torch/numpy needs every float op rounded on its own: no FMA contraction
// (g++ contracts a * b + c by default, even with -std=c++20, when -mfma is on).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "edgequant/qparams.h"

#include <algorithm>
#include <cmath>

#include "edgequant/error.h"

namespace eq {

bool scheme_is_symmetric(QuantizationScheme s) {
  return s == QuantizationScheme::per_tensor_symmetric || s == QuantizationScheme::per_channel_symmetric;
}

bool scheme_is_per_channel(QuantizationScheme s) {
  return s == QuantizationScheme::per_channel_affine || s == QuantizationScheme::per_channel_symmetric;
}

std::string_view scheme_name(QuantizationScheme s) {
  switch (s) {
    case QuantizationScheme::per_tensor_affine: return "per_tensor_affine";
    case QuantizationScheme::per_tensor_symmetric: return "per_tensor_symmetric";
    case QuantizationScheme::per_channel_affine: return "per_channel_affine";
    case QuantizationScheme::per_channel_symmetric: return "per_channel_symmetric";
  }
  return "?";
}

QuantizationScheme scheme_from_name(std::string_view name) {
  for (auto s : {QuantizationScheme::per_tensor_affine, QuantizationScheme::per_tensor_symmetric,
                 QuantizationScheme::per_channel_affine, QuantizationScheme::per_channel_symmetric})
    if (scheme_name(s) == name) return s;
  throw Error("unknown quantization scheme '" + std::string(name) + "'");
}

QRange qrange_for(DType dtype, bool reduce_range) {
  switch (dtype) {
    case DType::i8: return reduce_range ? QRange{-64, 63} : QRange{-128, 127};
    case DType::u8: return reduce_range ? QRange{0, 127} : QRange{0, 255};
    default: break;
  }
  QRange r;
  switch (dtype) {
    case DType::i16: r = {-32768, 32767}; break;
    case DType::i32: r = {-2147483648LL, 2147483647LL}; break;
    case DType::i4: r = {-8, 7}; break;
    case DType::u4: r = {0, 15}; break;
    default:
      throw Error("dtype " + std::string(dtype_name(dtype)) + " has no quantized integer range");
  }
  if (reduce_range) {
    // Python floor division, as torch's custom-range path does.
    auto floordiv2 = [](int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); };
    r = {floordiv2(r.qmin), floordiv2(r.qmax)};
  }
  return r;
}

namespace {

// Python's floor division for the (qmin + qmax) // 2 midpoint.
int64_t floor_half(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

}  // namespace

QParams calculate_qparams(const std::vector<float>& min_vals, const std::vector<float>& max_vals,
                          QuantizationScheme scheme, int64_t qmin, int64_t qmax, float eps, DType dtype,
                          bool customized_qrange) {
  check(min_vals.size() == max_vals.size(), "calculate_qparams: " + std::to_string(min_vals.size()) +
                                                " minimums but " + std::to_string(max_vals.size()) + " maximums");
  check(qmin < qmax, "calculate_qparams: qmin " + std::to_string(qmin) + " must be below qmax " + std::to_string(qmax));
  check(qmin <= 0 && 0 <= qmax, "calculate_qparams: the range [" + std::to_string(qmin) + ", " +
                                    std::to_string(qmax) + "] must include 0");
  QParams p;
  p.dtype = dtype;
  p.qmin = qmin;
  p.qmax = qmax;
  p.axis = scheme_is_per_channel(scheme) ? 0 : -1;
  const size_t n = min_vals.size();
  // torch's check_min_max_valid: no values, or a per-tensor pair still at (+inf, -inf).
  const float inf = std::numeric_limits<float>::infinity();
  const bool uninitialised = n == 0 || (n == 1 && min_vals[0] == inf && max_vals[0] == -inf);
  if (uninitialised) {
    p.scale = {1.0f};
    p.zero_point = {0};
    return p;
  }
  for (size_t i = 0; i < n; ++i)
    check(!(min_vals[i] > max_vals[i]), "calculate_qparams: min " + std::to_string(min_vals[i]) +
                                            " is above max " + std::to_string(max_vals[i]));
  p.scale.resize(n);
  p.zero_point.resize(n);
  const bool symmetric = scheme_is_symmetric(scheme);
  int64_t sym_zp = 0;
  if (dtype == DType::u8) sym_zp = customized_qrange ? floor_half(qmin + qmax) : 128;
  else if (dtype == DType::u4) sym_zp = customized_qrange ? floor_half(qmin + qmax) : 8;
  // float(quant_max - quant_min) as torch's Python float, then the tensor op in float32.
  const float span = static_cast<float>(static_cast<double>(qmax - qmin));
  const float half_span = static_cast<float>(static_cast<double>(qmax - qmin) / 2.0);
  for (size_t i = 0; i < n; ++i) {
    const float min_neg = std::min(min_vals[i], 0.0f);
    const float max_pos = std::max(max_vals[i], 0.0f);
    if (symmetric) {
      const float m = std::max(-min_neg, max_pos);
      float scale = m / half_span;
      scale = std::max(scale, eps);
      p.scale[i] = scale;
      p.zero_point[i] = static_cast<int32_t>(sym_zp);
    } else {
      float scale = (max_pos - min_neg) / span;
      scale = std::max(scale, eps);
      const float q = std::nearbyint(min_neg / scale);  // round half to even (default rounding mode)
      int64_t zp = qmin - static_cast<int64_t>(q);
      zp = std::clamp(zp, qmin, qmax);
      p.scale[i] = scale;
      p.zero_point[i] = static_cast<int32_t>(zp);
    }
  }
  return p;
}

int64_t quantize_value(float x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax) {
  const double q = static_cast<double>(std::nearbyint(x / scale)) + static_cast<double>(zero_point);
  if (!(q >= static_cast<double>(qmin))) return qmin;  // also NaN
  if (q > static_cast<double>(qmax)) return qmax;
  return static_cast<int64_t>(q);
}

float dequantize_value(int64_t q, float scale, int64_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

}  // namespace eq
