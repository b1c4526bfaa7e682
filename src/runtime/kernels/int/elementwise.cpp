// int8 ADD / MUL with TFLite reference_integer_ops::Add / Mul arithmetic.
#include <algorithm>
#include <cstdint>

#include "edgequant/int_kernels.h"

namespace eq::intk {

AddParams MakeAddParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out,
                        int32_t zp_out) {
  AddParams p;
  p.input1_offset = -zp1;
  p.input2_offset = -zp2;
  p.output_offset = zp_out;
  p.left_shift = 20;  // int8 (TFLite uses 15 for int16)
  const double twice_max_input_scale =
      2.0 * static_cast<double>(std::max(s1, s2));
  const double real_input1 = static_cast<double>(s1) / twice_max_input_scale;
  const double real_input2 = static_cast<double>(s2) / twice_max_input_scale;
  const double real_output =
      twice_max_input_scale / (static_cast<double>(1 << p.left_shift) * static_cast<double>(s_out));
  p.input1 = QuantizeMultiplierSmallerThanOneExp(real_input1);
  p.input2 = QuantizeMultiplierSmallerThanOneExp(real_input2);
  p.output = QuantizeMultiplierSmallerThanOneExp(real_output);
  return p;
}

void Add(const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v1 = p.input1_offset + a[i];
    const int32_t v2 = p.input2_offset + b[i];
    const int32_t sh1 = v1 * (1 << p.left_shift);
    const int32_t sh2 = v2 * (1 << p.left_shift);
    const int32_t sc1 =
        MultiplyByQuantizedMultiplierSmallerThanOneExp(sh1, p.input1.multiplier, p.input1.shift);
    const int32_t sc2 =
        MultiplyByQuantizedMultiplierSmallerThanOneExp(sh2, p.input2.multiplier, p.input2.shift);
    const int32_t raw_sum = sc1 + sc2;
    const int32_t raw_out = MultiplyByQuantizedMultiplierSmallerThanOneExp(
                                raw_sum, p.output.multiplier, p.output.shift) +
                            p.output_offset;
    out[i] = static_cast<int8_t>(std::clamp(raw_out, p.act_min, p.act_max));
  }
}

MulParams MakeMulParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out,
                        int32_t zp_out) {
  MulParams p;
  p.input1_offset = -zp1;
  p.input2_offset = -zp2;
  p.output_offset = zp_out;
  p.output = QuantizeMultiplier(static_cast<double>(s1) * static_cast<double>(s2) /
                                static_cast<double>(s_out));
  return p;
}

void Mul(const MulParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v1 = p.input1_offset + a[i];
    const int32_t v2 = p.input2_offset + b[i];
    const int32_t raw = p.output_offset +
                        MultiplyByQuantizedMultiplier(v1 * v2, p.output.multiplier, p.output.shift);
    out[i] = static_cast<int8_t>(std::clamp(raw, p.act_min, p.act_max));
  }
}

}  // namespace eq::intk
