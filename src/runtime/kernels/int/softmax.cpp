// int8 softmax over the last axis with TFLite's reference (gemmlowp fixed-point) arithmetic:
// exp of the scaled difference to the row max via exp_on_negative_values (5 integer bits),
// accumulation in Q12.19, reciprocal by Newton-Raphson (one_over_one_plus_x_for_x_in_0_1), output
// rescaled to int8 with scale 1/256 and zero point -128.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "edgequant/int_kernels.h"

namespace eq::intk {

namespace {

constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();

// Raw fixed-point helpers. A value in format Q(I) has I integer bits and 31 - I fractional bits.
inline int32_t fx_mul(int32_t a, int32_t b) { return SaturatingRoundingDoublingHighMul(a, b); }
inline int32_t fx_add(int32_t a, int32_t b) {  // gemmlowp raw add: wraps
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
inline int32_t fx_sub(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
// SaturatingRoundingMultiplyByPOT<exponent>.
inline int32_t mul_pot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return RoundingDivideByPOT(x, -exponent);
  const int32_t min = kI32Min, max = kI32Max;
  const int32_t threshold = static_cast<int32_t>((1LL << (31 - exponent)) - 1);
  if (x > threshold) return max;
  if (x < -threshold) return min;
  return static_cast<int32_t>(static_cast<uint32_t>(x) << exponent);
}
// Rescale from Q(src) to Q(dst).
inline int32_t rescale(int32_t x, int src, int dst) { return mul_pot(x, src - dst); }

// exp(a) for a in [-1/4, 0), a and result in Q0.
int32_t exp_quarter(int32_t a) {
  const int32_t constant_term = 1895147668;      // exp(-1/8)
  const int32_t constant_1_over_3 = 715827883;
  const int32_t x = fx_add(a, 1 << 28);          // a + 1/8
  const int32_t x2 = fx_mul(x, x);
  const int32_t x3 = fx_mul(x2, x);
  const int32_t x4 = fx_mul(x2, x2);
  const int32_t x4_over_4 = mul_pot(x4, -2);
  const int32_t poly =
      mul_pot(fx_add(fx_mul(fx_add(x4_over_4, x3), constant_1_over_3), x2), -1);
  return fx_add(constant_term, fx_mul(constant_term, fx_add(x, poly)));
}

// exp(a) for a <= 0, a in Q(int_bits), result in Q0.
int32_t exp_on_negative_values(int32_t a, int int_bits) {
  const int frac_bits = 31 - int_bits;
  const int32_t one_quarter = static_cast<int32_t>(1LL << (frac_bits - 2));
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_one_quarter = fx_sub(a & mask, one_quarter);
  int32_t result = exp_quarter(rescale(a_mod_quarter_minus_one_quarter, int_bits, 0));
  const int32_t remainder = fx_sub(a_mod_quarter_minus_one_quarter, a);
  // exp(-2^k) for k = -2 .. 4 in Q0.
  static constexpr int32_t kMult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                       39332535,   720401,     242};
  for (int e = -2; e <= 4; ++e) {
    if (int_bits > e) {
      const int shift = frac_bits + e;
      if (shift >= 0 && shift < 31 && (remainder & (1 << shift)) != 0)
        result = fx_mul(result, kMult[e + 2]);
    }
  }
  if (int_bits > 5) {
    const int32_t clamp = -(1 << (frac_bits + 5));
    if (a < clamp) result = 0;
  }
  if (a == 0) result = kI32Max;  // One in Q0 saturates to the max raw value
  return result;
}

// 1 / (1 + x) for x in [0, 1), x in Q0, result in Q0.
int32_t one_over_one_plus_x(int32_t a) {
  // RoundingHalfSum(a, One) with One = INT32_MAX in Q0.
  const int64_t sum = static_cast<int64_t>(a) + kI32Max;
  const int64_t sign = sum >= 0 ? 1 : -1;
  const int32_t half_denominator = static_cast<int32_t>((sum + sign) / 2);
  const int32_t constant_48_over_17 = 1515870810;      // Q2
  const int32_t constant_neg_32_over_17 = -1010580540;  // Q2
  // Q2 + Q0 * Q2 -> Q2.
  int32_t x = fx_add(constant_48_over_17, fx_mul(half_denominator, constant_neg_32_over_17));
  const int32_t one_q2 = 1 << 29;
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = fx_mul(half_denominator, x);  // Q2
    const int32_t one_minus = fx_sub(one_q2, half_denominator_times_x);    // Q2
    x = fx_add(x, rescale(fx_mul(x, one_minus), 4, 2));                    // Q4 -> Q2
  }
  // ExactMulByPot<-1>: same raw bits reinterpreted as Q1; then rescale Q1 -> Q0.
  return rescale(x, 1, 0);
}

}  // namespace

