// Schemas of the elementwise family: binary arithmetic with numpy broadcasting and the unary
// activations. Shapes may carry the symbolic batch (kBatch); broadcast_shapes treats it like any
// dimension > 1, so no arithmetic on it is ever needed here.
#include <cmath>

#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
namespace {

bool is_plain_integer(DType t) {
  return t == DType::i8 || t == DType::u8 || t == DType::i16 || t == DType::i32 || t == DType::i64;
}

std::string dt(DType t) { return std::string(dtype_name(t)); }

// add/sub/mul/div: f32 or any (unpacked) integer dtype, both inputs the same dtype.
std::vector<OutputInfo> infer_arith(const InferContext& ctx) {
  const ValueInfo& a = ctx.in(0);
  const ValueInfo& b = ctx.in(1);
  ctx.require(a.dtype == DType::f32 || is_plain_integer(a.dtype),
              "dtype " + dt(a.dtype) + " is not supported (f32 or an integer dtype)");
  ctx.require(a.dtype == b.dtype, "input dtypes differ: " + dt(a.dtype) + " and " + dt(b.dtype));
  return {{a.dtype, broadcast_shapes(a.shape, b.shape, ctx.node.describe())}};
}

// pow: base f32 / i32 / i64; exponent f32 / i32 / i64 (ONNX allows mixed types); output = base dtype.
std::vector<OutputInfo> infer_pow(const InferContext& ctx) {
  const ValueInfo& a = ctx.in(0);
  const ValueInfo& b = ctx.in(1);
  auto ok = [](DType t) { return t == DType::f32 || t == DType::i32 || t == DType::i64; };
  ctx.require(ok(a.dtype), "base dtype " + dt(a.dtype) + " is not supported (f32, i32, i64)");
  ctx.require(ok(b.dtype), "exponent dtype " + dt(b.dtype) + " is not supported (f32, i32, i64)");
  return {{a.dtype, broadcast_shapes(a.shape, b.shape, ctx.node.describe())}};
}

std::vector<OutputInfo> infer_unary_f32(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "expects f32 input, got " + dt(x.dtype));
  return {{x.dtype, x.shape}};
}

std::vector<OutputInfo> infer_unary_signed(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32 || is_plain_integer(x.dtype),
              "dtype " + dt(x.dtype) + " is not supported (f32 or an integer dtype)");
  return {{x.dtype, x.shape}};
}

double finite_attr(const InferContext& ctx, const char* name, double fallback) {
  const double v = ctx.node.attrs.f(name, fallback);
  ctx.require(std::isfinite(v), std::string("attribute '") + name + "' must be finite, got " + std::to_string(v));
  return v;
}

}  // namespace

void register_elementwise_schemas() {
  for (const char* op : {"aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.div.Tensor"})
    register_op_schema({op, 2, 2, 1, infer_arith});
  register_op_schema({"aten.pow.Tensor_Tensor", 2, 2, 1, infer_pow});

  for (const char* op : {"aten.sigmoid.default", "aten.tanh.default", "aten.exp.default", "aten.sqrt.default",
                         "aten.erf.default", "aten.hardswish.default", "aten.reciprocal.default"})
    register_op_schema({op, 1, 1, 1, infer_unary_f32});
  for (const char* op : {"aten.relu.default", "aten.abs.default", "aten.neg.default"})
    register_op_schema({op, 1, 1, 1, infer_unary_signed});

  register_op_schema({"aten.hardsigmoid.default", 1, 1, 1, [](const InferContext& ctx) {
                        finite_attr(ctx, "alpha", 1.0 / 6.0);
                        finite_attr(ctx, "beta", 0.5);
                        return infer_unary_f32(ctx);
                      }});
  register_op_schema({"aten.gelu.default", 1, 1, 1, [](const InferContext& ctx) {
                        const std::string a = ctx.node.attrs.s("approximate", "none");
                        ctx.require(a == "none" || a == "tanh",
                                    "attribute 'approximate' must be \"none\" or \"tanh\", got \"" + a + "\"");
                        return infer_unary_f32(ctx);
                      }});
  register_op_schema({"aten.leaky_relu.default", 1, 1, 1, [](const InferContext& ctx) {
                        finite_attr(ctx, "negative_slope", 0.01);
                        return infer_unary_f32(ctx);
                      }});
  register_op_schema({"aten.hardtanh.default", 1, 1, 1, [](const InferContext& ctx) {
                        const double lo = ctx.node.attrs.f("min_val", -1.0);
                        const double hi = ctx.node.attrs.f("max_val", 1.0);
                        ctx.require(!std::isnan(lo) && !std::isnan(hi), "attributes 'min_val'/'max_val' must not be NaN");
                        return infer_unary_signed(ctx);  // ONNX Clip also takes integer tensors
                      }});
  register_op_schema({"aten.prelu.default", 2, 2, 1, [](const InferContext& ctx) {
                        const ValueInfo& x = ctx.in(0);
                        const ValueInfo& s = ctx.in(1);
                        ctx.require(x.dtype == DType::f32 && s.dtype == DType::f32,
                                    "expects f32 x and slope, got " + dt(x.dtype) + " and " + dt(s.dtype));
                        const Shape out = broadcast_shapes(x.shape, s.shape, ctx.node.describe());
                        ctx.require(out == x.shape, "slope shape " + shape_str(s.shape) +
                                                        " does not broadcast to the input shape " + shape_str(x.shape));
                        return std::vector<OutputInfo>{{DType::f32, x.shape}};
                      }});
}

}  // namespace eq
