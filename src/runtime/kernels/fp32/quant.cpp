// Quantize / dequantize kernels, bit-exact with ONNX QuantizeLinear / DequantizeLinear:
//   q = saturate(nearbyint(x / scale) + zero_point)   (x / scale in float, ties to even)
//   y = (q - zero_point) * scale                       (in float; in double for i32, as numpy does)
// Per-tensor is per-channel with one channel; the loop walks the flat range in runs of one
// channel so the inner loop is a plain vectorisable pass.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../kernel_families.h"
#include "edgequant/kernel.h"
#include "runtime/threading.h"

namespace eq {
namespace {

constexpr long kQuantGrain = 1L << 15;

struct ChannelLayout {
  int64_t channels = 1, inner = 1, numel = 0;
};

ChannelLayout layout_of(const Shape& s, bool per_channel, int64_t axis) {
  ChannelLayout l;
  l.numel = 1;
  for (int64_t d : s) l.numel *= d;
  if (!per_channel) {
    l.inner = std::max<int64_t>(1, l.numel);
    return l;
  }
  const int64_t r = static_cast<int64_t>(s.size());
  const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
  l.channels = s[a];
  for (size_t d = a + 1; d < s.size(); ++d) l.inner *= s[d];
  return l;
}

// body(channel, begin, end) over runs of the flat range that share a channel, in parallel.
template <class F>
void for_channel_runs(const ChannelLayout& l, F body) {
  if (l.numel == 0 || l.inner == 0) return;
  parallel_for(static_cast<long>(l.numel), kQuantGrain, [&](long b, long e) {
    int64_t pos = b;
    while (pos < e) {
      const int64_t row = pos / l.inner;
      const int64_t end = std::min<int64_t>(e, (row + 1) * l.inner);
      body(row % l.channels, pos, end);
      pos = end;
    }
  });
}

// Zero points as int64, one per channel (zeros when absent).
std::vector<int64_t> zero_points(const KernelContext& ctx, int64_t channels) {
  if (!ctx.has(2)) return std::vector<int64_t>(static_cast<size_t>(channels), 0);
  const Tensor& z = ctx.in(2);
  std::vector<int64_t> v = z.to_int64_vector();
  if (static_cast<int64_t>(v.size()) == 1 && channels > 1) v.assign(static_cast<size_t>(channels), v[0]);
  return v;
}

// The inner loops take restrict pointers: stores through int8/uint8 may otherwise alias
// everything and stop vectorisation.
template <class Q>
void quantize_span(const float* __restrict x, Q* __restrict q, int64_t n, float s, int64_t zero_point) {
  if constexpr (sizeof(Q) < 4) {
    // Exact in float: |nearbyint(x/s)| beyond 2^24 saturates anyway.
    const float z = static_cast<float>(zero_point);
    constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
    constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
    for (int64_t i = 0; i < n; ++i) {
      const float v = std::nearbyint(x[i] / s) + z;
      q[i] = static_cast<Q>(static_cast<int32_t>(std::max(lo, std::min(v, hi))));  // NaN -> lo, as numpy's int cast + clip
    }
  } else {
    const double z = static_cast<double>(zero_point);
    constexpr double lo = static_cast<double>(std::numeric_limits<Q>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<Q>::max());
    for (int64_t i = 0; i < n; ++i) {
      const double v = static_cast<double>(std::nearbyint(x[i] / s)) + z;
      q[i] = static_cast<Q>(std::max(lo, std::min(v, hi)));
    }
  }
}

template <class Q>
void dequantize_span(const Q* __restrict q, float* __restrict y, int64_t n, float s, int64_t zero_point) {
  if constexpr (std::is_same_v<Q, int32_t>) {
    // numpy: float32(q) - int32 zero point promotes to float64.
    const double z = static_cast<double>(zero_point);
    for (int64_t i = 0; i < n; ++i)
      y[i] = static_cast<float>((static_cast<double>(static_cast<float>(q[i])) - z) * static_cast<double>(s));
  } else {
    const float z = static_cast<float>(zero_point);
    for (int64_t i = 0; i < n; ++i) y[i] = (static_cast<float>(q[i]) - z) * s;
  }
}

template <class Q>
void quantize_run(const KernelContext& ctx, const ChannelLayout& l) {
  const float* x = ctx.in(0).data<float>();
  const float* scale = ctx.in(1).data<float>();
  const std::vector<int64_t> zp = zero_points(ctx, l.channels);
  Q* q = ctx.out(0).data<Q>();
  for_channel_runs(l, [&](int64_t c, int64_t b, int64_t e) {
    quantize_span<Q>(x + b, q + b, e - b, scale[l.channels > 1 ? c : 0], zp[static_cast<size_t>(c)]);
  });
}

template <class Q>
void dequantize_run(const KernelContext& ctx, const ChannelLayout& l) {
  const Q* q = ctx.in(0).data<Q>();
  const float* scale = ctx.in(1).data<float>();
  const std::vector<int64_t> zp = zero_points(ctx, l.channels);
  float* y = ctx.out(0).data<float>();
  for_channel_runs(l, [&](int64_t c, int64_t b, int64_t e) {
    dequantize_span<Q>(q + b, y + b, e - b, scale[l.channels > 1 ? c : 0], zp[static_cast<size_t>(c)]);
  });
}

KernelFactory quant_factory(bool quantize, bool per_channel) {
  return [quantize, per_channel](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const ChannelLayout l = layout_of(info.inputs.at(0).shape, per_channel, info.node.attrs.i("axis", 1));
    const DType qt = quantize ? info.outputs.at(0).first : info.inputs.at(0).dtype;
    return std::make_unique<FunctionKernel>([l, qt, quantize](KernelContext& ctx) {
      auto run = [&](auto tag) {
        using Q = decltype(tag);
        if (quantize) quantize_run<Q>(ctx, l);
        else dequantize_run<Q>(ctx, l);
      };
      switch (qt) {
        case DType::i8: run(int8_t{}); break;
        case DType::u8: run(uint8_t{}); break;
        case DType::i16: run(int16_t{}); break;
        case DType::i32: run(int32_t{}); break;
        default: throw Error(ctx.node.describe() + ": unsupported quantized dtype " + std::string(dtype_name(qt)));
      }
    });
  };
}

}  // namespace

void register_quant_kernels() {
  register_kernel("quantized_decomposed.quantize_per_tensor.default", quant_factory(true, false));
  register_kernel("quantized_decomposed.quantize_per_channel.default", quant_factory(true, true));
  register_kernel("quantized_decomposed.dequantize_per_tensor.default", quant_factory(false, false));
  register_kernel("quantized_decomposed.dequantize_per_channel.default", quant_factory(false, true));
}

}  // namespace eq
