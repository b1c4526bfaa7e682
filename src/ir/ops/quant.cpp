// Schemas of quantize / dequantize (ONNX QuantizeLinear / DequantizeLinear), per tensor and per
// channel. The quantized dtype is the zero point's when one is given, else attribute `dtype`
// (a dtype name such as "i8"), else u8 as in ONNX.
#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
namespace {

bool is_quant_dtype(DType t) { return t == DType::i8 || t == DType::u8 || t == DType::i16 || t == DType::i32; }

std::string dt(DType t) { return std::string(dtype_name(t)); }

bool is_scalar_like(const Shape& s) { return s.empty() || (s.size() == 1 && s[0] == 1); }

// The attribute `dtype`, when present, as a DType.
bool dtype_attr(const InferContext& ctx, DType& out) {
  const Attrs& a = ctx.node.attrs;
  if (!a.has("dtype")) return false;
  const auto* name = std::get_if<std::string>(&a.all().at("dtype"));
  ctx.require(name != nullptr, "attribute 'dtype' must be a dtype name (i8, u8, i16, i32)");
  DType t;
  try {
    t = dtype_from_name(*name);
  } catch (const Error&) {
    throw ctx.error("attribute 'dtype' \"" + *name + "\" is not a dtype name (i8, u8, i16, i32)");
  }
  ctx.require(is_quant_dtype(t), "attribute 'dtype' " + *name + " is not a quantized dtype (i8, u8, i16, i32)");
  out = t;
  return true;
}

// Checks scale (input 1) and zero point (input 2, optional) for per-tensor or per-channel use;
// `channels` is the size of the channel axis (per channel) or -2 for per tensor.
void check_params(const InferContext& ctx, int64_t channels) {
  const ValueInfo& scale = ctx.in(1);
  ctx.require(scale.dtype == DType::f32, "scale must be f32, got " + dt(scale.dtype));
  auto check_shape = [&](const ValueInfo& v, const char* what) {
    if (channels == -2) {
      ctx.require(is_scalar_like(v.shape), std::string(what) + " must be a scalar or have shape [1] (per tensor), got " +
                                               shape_str(v.shape));
    } else {
      ctx.require(v.shape.size() == 1 && v.shape[0] == channels,
                  std::string(what) + " must have shape [" + std::to_string(channels) + "] (one per channel), got " +
                      shape_str(v.shape));
    }
  };
  check_shape(scale, "scale");
  if (ctx.has(2)) {
    const ValueInfo& zp = ctx.in(2);
    ctx.require(is_quant_dtype(zp.dtype), "zero point dtype " + dt(zp.dtype) + " is not i8, u8, i16 or i32");
    check_shape(zp, "zero point");
  }
}

int64_t channel_count(const InferContext& ctx, const Shape& x) {
  const int64_t r = static_cast<int64_t>(x.size());
  const int64_t axis = ctx.node.attrs.i("axis", 1);
  const int64_t a = axis < 0 ? axis + r : axis;
  ctx.require(a >= 0 && a < r, "attribute 'axis' = " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  const int64_t c = x[static_cast<size_t>(a)];
  ctx.require(c != kBatch, "the channel axis " + std::to_string(a) + " is the symbolic batch dimension");
  return c;
}

std::vector<OutputInfo> infer_quantize(const InferContext& ctx, bool per_channel) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32, got " + dt(x.dtype));
  check_params(ctx, per_channel ? channel_count(ctx, x.shape) : -2);
  DType attr = DType::u8;
  const bool has_attr = dtype_attr(ctx, attr);
  DType out = attr;
  if (ctx.has(2)) {
    out = ctx.in(2).dtype;
    ctx.require(!has_attr || attr == out, "attribute 'dtype' " + dt(attr) + " differs from the zero point's dtype " + dt(out));
  }
  return {{out, x.shape}};
}

std::vector<OutputInfo> infer_dequantize(const InferContext& ctx, bool per_channel) {
  const ValueInfo& q = ctx.in(0);
  ctx.require(is_quant_dtype(q.dtype), "input must be i8, u8, i16 or i32, got " + dt(q.dtype));
  check_params(ctx, per_channel ? channel_count(ctx, q.shape) : -2);
  if (ctx.has(2))
    ctx.require(ctx.in(2).dtype == q.dtype, "zero point dtype " + dt(ctx.in(2).dtype) + " differs from the input's " + dt(q.dtype));
  DType attr;
  if (dtype_attr(ctx, attr)) ctx.require(attr == q.dtype, "attribute 'dtype' " + dt(attr) + " differs from the input's " + dt(q.dtype));
  return {{DType::f32, q.shape}};
}

}  // namespace

void register_quant_schemas() {
  register_op_schema({"quantized_decomposed.quantize_per_tensor.default", 2, 3, 1,
                      [](const InferContext& ctx) { return infer_quantize(ctx, false); }});
  register_op_schema({"quantized_decomposed.quantize_per_channel.default", 2, 3, 1,
                      [](const InferContext& ctx) { return infer_quantize(ctx, true); }});
  register_op_schema({"quantized_decomposed.dequantize_per_tensor.default", 2, 3, 1,
                      [](const InferContext& ctx) { return infer_dequantize(ctx, false); }});
  register_op_schema({"quantized_decomposed.dequantize_per_channel.default", 2, 3, 1,
                      [](const InferContext& ctx) { return infer_dequantize(ctx, true); }});
}

}  // namespace eq
