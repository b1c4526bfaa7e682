// int8 average / max pooling (NCHW) and spatial mean, TFLite reference_integer_ops::AveragePool /
// MaxPool / Mean arithmetic.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#include "edgequant/int_kernels.h"

namespace eq::intk {

int Pool2DParams::out_h() const { return (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1; }
int Pool2DParams::out_w() const { return (in_w + pad_left + pad_right - kernel_w) / stride_w + 1; }

namespace {

// Rounded division as TFLite's int8 pooling / mean: ties away from zero (truncating division).
inline int32_t round_div(int32_t acc, int32_t count) {
  return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

template <bool kMax>
void pool(const Pool2DParams& p, const int8_t* input, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  const int64_t planes = static_cast<int64_t>(p.batch) * p.channels;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int8_t* in = input + pl * p.in_h * p.in_w;
    int8_t* out = output + pl * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      const int iy0 = oy * p.stride_h - p.pad_top;
      const int ky0 = std::max(0, -iy0), ky1 = std::min(p.kernel_h, p.in_h - iy0);
      for (int ox = 0; ox < ow; ++ox) {
        const int ix0 = ox * p.stride_w - p.pad_left;
        const int kx0 = std::max(0, -ix0), kx1 = std::min(p.kernel_w, p.in_w - ix0);
        int32_t acc = kMax ? std::numeric_limits<int8_t>::lowest() : 0;
        int32_t count = 0;
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx) {
            const int32_t v = in[static_cast<int64_t>(iy0 + ky) * p.in_w + ix0 + kx];
            acc = kMax ? std::max(acc, v) : acc + v;
            ++count;
          }
        if (!kMax) acc = count == 0 ? 0 : round_div(acc, count);
        out[static_cast<int64_t>(oy) * ow + ox] =
            static_cast<int8_t>(std::clamp(acc, p.act_min, p.act_max));
      }
    }
  }
}

}  // namespace

void AveragePool(const Pool2DParams& p, const int8_t* input, int8_t* output) {
  pool<false>(p, input, output);
}
void MaxPool(const Pool2DParams& p, const int8_t* input, int8_t* output) {
  pool<true>(p, input, output);
}

void MeanHW(int batch, int channels, int h, int w, const int8_t* input, float in_scale,
            int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output) {
  const QuantizedMultiplier m =
      QuantizeMultiplier(static_cast<double>(in_scale) / static_cast<double>(out_scale));
  const int64_t n = static_cast<int64_t>(h) * w;
  // Fold 1/n into the multiplier: pre-shift by floor(log2 n) (at most 32, and at most 31 + shift)
  // then divide the multiplier by n with truncation.
  int pre = 0;
  if (n > 0) {
    pre = std::bit_width(static_cast<uint64_t>(n)) - 1;
    pre = std::min(pre, 32);
    pre = std::min(pre, 31 + m.shift);
  }
  const int32_t mult =
      n > 0 ? static_cast<int32_t>((static_cast<int64_t>(m.multiplier) << pre) / n) : 0;
  const int shift = m.shift - pre;
  for (int64_t pl = 0; pl < static_cast<int64_t>(batch) * channels; ++pl) {
    const int8_t* in = input + pl * n;
    int32_t acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += static_cast<int32_t>(in[i]) - in_zp;
    acc = MultiplyByQuantizedMultiplier(acc, mult, shift) + out_zp;
    output[pl] = static_cast<int8_t>(std::clamp<int32_t>(acc, -128, 127));
  }
}

}  // namespace eq::intk
