// Elementwise kernels: binary arithmetic with numpy broadcasting (f32 and integer dtypes, the
// latter for constant folding of shape arithmetic) and the unary activations.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "../kernel_families.h"
#include "broadcast.h"
#include "ew_math.h"
#include "edgequant/kernel.h"

namespace eq {
namespace {

// ---- binary ---------------------------------------------------------------------------------

// Integer arithmetic wraps (through the unsigned type) instead of being undefined on overflow.
template <class T>
using U = std::make_unsigned_t<T>;

struct AddOp {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<U<T>>(a) + static_cast<U<T>>(b));
    else return a + b;
  }
};
struct SubOp {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) return static_cast<T>(static_cast<U<T>>(a) - static_cast<U<T>>(b));
    else return a - b;
  }
};
struct MulOp {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      // Promote small types so that the unsigned multiply does not go through int.
      using W = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, U<T>>;
      return static_cast<T>(static_cast<W>(static_cast<U<T>>(a)) * static_cast<W>(static_cast<U<T>>(b)));
    } else {
      return a * b;
    }
  }
};
struct DivOp {
  // Integer division truncates toward zero (C, ONNX). Zero divisors are rejected before the loop;
  // x / -1 is computed as a wrapping negation (INT_MIN / -1 would trap).
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (b == -1) return static_cast<T>(U<T>(0) - static_cast<U<T>>(a));
      }
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};

template <class T>
void check_no_zero(const KernelContext& ctx, const Tensor& b) {
  const T* p = b.data<T>();
  for (int64_t i = 0; i < b.numel(); ++i)
    if (p[i] == 0) throw Error(ctx.node.describe() + ": integer division by zero");
}

void check_no_batch_token(const KernelContext& ctx, const Tensor& t) {
  if (t.dtype() != DType::i64) return;
  const int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (p[i] == kBatchToken)
      throw Error(ctx.node.describe() +
                  ": arithmetic on the symbolic batch size (a Shape value); the model computes with the batch "
                  "dimension, which needs a fixed batch");
}

template <class Op>
KernelFactory binary_factory(bool is_div) {
  return [is_div](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const Shape& out = info.outputs.at(0).second;
    auto plan = std::make_shared<BroadcastPlan>(make_broadcast_plan(info.inputs.at(0).shape, info.inputs.at(1).shape, out));
    const DType dtype = info.outputs.at(0).first;
    return std::make_unique<FunctionKernel>([plan, dtype, is_div](KernelContext& ctx) {
      const Tensor& a = ctx.in(0);
      const Tensor& b = ctx.in(1);
      Tensor& o = ctx.out(0);
      auto run = [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T>) {
          check_no_batch_token(ctx, a);
          check_no_batch_token(ctx, b);
          if (is_div) check_no_zero<T>(ctx, b);
        }
        broadcast_run(*plan, a.data<T>(), b.data<T>(), o.data<T>(), Op{}, std::is_floating_point_v<T>);
      };
      switch (dtype) {
        case DType::f32: run(float{}); break;
        case DType::i64: run(int64_t{}); break;
        case DType::i32: run(int32_t{}); break;
        case DType::i16: run(int16_t{}); break;
        case DType::i8: run(int8_t{}); break;
        case DType::u8: run(uint8_t{}); break;
        default: throw Error(ctx.node.describe() + ": no kernel for dtype " + std::string(dtype_name(dtype)));
      }
    });
  };
}

// pow(base, exponent): f32 base in float (std::pow), integer base through double then truncated
// (ONNX reference: numpy power cast back to the base type).
template <class TA, class TB>
void run_pow(const BroadcastPlan& plan, const Tensor& a, const Tensor& b, Tensor& o) {
  if constexpr (std::is_same_v<TA, float>) {
    const bool scalar_exp = b.numel() == 1 && a.numel() == o.numel();
    const float e = scalar_exp ? static_cast<float>(b.data<TB>()[0]) : 0.0f;
    if (scalar_exp && (e == 2.0f || e == 1.0f)) {  // exact shortcuts: powf(x, 2) == x * x
      const float* x = a.data<float>();
      float* y = o.data<float>();
      if (e == 2.0f)
        parallel_for(static_cast<long>(o.numel()), kEwGrain, [&](long s, long t) {
          for (long i = s; i < t; ++i) y[i] = x[i] * x[i];
        });
      else
        parallel_for(static_cast<long>(o.numel()), kEwGrain, [&](long s, long t) {
          for (long i = s; i < t; ++i) y[i] = x[i];
        });
      return;
    }
    broadcast_run(plan, a.data<float>(), b.data<TB>(), o.data<float>(),
                  [](float x, TB y) { return std::pow(x, static_cast<float>(y)); });
  } else {
    broadcast_run(
        plan, a.data<TA>(), b.data<TB>(), o.data<TA>(),
        [](TA x, TB y) { return static_cast<TA>(std::pow(static_cast<double>(x), static_cast<double>(y))); }, false);
  }
}

