// int8 x int8 matmul with TFLite's reference BatchMatMul arithmetic (one batch; the graph kernel
// walks the broadcast batch dims).
#include <algorithm>
#include <cstdint>

#include "edgequant/int_kernels.h"

namespace eq::intk {

MatMulParams MakeMatMulParams(float s_a, int32_t zp_a, float s_b, int32_t zp_b, float s_out,
                              int32_t zp_out) {
  MatMulParams p;
  p.lhs_offset = -zp_a;
  p.rhs_offset = -zp_b;
  p.output_offset = zp_out;
  p.output = QuantizeMultiplier(static_cast<double>(s_a) * static_cast<double>(s_b) /
                                static_cast<double>(s_out));
  return p;
}

void MatMul(const MatMulParams& p, const int8_t* a, const int8_t* b, int8_t* out) {
  for (int i = 0; i < p.m; ++i) {
    const int8_t* ar = a + static_cast<int64_t>(i) * p.k;
    for (int j = 0; j < p.n; ++j) {
      int32_t acc = 0;
      for (int t = 0; t < p.k; ++t)
        acc += (static_cast<int32_t>(ar[t]) + p.lhs_offset) *
               (static_cast<int32_t>(b[static_cast<int64_t>(t) * p.n + j]) + p.rhs_offset);
      acc = MultiplyByQuantizedMultiplier(acc, p.output.multiplier, p.output.shift) + p.output_offset;
      out[static_cast<int64_t>(i) * p.n + j] = static_cast<int8_t>(std::clamp(acc, p.act_min, p.act_max));
    }
  }
}

}  // namespace eq::intk
