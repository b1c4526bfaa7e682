// int32 accumulators of int8 conv2d (any groups) and fully connected, bias included, before any
// requantization: the integer half of a conv/linear whose fused activation (sigmoid, tanh) is
// applied in float. Same sums as Conv2D / FullyConnected in linear.cpp.
#include <cstdint>

#include "edgequant/int_kernels.h"

namespace eq::intk {

void Conv2DAccumulate(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                      const int32_t* bias, int32_t* acc) {
  const int oh = p.out_h(), ow = p.out_w();
  const int groups = p.groups < 1 ? 1 : p.groups;
  const int cin_g = p.in_channels / groups, cout_g = p.out_channels / groups;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const int64_t f_plane = static_cast<int64_t>(p.kernel_h) * p.kernel_w;
  for (int n = 0; n < p.batch; ++n) {
    for (int oc = 0; oc < p.out_channels; ++oc) {
      const int g = oc / cout_g;
      const int8_t* in_g = input + (static_cast<int64_t>(n) * p.in_channels + g * cin_g) * in_plane;
      const int8_t* f_oc = filter + static_cast<int64_t>(oc) * cin_g * f_plane;
      int32_t* out = acc + (static_cast<int64_t>(n) * p.out_channels + oc) * oh * ow;
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          int32_t a = bias ? bias[oc] : 0;
          for (int ic = 0; ic < cin_g; ++ic) {
            const int8_t* in_c = in_g + ic * in_plane;
            const int8_t* f_c = f_oc + ic * f_plane;
            for (int ky = 0; ky < p.kernel_h; ++ky) {
              const int iy = oy * p.stride_h - p.pad_top + ky * p.dilation_h;
              if (iy < 0 || iy >= p.in_h) continue;
              for (int kx = 0; kx < p.kernel_w; ++kx) {
                const int ix = ox * p.stride_w - p.pad_left + kx * p.dilation_w;
                if (ix < 0 || ix >= p.in_w) continue;
                a += static_cast<int32_t>(f_c[ky * p.kernel_w + kx]) *
                     (static_cast<int32_t>(in_c[static_cast<int64_t>(iy) * p.in_w + ix]) + p.input_offset);
              }
            }
          }
          out[static_cast<int64_t>(oy) * ow + ox] = a;
        }
      }
    }
  }
}

void FullyConnectedAccumulate(const FullyConnectedParams& p, const int8_t* input,
                              const int8_t* weights, const int32_t* bias, int32_t* acc) {
  for (int b = 0; b < p.batch; ++b) {
    const int8_t* x = input + static_cast<int64_t>(b) * p.in_features;
    for (int o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + static_cast<int64_t>(o) * p.in_features;
      int32_t a = bias ? bias[o] : 0;
      for (int i = 0; i < p.in_features; ++i)
        a += static_cast<int32_t>(w[i]) * (static_cast<int32_t>(x[i]) + p.input_offset);
      acc[static_cast<int64_t>(b) * p.out_features + o] = a;
    }
  }
}

}  // namespace eq::intk