KernelFactory pow_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    auto plan = std::make_shared<BroadcastPlan>(
        make_broadcast_plan(info.inputs.at(0).shape, info.inputs.at(1).shape, info.outputs.at(0).second));
    return std::make_unique<FunctionKernel>([plan](KernelContext& ctx) {
      const Tensor& a = ctx.in(0);
      const Tensor& b = ctx.in(1);
      Tensor& o = ctx.out(0);
      auto with_base = [&](auto base_tag) {
        using TA = decltype(base_tag);
        switch (b.dtype()) {
          case DType::f32: run_pow<TA, float>(*plan, a, b, o); break;
          case DType::i64: run_pow<TA, int64_t>(*plan, a, b, o); break;
          case DType::i32: run_pow<TA, int32_t>(*plan, a, b, o); break;
          default: throw Error(ctx.node.describe() + ": unsupported exponent dtype");
        }
      };
      switch (a.dtype()) {
        case DType::f32: with_base(float{}); break;
        case DType::i64: with_base(int64_t{}); break;
        case DType::i32: with_base(int32_t{}); break;
        default: throw Error(ctx.node.describe() + ": unsupported base dtype");
      }
    });
  };
}

// prelu: y = x < 0 ? slope * x : x, slope broadcast to x.
KernelFactory prelu_factory() {
  return [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    auto plan = std::make_shared<BroadcastPlan>(
        make_broadcast_plan(info.inputs.at(0).shape, info.inputs.at(1).shape, info.outputs.at(0).second));
    return std::make_unique<FunctionKernel>([plan](KernelContext& ctx) {
      broadcast_run(*plan, ctx.in(0).data<float>(), ctx.in(1).data<float>(), ctx.out(0).data<float>(),
                    [](float x, float s) { return x < 0.0f ? x * s : x; });
    });
  };
}

// ---- unary ----------------------------------------------------------------------------------

template <class T, class Op>
void unary_run(const Tensor& x, Tensor& y, const Op& op, long grain = kEwGrain) {
  const T* __restrict src = x.data<T>();
  T* __restrict dst = y.data<T>();
  parallel_for(static_cast<long>(x.numel()), grain, [&](long s, long e) {
    for (long i = s; i < e; ++i) dst[i] = op(src[i]);
  });
}

// A kernel for an f32-only unary op whose functor is built from the node's attributes.
template <class MakeOp>
KernelFactory unary_f32(MakeOp make, long grain = kEwGrain) {
  return [make, grain](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    auto op = make(info.node.attrs);
    return std::make_unique<FunctionKernel>(
        [op, grain](KernelContext& ctx) { unary_run<float>(ctx.in(0), ctx.out(0), op, grain); });
  };
}

// A kernel for a unary op defined for f32 and the integer dtypes.
template <class Op>
KernelFactory unary_any() {
  return stateless([](KernelContext& ctx) {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    switch (x.dtype()) {
      case DType::f32: unary_run<float>(x, y, Op{}); break;
      case DType::i64: unary_run<int64_t>(x, y, Op{}); break;
      case DType::i32: unary_run<int32_t>(x, y, Op{}); break;
      case DType::i16: unary_run<int16_t>(x, y, Op{}); break;
      case DType::i8: unary_run<int8_t>(x, y, Op{}); break;
      case DType::u8: unary_run<uint8_t>(x, y, Op{}); break;
      default: throw Error(ctx.node.describe() + ": no kernel for dtype " + std::string(dtype_name(x.dtype())));
    }
  });
}

struct ReluOp {
  template <class T> T operator()(T v) const {
    if constexpr (std::is_unsigned_v<T>) return v;
    else return v < T(0) ? T(0) : v;  // keeps NaN, like ONNX
  }
};
struct AbsOp {
  template <class T> T operator()(T v) const {
    if constexpr (std::is_floating_point_v<T>) return std::fabs(v);
    else if constexpr (std::is_unsigned_v<T>) return v;
    else return v < 0 ? static_cast<T>(U<T>(0) - static_cast<U<T>>(v)) : v;
  }
};
struct NegOp {
  template <class T> T operator()(T v) const {
    if constexpr (std::is_floating_point_v<T>) return -v;
    else return static_cast<T>(U<T>(0) - static_cast<U<T>>(v));
  }
};

