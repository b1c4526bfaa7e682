// Fixed-point helpers with TFLite / gemmlowp semantics (see include/edgequant/int_kernels.h).
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>

#include "edgequant/int_kernels.h"

namespace eq::intk {

QuantizedMultiplier QuantizeMultiplier(double m) {
  QuantizedMultiplier r;
  if (m == 0.0) return r;
  int shift = 0;
  const double q = std::frexp(m, &shift);
  // std::round: half away from zero, as TfLiteRound.
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(1LL << 31)));
  assert(q_fixed <= (1LL << 31));
  if (q_fixed == (1LL << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  assert(q_fixed <= std::numeric_limits<int32_t>::max());
  if (shift < -31) {  // every bit would be shifted out: flush to zero
    shift = 0;
    q_fixed = 0;
  }
  // Default (non-TFLITE_SINGLE_ROUNDING) build: no saturation of shift > 30.
  r.multiplier = static_cast<int32_t>(q_fixed);
  r.shift = shift;
  return r;
}

QuantizedMultiplier QuantizeMultiplierSmallerThanOneExp(double m) {
  assert(m > 0.0 && m < 1.0);
  QuantizedMultiplier r = QuantizeMultiplier(m);
  assert(r.shift <= 0);
  return r;
}

QuantizedMultiplier QuantizeMultiplierGreaterThanOne(double m) {
  assert(m > 1.0);
  QuantizedMultiplier r = QuantizeMultiplier(m);
  assert(r.shift >= 0);
  return r;
}

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  // C++ division truncates toward zero, as in gemmlowp.
  const int32_t high = static_cast<int32_t>((ab + nudge) / (1LL << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  assert(exponent >= 0 && exponent <= 31);
  const int32_t mask = static_cast<int32_t>((1LL << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  assert(left_shift <= 31);
  // x * (1 << left_shift) in int32 with two's-complement wraparound (no UB).
  const int32_t shifted =
      static_cast<int32_t>(static_cast<uint32_t>(x) << static_cast<uint32_t>(left_shift));
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, multiplier), right_shift);
}

int32_t MultiplyByQuantizedMultiplierSingleRounding(int32_t x, int32_t multiplier, int shift) {
  assert(shift >= -31 && shift <= 30);
  const int total_shift = 31 - shift;
  const int64_t round = int64_t{1} << (total_shift - 1);
  // Arithmetic right shift of a negative int64 is floor division (C++20 defines it).
  return static_cast<int32_t>((static_cast<int64_t>(x) * multiplier + round) >> total_shift);
}

int32_t MultiplyByQuantizedMultiplierSmallerThanOneExp(int32_t x, int32_t multiplier,
                                                       int left_shift) {
  assert(left_shift <= 0);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x, multiplier), -left_shift);
}

int32_t MultiplyByQuantizedMultiplierGreaterThanOne(int32_t x, int32_t multiplier,
                                                    int left_shift) {
  assert(left_shift >= 0);
  const int32_t shifted =
      static_cast<int32_t>(static_cast<uint32_t>(x) << static_cast<uint32_t>(left_shift));
  return SaturatingRoundingDoublingHighMul(shifted, multiplier);
}

std::vector<QuantizedMultiplier> ConvMultipliers(float input_scale,
                                                 const std::vector<float>& filter_scales,
                                                 float output_scale) {
  std::vector<QuantizedMultiplier> r;
  r.reserve(filter_scales.size());
  for (float fs : filter_scales)
    r.push_back(QuantizeMultiplier(static_cast<double>(input_scale) * static_cast<double>(fs) /
                                   static_cast<double>(output_scale)));
  return r;
}

}  // namespace eq::intk
