// int8 average / max pooling (NCHW) and spatial mean, TFLite reference_integer_ops::AveragePool /
// MaxPool / Mean arithmetic, and the mean-based extensions (any axes, adaptive pool, pooling that
// changes qparams) sharing MeanHW's multiplier.
#include <algorithm>
#include <cmath>
#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

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
  const bool window2x2 = p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 && p.pad_top == 0 &&
                         p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  if (!window2x2) {
    pool<true>(p, input, output);
    return;
  }
  // The common CNN downsampling window, every window inside the input: the same max and clamp
  // without the per-output window bounds (it was the slowest op of the int8 cnn fixture).
  const int oh = p.out_h(), ow = p.out_w();
  const int64_t planes = static_cast<int64_t>(p.batch) * p.channels;
  for (int64_t pl = 0; pl < planes; ++pl) {
    const int8_t* in = input + pl * p.in_h * p.in_w;
    int8_t* out = output + pl * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      const int8_t* r0 = in + static_cast<int64_t>(2 * oy) * p.in_w;
      const int8_t* r1 = r0 + p.in_w;
      int8_t* o = out + static_cast<int64_t>(oy) * ow;
      for (int ox = 0; ox < ow; ++ox) {
        const int32_t m = std::max(std::max<int32_t>(r0[2 * ox], r0[2 * ox + 1]), std::max<int32_t>(r1[2 * ox], r1[2 * ox + 1]));
        o[ox] = static_cast<int8_t>(std::clamp(m, p.act_min, p.act_max));
      }
    }
  }
}

QuantizedMultiplier MeanMultiplier(float in_scale, float out_scale, int64_t n) {
  const QuantizedMultiplier m =
      QuantizeMultiplier(static_cast<double>(in_scale) / static_cast<double>(out_scale));
  if (n <= 0) return {0, 0};
  // Fold 1/n into the multiplier: pre-shift by floor(log2 n) (at most 32, and at most 31 + shift;
  // QuantizeMultiplier flushes shifts below -31, so this is >= 0) then divide the multiplier by n
  // with truncation.
  int pre = std::bit_width(static_cast<uint64_t>(n)) - 1;
  pre = std::min(pre, 32);
  pre = std::min(pre, 31 + m.shift);
  QuantizedMultiplier r;
  r.multiplier = static_cast<int32_t>((static_cast<int64_t>(m.multiplier) << pre) / n);
  r.shift = m.shift - pre;
  return r;
}

namespace {

inline int8_t finish_mean(int32_t acc, const QuantizedMultiplier& m, int32_t out_zp) {
  acc = MultiplyByQuantizedMultiplier(acc, m.multiplier, m.shift) + out_zp;
  return static_cast<int8_t>(std::clamp<int32_t>(acc, -128, 127));
}

}  // namespace

void MeanHW(int batch, int channels, int h, int w, const int8_t* input, float in_scale,
            int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output) {
  const int64_t n = static_cast<int64_t>(h) * w;
  const QuantizedMultiplier m = MeanMultiplier(in_scale, out_scale, n);
  for (int64_t pl = 0; pl < static_cast<int64_t>(batch) * channels; ++pl) {
    const int8_t* in = input + pl * n;
    int32_t acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += static_cast<int32_t>(in[i]) - in_zp;
    output[pl] = finish_mean(acc, m, out_zp);
  }
}

namespace {
// Sums (q - offset) over the reduced dims into one int32 per output, then output[k] = finish(acc, n).
template <class Finish>
void reduce_sum(const int8_t* input, const std::vector<int64_t>& shape, const std::vector<bool>& reduce,
                int32_t offset, int8_t* output, Finish finish) {
  // Output strides for every input dim (0 for reduced dims): one pass over the input adds each
  // element to its output's int32 accumulator.
  const size_t r = shape.size();
  std::vector<int64_t> ostride(r, 0);
  int64_t out_n = 1, n = 1, total = 1;
  for (size_t k = r; k-- > 0;) {
    total *= shape[k];
    if (reduce[k]) {
      n *= shape[k];
    } else {
      ostride[k] = out_n;
      out_n *= shape[k];
    }
  }
  std::vector<int32_t> acc(static_cast<size_t>(out_n), 0);
  std::vector<int64_t> idx(r, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < total; ++i) {
    acc[static_cast<size_t>(o)] += static_cast<int32_t>(input[i]) - offset;
    for (size_t d = r; d-- > 0;) {  // odometer, keeping the output offset in step
      o += ostride[d];
      if (++idx[d] < shape[d]) break;
      o -= ostride[d] * shape[d];
      idx[d] = 0;
    }
  }
  for (int64_t k = 0; k < out_n; ++k) output[k] = finish(acc[static_cast<size_t>(k)], n);
}
}  // namespace