constexpr long kTranscendentalGrain = 1L << 12;

// A kernel over a vectorised span function (ew_math.cpp), split across threads.
KernelFactory span_kernel(void (*fn)(const float*, float*, long)) {
  return stateless([fn](KernelContext& ctx) {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out(0).data<float>();
    parallel_for(static_cast<long>(ctx.in(0).numel()), kEwGrain / 4, [&](long b, long e) { fn(x + b, y + b, e - b); });
  });
}

}  // namespace

void register_elementwise_kernels() {
  register_kernel("aten.add.Tensor", binary_factory<AddOp>(false));
  register_kernel("aten.sub.Tensor", binary_factory<SubOp>(false));
  register_kernel("aten.mul.Tensor", binary_factory<MulOp>(false));
  register_kernel("aten.div.Tensor", binary_factory<DivOp>(true));
  register_kernel("aten.pow.Tensor_Tensor", pow_factory());
  register_kernel("aten.prelu.default", prelu_factory());

  register_kernel("aten.relu.default", unary_any<ReluOp>());
  register_kernel("aten.abs.default", unary_any<AbsOp>());
  register_kernel("aten.neg.default", unary_any<NegOp>());

  register_kernel("aten.sigmoid.default", span_kernel(ew_sigmoid_span));
  register_kernel("aten.tanh.default", span_kernel(ew_tanh_span));
  register_kernel("aten.exp.default", unary_f32([](const Attrs&) {
    return [](float v) { return std::exp(v); };
  }, kTranscendentalGrain));
  register_kernel("aten.sqrt.default", unary_f32([](const Attrs&) {
    return [](float v) { return std::sqrt(v); };
  }));
  register_kernel("aten.erf.default", span_kernel(ew_erf_span));
  register_kernel("aten.reciprocal.default", unary_f32([](const Attrs&) {
    return [](float v) { return 1.0f / v; };
  }));
  register_kernel("aten.hardswish.default", unary_f32([](const Attrs&) {
    // ONNX HardSwish: x * max(0, min(1, x/6 + 0.5)).
    return [](float v) { return v * std::max(0.0f, std::min(1.0f, v * (1.0f / 6.0f) + 0.5f)); };
  }));
  register_kernel("aten.hardsigmoid.default", unary_f32([](const Attrs& a) {
    const float alpha = static_cast<float>(a.f("alpha", 1.0 / 6.0)), beta = static_cast<float>(a.f("beta", 0.5));
    return [alpha, beta](float v) { return std::max(0.0f, std::min(1.0f, alpha * v + beta)); };
  }));
  register_kernel("aten.leaky_relu.default", unary_f32([](const Attrs& a) {
    const float slope = static_cast<float>(a.f("negative_slope", 0.01));
    return [slope](float v) { return v < 0.0f ? v * slope : v; };
  }));
  register_kernel("aten.hardtanh.default", [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    const double lo = info.node.attrs.f("min_val", -1.0), hi = info.node.attrs.f("max_val", 1.0);
    return std::make_unique<FunctionKernel>([lo, hi](KernelContext& ctx) {
      auto run = [&](auto tag) {
        using T = decltype(tag);
        // Bounds in the tensor's type; an integer tensor saturates infinite bounds to its range.
        auto bound = [](double v) {
          if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(v);
          } else {
            return static_cast<T>(std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                                             static_cast<double>(std::numeric_limits<T>::max())));
          }
        };
        const T l = bound(lo), h = bound(hi);
        // np.clip order: max with the lower bound first, then min with the upper; NaN passes through.
        unary_run<T>(ctx.in(0), ctx.out(0), [l, h](T v) { return std::min(std::max(v, l), h); });
      };
      switch (ctx.in(0).dtype()) {
        case DType::f32: run(float{}); break;
        case DType::i64: run(int64_t{}); break;
        case DType::i32: run(int32_t{}); break;
        case DType::i16: run(int16_t{}); break;
        case DType::i8: run(int8_t{}); break;
        case DType::u8: run(uint8_t{}); break;
        default: throw Error(ctx.node.describe() + ": no kernel for dtype " + std::string(dtype_name(ctx.in(0).dtype())));
      }
    });
  });
  register_kernel("aten.gelu.default", [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    if (info.node.attrs.s("approximate", "none") == "tanh") return span_kernel(ew_gelu_tanh_span)(info);
    return span_kernel(ew_gelu_span)(info);
  });
}

}  // namespace eq