SoftmaxParams MakeSoftmaxParams(float input_scale, float beta) {
  constexpr int kScaledDiffIntegerBits = 5;
  SoftmaxParams p;
  const double real = std::min(static_cast<double>(beta) * static_cast<double>(input_scale) *
                                   static_cast<double>(1LL << (31 - kScaledDiffIntegerBits)),
                               static_cast<double>((1LL << 31) - 1));
  const QuantizedMultiplier m = QuantizeMultiplierGreaterThanOne(real);
  p.input_multiplier = m.multiplier;
  p.input_left_shift = m.shift;
  const double max_input_rescaled = 1.0 * ((1 << kScaledDiffIntegerBits) - 1) *
                                    static_cast<double>(1LL << (31 - kScaledDiffIntegerBits)) /
                                    static_cast<double>(1LL << m.shift);
  p.diff_min = -static_cast<int32_t>(std::floor(max_input_rescaled));
  return p;
}

void Softmax(const SoftmaxParams& p, const int8_t* input, int64_t rows, int depth,
             int8_t* output) {
  constexpr int kScaledDiffIntegerBits = 5;
  constexpr int kAccumulationIntegerBits = 12;
  if (depth <= 0) return;
  // Like TFLite, the Q12.19 sum of exps wraps for depth >= 4096 with all-equal logits.
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t* in = input + r * depth;
    int8_t* out = output + r * depth;
    int32_t max_in_row = std::numeric_limits<int8_t>::lowest();
    for (int c = 0; c < depth; ++c) max_in_row = std::max<int32_t>(max_in_row, in[c]);
    int32_t sum_of_exps = 0;  // Q12
    for (int c = 0; c < depth; ++c) {
      const int32_t diff = static_cast<int32_t>(in[c]) - max_in_row;
      if (diff >= p.diff_min) {
        const int32_t scaled = MultiplyByQuantizedMultiplierGreaterThanOne(
            diff, p.input_multiplier, p.input_left_shift);
        sum_of_exps = fx_add(sum_of_exps,
                             rescale(exp_on_negative_values(scaled, kScaledDiffIntegerBits), 0,
                                     kAccumulationIntegerBits));
      }
    }
    // GetReciprocal(sum_of_exps, 12 integer digits).
    const int headroom_plus_one = std::countl_zero(static_cast<uint32_t>(sum_of_exps));
    const int num_bits_over_unit = kAccumulationIntegerBits - headroom_plus_one;
    const int32_t shifted_sum_minus_one =
        static_cast<int32_t>((static_cast<uint32_t>(sum_of_exps) << headroom_plus_one) -
                             (static_cast<uint32_t>(1) << 31));
    const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
    for (int c = 0; c < depth; ++c) {
      const int32_t diff = static_cast<int32_t>(in[c]) - max_in_row;
      int32_t o = -128;
      if (diff >= p.diff_min) {
        const int32_t scaled = MultiplyByQuantizedMultiplierGreaterThanOne(
            diff, p.input_multiplier, p.input_left_shift);
        const int32_t exp_in_0 = exp_on_negative_values(scaled, kScaledDiffIntegerBits);
        const int32_t unsat =
            RoundingDivideByPOT(fx_mul(shifted_scale, exp_in_0), num_bits_over_unit + 31 - 8);
        o = std::clamp<int32_t>(unsat - 128, -128, 127);
      }
      out[c] = static_cast<int8_t>(o);
    }
  }
}

}  // namespace eq::intk