void Mean(const int8_t* input, const std::vector<int64_t>& shape, const std::vector<bool>& reduce,
          float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (reduce[d]) n *= shape[d];
  const QuantizedMultiplier m = MeanMultiplier(in_scale, out_scale, n);
  reduce_sum(input, shape, reduce, in_zp, output, [&](int32_t acc, int64_t) { return finish_mean(acc, m, out_zp); });
}

void Sum(const int8_t* input, const std::vector<int64_t>& shape, const std::vector<bool>& reduce,
         float in_scale, int32_t in_zp, float out_scale, int32_t out_zp, int8_t* output) {
  // TFLite's int8 SUM (QuantizedMeanOrSum with compute_sum) works in float: the raw sum times
  // scale = s_in / s_out, plus bias = -zp_in * scale * n, rounded half away from zero.
  const float scale = in_scale / out_scale;
  reduce_sum(input, shape, reduce, 0, output, [&](int32_t raw, int64_t n) {
    const float bias = static_cast<float>(-in_zp) * scale * static_cast<float>(n);
    const float v = std::round(static_cast<float>(raw) * scale + bias);
    return static_cast<int8_t>(std::clamp<float>(v + static_cast<float>(out_zp), -128.f, 127.f));
  });
}

void AdaptiveAvgPool2D(int batch, int channels, int in_h, int in_w, int out_h, int out_w,
                       const int8_t* input, float in_scale, int32_t in_zp, float out_scale,
                       int32_t out_zp, int8_t* output) {
  auto start = [](int i, int in, int out) { return static_cast<int>((static_cast<int64_t>(i) * in) / out); };
  auto end = [](int i, int in, int out) {
    return static_cast<int>(((static_cast<int64_t>(i) + 1) * in + out - 1) / out);
  };
  // Bin sizes take few distinct values: cache the multiplier per tap count.
  std::vector<QuantizedMultiplier> by_count(static_cast<size_t>(in_h) * in_w + 1);
  std::vector<char> have(by_count.size(), 0);
  for (int64_t pl = 0; pl < static_cast<int64_t>(batch) * channels; ++pl) {
    const int8_t* in = input + pl * in_h * in_w;
    int8_t* out = output + pl * out_h * out_w;
    for (int oy = 0; oy < out_h; ++oy) {
      const int y0 = start(oy, in_h, out_h), y1 = end(oy, in_h, out_h);
      for (int ox = 0; ox < out_w; ++ox) {
        const int x0 = start(ox, in_w, out_w), x1 = end(ox, in_w, out_w);
        int32_t acc = 0;
        for (int y = y0; y < y1; ++y)
          for (int x = x0; x < x1; ++x) acc += static_cast<int32_t>(in[static_cast<int64_t>(y) * in_w + x]) - in_zp;
        const size_t count = static_cast<size_t>(y1 - y0) * static_cast<size_t>(x1 - x0);
        if (!have[count]) {
          by_count[count] = MeanMultiplier(in_scale, out_scale, static_cast<int64_t>(count));
          have[count] = 1;
        }
        out[static_cast<int64_t>(oy) * out_w + ox] = finish_mean(acc, by_count[count], out_zp);
      }
    }
  }
}

void AveragePoolRequant(const Pool2DParams& p, const int8_t* input, float in_scale, int32_t in_zp,
                        float out_scale, int32_t out_zp, int8_t* output) {
  const int oh = p.out_h(), ow = p.out_w();
  std::vector<QuantizedMultiplier> by_count(static_cast<size_t>(p.kernel_h) * p.kernel_w + 1);
  for (size_t c = 1; c < by_count.size(); ++c)
    by_count[c] = MeanMultiplier(in_scale, out_scale, static_cast<int64_t>(c));
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
        int32_t acc = 0;
        int count = 0;
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx) {
            acc += static_cast<int32_t>(in[static_cast<int64_t>(iy0 + ky) * p.in_w + ix0 + kx]) - in_zp;
            ++count;
          }
        // An empty window (padding >= kernel) averages nothing: the output zero point.
        const int32_t v = count == 0 ? out_zp : finish_mean(acc, by_count[static_cast<size_t>(count)], out_zp);
        out[static_cast<int64_t>(oy) * ow + ox] =
            static_cast<int8_t>(std::clamp<int32_t>(v, p.act_min, p.act_max));
      }
    }
  }
}

}  // namespace eq::intk
