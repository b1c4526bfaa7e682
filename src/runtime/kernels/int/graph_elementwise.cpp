// Kernels of quantized.add / sub / mul (numpy broadcasting, TFLite ADD / MUL arithmetic with the fused
// activation's act_min/act_max), quantized.lookup_table and quantized.requantize.
#include <memory>

#include "edgequant/int_kernels.h"
#include "edgequant/kernel.h"
#include "graph_common.h"
#include "graph_kernels.h"

namespace eq {
namespace {

template <class Params>
void set_act(Params& p, const Attrs& a) {
  p.act_min = static_cast<int32_t>(a.i("act_min", -128));
  p.act_max = static_cast<int32_t>(a.i("act_max", 127));
}

template <bool kAdd>
KernelFactory binary_factory(bool subtract = false) {
  return [subtract](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Attrs& at = info.node.attrs;
    const qk::QParam a = qk::qparam(at, "a"), b = qk::qparam(at, "b"), o = qk::qparam(at, "out");
    const Shape sa = info.inputs.at(0).shape, sb = info.inputs.at(1).shape;
    const bool same = sa == sb;
    if constexpr (kAdd) {
      intk::AddParams p = subtract ? intk::MakeSubParams(a.scale, a.zp, b.scale, b.zp, o.scale, o.zp)
                                   : intk::MakeAddParams(a.scale, a.zp, b.scale, b.zp, o.scale, o.zp);
      set_act(p, at);
      return std::make_unique<FunctionKernel>([p, sa, sb, same](KernelContext& ctx) {
        const int8_t* x = ctx.in(0).data<int8_t>();
        const int8_t* y = ctx.in(1).data<int8_t>();
        int8_t* out = ctx.out(0).data<int8_t>();
        if (same) intk::Add(p, x, y, out, ctx.out(0).numel());
        else intk::BroadcastAdd(p, x, sa, y, sb, out);
      });
    } else {
      intk::MulParams p = intk::MakeMulParams(a.scale, a.zp, b.scale, b.zp, o.scale, o.zp);
      set_act(p, at);
      return std::make_unique<FunctionKernel>([p, sa, sb, same](KernelContext& ctx) {
        const int8_t* x = ctx.in(0).data<int8_t>();
        const int8_t* y = ctx.in(1).data<int8_t>();
        int8_t* out = ctx.out(0).data<int8_t>();
        if (same) intk::Mul(p, x, y, out, ctx.out(0).numel());
        else intk::BroadcastMul(p, x, sa, y, sb, out);
      });
    }
  };
}

}  // namespace

void register_quantized_elementwise_kernels() {
  register_int8_kernel("quantized.add", binary_factory<true>());
  register_int8_kernel("quantized.mul", binary_factory<false>());
  register_int8_kernel("quantized.sub", binary_factory<true>(/*subtract=*/true));
  register_int8_kernel("quantized.lookup_table", stateless([](KernelContext& ctx) {
                    intk::LookupTable(ctx.in(1).data<int8_t>(), ctx.in(0).data<int8_t>(), ctx.in(0).numel(),
                                      ctx.out(0).data<int8_t>());
                  }));
  register_int8_kernel("quantized.requantize", [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const qk::QParam x = qk::qparam(info.node.attrs, "x"), o = qk::qparam(info.node.attrs, "out");
    const intk::RequantizeParams p = intk::MakeRequantizeParams(x.scale, x.zp, o.scale, o.zp);
    return std::make_unique<FunctionKernel>([p](KernelContext& ctx) {
      intk::Requantize(p, ctx.in(0).data<int8_t>(), ctx.in(0).numel(), ctx.out(0).data<int8_t>());
    });
  });
}

}  // namespace eq
