// Schemas of dynamic activation quantization (XNNPACK's dynamic config; torchao's is_dynamic specs):
//   quantized_decomposed.choose_qparams.tensor  x f32 -> (scale f32 [], zero_point [] in `dtype`)
//   quantized.linear_dynamic / quantized.conv1d_dynamic / quantized.conv2d_dynamic
//       x f32, w i8 (constant, symmetric), b? f32 [Cout] -> f32; x is quantized per call with the
//       same choose_qparams arithmetic, accumulated in int32, rescaled by x_scale * w_scales[c].
// torch's choose_qparams.tensor returns scale as f64 [1] and zero point as i64 [1]; ours are
// scalars, the scale f32 (torch computes it in float32 and quantize casts it back) and the zero
// point in the quantized dtype, as ONNX QuantizeLinear / DequantizeLinear take it.
#include <cmath>
#include <string>

#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
namespace {

std::string dt(DType t) { return std::string(dtype_name(t)); }

// quant_min, quant_max, eps, dtype: what choose_qparams needs (also on the dynamic integer ops).
DType require_choose_attrs(const InferContext& ctx) {
  const Attrs& a = ctx.node.attrs;
  const std::string name = a.s("dtype", "i8");
  DType q;
  try {
    q = dtype_from_name(name);
  } catch (const Error&) {
    throw ctx.error("attribute 'dtype' \"" + name + "\" is not a dtype name (i8, u8)");
  }
  ctx.require(q == DType::i8 || q == DType::u8, "attribute 'dtype' must be i8 or u8, got " + name);
  ctx.require(a.has("quant_min") && a.has("quant_max"), "attributes 'quant_min' and 'quant_max' are required");
  const int64_t lo = a.i("quant_min"), hi = a.i("quant_max");
  const int64_t tmin = q == DType::i8 ? -128 : 0, tmax = q == DType::i8 ? 127 : 255;
  ctx.require(lo < hi && lo >= tmin && hi <= tmax && lo <= 0 && hi >= 0,
              "quant_min/quant_max [" + std::to_string(lo) + ", " + std::to_string(hi) + "] must lie in the " + name +
                  " range, include 0 and have min < max");
  const double eps = a.f("eps", 1.1920928955078125e-07);
  ctx.require(std::isfinite(eps) && eps > 0, "attribute 'eps' must be finite and > 0");
  return q;
}

std::vector<OutputInfo> infer_choose(const InferContext& ctx) {
  ctx.require(ctx.in(0).dtype == DType::f32, "input must be f32, got " + dt(ctx.in(0).dtype));
  const DType q = require_choose_attrs(ctx);
  return {{DType::f32, Shape{}}, {q, Shape{}}};
}

// The ATen op's schema on the same node with the integer weight seen as f32: the output shape.
std::vector<OutputInfo> infer_dynamic_weighted(const InferContext& ctx, const char* aten_op) {
  ctx.require(ctx.in(0).dtype == DType::f32, "input must be f32, got " + dt(ctx.in(0).dtype));
  ctx.require(ctx.in(1).dtype == DType::i8, "weight must be i8, got " + dt(ctx.in(1).dtype));
  if (ctx.has(2)) ctx.require(ctx.in(2).dtype == DType::f32, "bias must be f32, got " + dt(ctx.in(2).dtype));
  ctx.require(require_choose_attrs(ctx) == DType::i8, "only i8 activations are supported");
  require_weight_scales(ctx);
  const OpSchema* s = find_op_schema(aten_op);
  ctx.require(s != nullptr, std::string("no schema for ") + aten_op);
  InferContext f{ctx.node, ctx.inputs, ctx.present, ctx.batch};
  for (ValueInfo& v : f.inputs) {
    v.dtype = DType::f32;
    v.constant = nullptr;
  }
  return s->infer(f);
}

}  // namespace

void register_dynamic_quant_schemas() {
  register_op_schema({"quantized_decomposed.choose_qparams.tensor", 1, 1, 2, infer_choose});
  register_op_schema({"quantized.linear_dynamic", 2, 3, 1,
                      [](const InferContext& c) { return infer_dynamic_weighted(c, "aten.linear.default"); }});
  register_op_schema({"quantized.conv1d_dynamic", 2, 3, 1,
                      [](const InferContext& c) { return infer_dynamic_weighted(c, "aten.conv1d.default"); }});
  register_op_schema({"quantized.conv2d_dynamic", 2, 3, 1,
                      [](const InferContext& c) { return infer_dynamic_weighted(c, "aten.conv2d.default"); }});
}

}  // namespace eq
