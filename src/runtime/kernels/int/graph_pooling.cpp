// Kernels of quantized.max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d and mean. 1-D pools run
// as 2-D with H = 1. ceil_mode is honoured by widening the end padding: the integer pools count
// only in-bounds taps, which is also ATen's rule whenever lower_to_integer emits these ops
// (max pool always; avg pool with count_include_pad = 0 or no padding).
#include <memory>
#include <variant>
#include <vector>

#include "edgequant/int_kernels.h"
#include "edgequant/kernel.h"
#include "graph_common.h"
#include "graph_kernels.h"

namespace eq {
namespace {

intk::Pool2DParams pool_params(const KernelCreateInfo& info, size_t k) {
  const Attrs& a = info.node.attrs;
  const Shape& xs = info.inputs.at(0).shape;
  const Shape& os = info.outputs.at(0).second;
  const size_t r = xs.size();
  const std::vector<int64_t> kernel = a.ints("kernel_size");
  std::vector<int64_t> stride = a.ints("stride", std::vector<int64_t>(kernel.size(), 1));  // as the schema: absent = 1
  if (stride.empty()) stride = kernel;
  std::vector<int64_t> pad = a.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
  for (int64_t d : a.ints("dilation", std::vector<int64_t>(k, 1)))
    check(d == 1, info.node.describe() + ": dilated pooling is not supported on int8");
  intk::Pool2DParams p;
  p.batch = r == k + 2 ? static_cast<int>(xs[0]) : 1;
  p.channels = static_cast<int>(xs[r - k - 1]);
  // One spatial axis: index 0 = H (2-D only), 1 = W. Returns {in, kernel, stride, pad_begin, pad_end}.
  auto axis = [&](size_t d) {
    const int64_t in = xs[r - k + d], out = os[r - k + d];
    // End padding that makes the floor formula produce the schema's size (ceil_mode included).
    const int64_t pe = (out - 1) * stride[d] + kernel[d] - in - pad[d];
    return std::vector<int>{static_cast<int>(in), static_cast<int>(kernel[d]), static_cast<int>(stride[d]),
                            static_cast<int>(pad[d]), static_cast<int>(pe)};
  };
  if (k == 2) {
    const std::vector<int> h = axis(0);
    p.in_h = h[0], p.kernel_h = h[1], p.stride_h = h[2], p.pad_top = h[3], p.pad_bottom = h[4];
  } else {
    p.in_h = 1, p.kernel_h = 1, p.stride_h = 1;
  }
  const std::vector<int> w = axis(k - 1);
  p.in_w = w[0], p.kernel_w = w[1], p.stride_w = w[2], p.pad_left = w[3], p.pad_right = w[4];
  return p;
}

KernelFactory max_pool_factory(size_t k) {
  return [k](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const intk::Pool2DParams p = pool_params(info, k);
    const qk::QParam x = qk::qparam(info.node.attrs, "x"), o = qk::qparam(info.node.attrs, "out");
    const bool requant = !(x == o);
    const intk::RequantizeParams rq = intk::MakeRequantizeParams(x.scale, x.zp, o.scale, o.zp);
    return std::make_unique<FunctionKernel>([p, requant, rq](KernelContext& ctx) {
      int8_t* y = ctx.out(0).data<int8_t>();
      intk::MaxPool(p, ctx.in(0).data<int8_t>(), y);
      // Max commutes with the monotone requantization: one rounding either way.
      if (requant) intk::Requantize(rq, y, ctx.out(0).numel(), y);
    });
  };
}

KernelFactory avg_pool_factory(size_t k) {
  return [k](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const intk::Pool2DParams p = pool_params(info, k);
    const Attrs& a = info.node.attrs;
    bool padded = false;
    for (int64_t v : a.ints("padding", {})) padded = padded || v != 0;
    check(!(padded && a.i("count_include_pad", 1)),
          info.node.describe() + ": count_include_pad with padding is not supported on int8");
    const qk::QParam x = qk::qparam(a, "x"), o = qk::qparam(a, "out");
    const bool same = x == o;
    return std::make_unique<FunctionKernel>([p, x, o, same](KernelContext& ctx) {
      if (same) intk::AveragePool(p, ctx.in(0).data<int8_t>(), ctx.out(0).data<int8_t>());
      else intk::AveragePoolRequant(p, ctx.in(0).data<int8_t>(), x.scale, x.zp, o.scale, o.zp, ctx.out(0).data<int8_t>());
    });
  };
}

KernelFactory adaptive_avg_pool_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& xs = info.inputs.at(0).shape;
    const Shape& os = info.outputs.at(0).second;
    const size_t r = xs.size();
    const int batch = r == 4 ? static_cast<int>(xs[0]) : 1, channels = static_cast<int>(xs[r - 3]);
    const int ih = static_cast<int>(xs[r - 2]), iw = static_cast<int>(xs[r - 1]);
    const int oh = static_cast<int>(os[r - 2]), ow = static_cast<int>(os[r - 1]);
    const qk::QParam x = qk::qparam(info.node.attrs, "x"), o = qk::qparam(info.node.attrs, "out");
    return std::make_unique<FunctionKernel>([=](KernelContext& ctx) {
      intk::AdaptiveAvgPool2D(batch, channels, ih, iw, oh, ow, ctx.in(0).data<int8_t>(), x.scale, x.zp, o.scale, o.zp,
                              ctx.out(0).data<int8_t>());
    });
  };
}

KernelFactory mean_factory(bool sum) {
  return [sum](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Attrs& a = info.node.attrs;
    const Shape xs = info.inputs.at(0).shape;
    const int64_t rank = static_cast<int64_t>(xs.size());
    std::vector<int64_t> dims;
    if (a.has("dim")) {
      const AttrValue& v = a.all().at("dim");
      if (const int64_t* one = std::get_if<int64_t>(&v)) dims = {*one};
      else dims = a.ints("dim");
    }
    std::vector<bool> reduce(xs.size(), dims.empty());
    for (int64_t d : dims) reduce[static_cast<size_t>(d < 0 ? d + rank : d)] = true;
    const qk::QParam x = qk::qparam(a, "x"), o = qk::qparam(a, "out");
    return std::make_unique<FunctionKernel>([=](KernelContext& ctx) {
      (sum ? intk::Sum : intk::Mean)(ctx.in(0).data<int8_t>(), xs, reduce, x.scale, x.zp, o.scale, o.zp,
                                     ctx.out(0).data<int8_t>());
    });
  };
}

}  // namespace

void register_quantized_pooling_kernels() {
  register_int8_kernel("quantized.max_pool1d", max_pool_factory(1));
  register_int8_kernel("quantized.max_pool2d", max_pool_factory(2));
  register_int8_kernel("quantized.avg_pool1d", avg_pool_factory(1));
  register_int8_kernel("quantized.avg_pool2d", avg_pool_factory(2));
  register_int8_kernel("quantized.adaptive_avg_pool2d", adaptive_avg_pool_factory());
  register_int8_kernel("quantized.mean", mean_factory(false));
  register_int8_kernel("quantized.sum", mean_factory(true));
}

}  // namespace eq
