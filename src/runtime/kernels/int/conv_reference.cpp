// Direct reference loops; see conv_reference.h.
#include "conv_reference.h"

#include <algorithm>
#include <cstdint>

namespace eq::intk {

namespace {

inline int8_t finish(const OutputRequant& o, int channel, int32_t acc) {
  const QuantizedMultiplier& m = o.at(channel);
  acc = o.single_rounding ? MultiplyByQuantizedMultiplierSingleRounding(acc, m.multiplier, m.shift)
                         : MultiplyByQuantizedMultiplier(acc, m.multiplier, m.shift);
  acc += o.output_offset;
  acc = std::clamp(acc, o.act_min, o.act_max);
  return static_cast<int8_t>(acc);
}

// Accumulates one (input channel plane, filter plane) pair at output position (oy, ox).
inline int32_t plane_dot(const Conv2DParams& p, const int8_t* in_plane, const int8_t* f_plane,
                         int oy, int ox) {
  int32_t acc = 0;
  const int iy0 = oy * p.stride_h - p.pad_top;
  const int ix0 = ox * p.stride_w - p.pad_left;
  for (int ky = 0; ky < p.kernel_h; ++ky) {
    const int iy = iy0 + ky * p.dilation_h;
    if (iy < 0 || iy >= p.in_h) continue;
    for (int kx = 0; kx < p.kernel_w; ++kx) {
      const int ix = ix0 + kx * p.dilation_w;
      if (ix < 0 || ix >= p.in_w) continue;
      const int32_t iv = in_plane[static_cast<int64_t>(iy) * p.in_w + ix];
      const int32_t fv = f_plane[ky * p.kernel_w + kx];
      acc += fv * (iv + p.input_offset);
    }
  }
  return acc;
}

}  // namespace

void Conv2DReference(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                     const int32_t* bias, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  const int groups = std::max(p.groups, 1);
  const int icg = p.in_channels / groups, ocg = p.out_channels / groups;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const int64_t f_plane = static_cast<int64_t>(p.kernel_h) * p.kernel_w;
  for (int n = 0; n < p.batch; ++n) {
    const int8_t* in_n = input + static_cast<int64_t>(n) * p.in_channels * in_plane;
    for (int oc = 0; oc < p.out_channels; ++oc) {
      const int8_t* in_g = in_n + static_cast<int64_t>(oc / ocg) * icg * in_plane;
      int8_t* out_plane = output + (static_cast<int64_t>(n) * p.out_channels + oc) * oh * ow;
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          int32_t acc = 0;
          for (int ic = 0; ic < icg; ++ic)
            acc += plane_dot(p, in_g + ic * in_plane,
                             filter + (static_cast<int64_t>(oc) * icg + ic) * f_plane, oy, ox);
          if (bias) acc += bias[oc];
          out_plane[static_cast<int64_t>(oy) * ow + ox] = finish(p.out, oc, acc);
        }
      }
    }
  }
}

void DepthwiseConv2DReference(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  const int mult = p.out_channels / p.in_channels;
  const int64_t in_plane = static_cast<int64_t>(p.in_h) * p.in_w;
  const int64_t f_plane = static_cast<int64_t>(p.kernel_h) * p.kernel_w;
  for (int n = 0; n < p.batch; ++n) {
    for (int oc = 0; oc < p.out_channels; ++oc) {
      const int c = oc / mult;
      const int8_t* in_c = input + (static_cast<int64_t>(n) * p.in_channels + c) * in_plane;
      int8_t* out_plane = output + (static_cast<int64_t>(n) * p.out_channels + oc) * oh * ow;
      for (int oy = 0; oy < oh; ++oy) {
        for (int ox = 0; ox < ow; ++ox) {
          int32_t acc = plane_dot(p, in_c, filter + oc * f_plane, oy, ox);
          if (bias) acc += bias[oc];
          out_plane[static_cast<int64_t>(oy) * ow + ox] = finish(p.out, oc, acc);
        }
      }
    }
  }
}

void FullyConnectedReference(const FullyConnectedParams& p_in, const int8_t* input,
                             const int8_t* weights, const int32_t* bias, int8_t* output) {
  FullyConnectedParams p = p_in;
  p.out.single_rounding = true;  // TFLite's FULLY_CONNECTED rounds once (int_kernels.h)
  for (int b = 0; b < p.batch; ++b) {
    const int8_t* x = input + static_cast<int64_t>(b) * p.in_features;
    for (int o = 0; o < p.out_features; ++o) {
      const int8_t* w = weights + static_cast<int64_t>(o) * p.in_features;
      int32_t acc = 0;
      for (int i = 0; i < p.in_features; ++i)
        acc += static_cast<int32_t>(w[i]) * (static_cast<int32_t>(x[i]) + p.input_offset);
      if (bias) acc += bias[o];
      output[static_cast<int64_t>(b) * p.out_features + o] = finish(p.out, o, acc);
    }
  }
}

}  // namespace eq::intk
