// Quantization parameters (scale, zero point, integer range) and the arithmetic that produces
// and applies them. calculate_qparams reproduces torch.ao.quantization.observer's
// UniformQuantizationObserverBase._calculate_qparams bit for bit, in float32 as torch does:
//
//   min_neg = min(min, 0), max_pos = max(max, 0)
//   symmetric: scale = max(max(-min_neg, max_pos) / ((qmax - qmin) / 2), eps)
//              zero point 0 for signed types; for u8 128 (torch's constant) unless the range was
//              customised, then floor((qmin + qmax) / 2) as torch does
//   affine:    scale = max((max_pos - min_neg) / (qmax - qmin), eps)
//              zero point = clamp(qmin - round_half_even(min_neg / scale), qmin, qmax)
//   uninitialised (min = +inf, max = -inf, or no values at all): scale 1, zero point 0.
//
// Note on min == max (a constant tensor): torch's docstring says "scale 1, zero point 0", but its
// code does not special-case it; a constant c gives the ordinary formula (scale |c| / range or
// eps when c == 0). We follow the code, because that is what a PyTorch-converted model holds.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "edgequant/dtype.h"

namespace eq {

enum class QuantizationScheme : uint8_t {
  per_tensor_affine,
  per_tensor_symmetric,
  per_channel_affine,
  per_channel_symmetric,
};

bool scheme_is_symmetric(QuantizationScheme s);
bool scheme_is_per_channel(QuantizationScheme s);
std::string_view scheme_name(QuantizationScheme s);
// Parses names as printed by scheme_name; throws eq::Error otherwise.
QuantizationScheme scheme_from_name(std::string_view name);

struct QRange {
  int64_t qmin = 0;
  int64_t qmax = 0;
};

// The full integer range of a quantized dtype (i8, u8, i16, i32, i4, u4); throws eq::Error for
// float and other dtypes. reduce_range drops one bit the way torch's calculate_qmin_qmax does:
// i8 [-64, 63], u8 [0, 127]. torch ignores reduce_range for the other dtypes on its default path;
// we halve them with floor division (as torch's custom-range path does): i16 [-16384, 16383].
QRange qrange_for(DType dtype, bool reduce_range = false);

struct QParams {
  std::vector<float> scale;        // one per channel, or one for per-tensor
  std::vector<int32_t> zero_point;  // same length as scale
  int axis = -1;                    // channel axis, -1 for per-tensor
  DType dtype = DType::u8;
  int64_t qmin = 0;
  int64_t qmax = 255;

  bool per_channel() const { return axis >= 0; }
};

// torch.finfo(torch.float32).eps, torch's default observer eps (2^-23).
inline constexpr float kDefaultQuantEps = std::numeric_limits<float>::epsilon();

// Scale and zero point for each (min, max) pair; see the file comment. `customized_qrange` says
// that qmin/qmax were given by the user rather than derived from the dtype (torch's
// has_customized_qrange); it only changes the u8 symmetric zero point. Throws eq::Error when
// min > max for a pair, when the lengths differ, or when qmin >= qmax.
QParams calculate_qparams(const std::vector<float>& min_vals, const std::vector<float>& max_vals,
                          QuantizationScheme scheme, int64_t qmin, int64_t qmax,
                          float eps = kDefaultQuantEps, DType dtype = DType::u8,
                          bool customized_qrange = false);

// q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)
int64_t quantize_value(float x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax);
// (q - zero_point) * scale
float dequantize_value(int64_t q, float scale, int64_t zero_point);

}  // namespace eq
