// Schemas of the integer ops (quantized.*) that lower_to_integer emits: int8 activations with their
// qparams in attributes (scales as double attrs holding the f32 value exactly, zero points as int
// attrs). See docs/ops.md, "Integer ops". Geometry (conv, pools, matmul, cat, mean, softmax) is
// checked and computed by the ATen op's own schema on the same attributes, so an integer op can
// never disagree with the float op it replaces about the output shape.
//
// The 16x8 lowering (LowerOptions::int16_activations) writes the same ops with int16 activations:
// an op's activations (inputs and output) all have one dtype, i8 or i16, and its zero points and
// act_min/act_max lie in that dtype's range; weights stay i8, the bias is i32 beside i8 and i64
// beside i16. Only quantized.requantize converts between i8 and i16 (attribute out_dtype).
#include <cmath>
#include <string>
#include <vector>

#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
namespace {

std::string dt(DType t) { return std::string(dtype_name(t)); }

void require_i8(const InferContext& ctx, size_t i, const char* what) {
  const ValueInfo& v = ctx.in(i);
  ctx.require(v.dtype == DType::i8, std::string(what) + " must be i8, got " + dt(v.dtype));
}

// The activation dtype of input 0: i8, or i16 (16x8 lowering).
DType act_dtype(const InferContext& ctx, const char* what) {
  const DType t = ctx.in(0).dtype;
  ctx.require(t == DType::i8 || t == DType::i16,
              std::string(what) + " must be i8 (or i16 for the 16x8 lowering), got " + dt(t));
  return t;
}

// Input i is an activation of the op's activation dtype `t`.
void require_act(const InferContext& ctx, size_t i, const char* what, DType t) {
  const DType v = ctx.in(i).dtype;
  ctx.require(v == t, std::string(what) + " must be " + dt(t) + " like the first input, got " + dt(v));
}

struct IntRange {
  int64_t lo, hi;
  std::string str() const { return "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; }
};
IntRange range_of(DType t) { return t == DType::i16 ? IntRange{-32768, 32767} : IntRange{-128, 127}; }

// `<prefix>_scale` (finite, > 0) and `<prefix>_zero_point` (in the range of `t`: [-128, 127] for
// i8) must be present.
void require_qparams(const InferContext& ctx, const std::string& prefix, DType t = DType::i8) {
  const Attrs& a = ctx.node.attrs;
  const std::string s = prefix + "_scale", z = prefix + "_zero_point";
  ctx.require(a.has(s) && a.has(z), "attributes '" + s + "' and '" + z + "' are required");
  const double scale = a.f(s);
  ctx.require(std::isfinite(scale) && scale > 0, "attribute '" + s + "' must be finite and > 0, got " +
                                                     std::to_string(scale));
  const int64_t zp = a.i(z);
  const IntRange r = range_of(t);
  ctx.require(zp >= r.lo && zp <= r.hi, "attribute '" + z + "' = " + std::to_string(zp) + " is outside " + r.str());
}

// act_min/act_max (defaults: the whole range of the output dtype `t`).
void require_act_range(const InferContext& ctx, DType t = DType::i8) {
  const IntRange r = range_of(t);
  const int64_t lo = ctx.node.attrs.i("act_min", r.lo), hi = ctx.node.attrs.i("act_max", r.hi);
  ctx.require(lo >= r.lo && hi <= r.hi && lo <= hi, "act_min/act_max [" + std::to_string(lo) + ", " +
                                                        std::to_string(hi) + "] must lie in " + r.str() +
                                                        ", min <= max");
}

// Runs the ATen op's schema on the same node with the inputs seen as f32 (their constants hidden:
// they hold integers), and returns its outputs as `out` (i8 or i16).
std::vector<OutputInfo> via_aten(const InferContext& ctx, const char* aten_op, DType out_dtype = DType::i8) {
  const OpSchema* s = find_op_schema(aten_op);
  ctx.require(s != nullptr, std::string("no schema for ") + aten_op);
  InferContext f{ctx.node, ctx.inputs, ctx.present, ctx.batch};
  for (ValueInfo& v : f.inputs) {
    v.dtype = DType::f32;
    v.constant = nullptr;
  }
  std::vector<OutputInfo> out = s->infer(f);
  for (OutputInfo& o : out) o.first = out_dtype;
  return out;
}

// conv1d/conv2d/linear: x i8, w i8 (constant), bias i32 [Cout]; or 16x8: x i16, w i8, bias i64.
// w_scales has 1 or Cout entries.
std::vector<OutputInfo> infer_weighted(const InferContext& ctx, const char* aten_op) {
  const DType t = act_dtype(ctx, "input");
  require_i8(ctx, 1, "weight");
  if (ctx.has(2)) {
    const DType b = ctx.in(2).dtype, want = t == DType::i16 ? DType::i64 : DType::i32;
    ctx.require(b == want, "bias must be " + dt(want) + " beside " + dt(t) + " input, got " + dt(b));
  }
  require_qparams(ctx, "x", t);
  require_qparams(ctx, "out", t);
  require_act_range(ctx, t);
  require_weight_scales(ctx);
  const std::string act = ctx.node.attrs.s("activation", "none");
  ctx.require(act == "none" || act == "sigmoid" || act == "tanh",
              "attribute 'activation' must be none, sigmoid or tanh, got \"" + act + "\"");
  return via_aten(ctx, aten_op, t);
}

std::vector<OutputInfo> infer_binary(const InferContext& ctx) {
  const DType t = act_dtype(ctx, "input a");
  require_act(ctx, 1, "input b", t);
  require_qparams(ctx, "a", t);
  require_qparams(ctx, "b", t);
  require_qparams(ctx, "out", t);
  require_act_range(ctx, t);
  return {{t, broadcast_shapes(ctx.in(0).shape, ctx.in(1).shape, ctx.node.describe())}};
}

std::vector<OutputInfo> infer_unary(const InferContext& ctx, const char* aten_op) {
  const DType t = act_dtype(ctx, "input");
  require_qparams(ctx, "x", t);
  require_qparams(ctx, "out", t);
  return via_aten(ctx, aten_op, t);
}

// requantize: i8 or i16 in; out_dtype (default: the input's) i8 or i16 out.
std::vector<OutputInfo> infer_requantize(const InferContext& ctx) {
  const DType t = act_dtype(ctx, "input");
  const std::string o = ctx.node.attrs.s("out_dtype", dt(t));
  ctx.require(o == "i8" || o == "i16", "attribute 'out_dtype' must be \"i8\" or \"i16\", got \"" + o + "\"");
  const DType out = o == "i16" ? DType::i16 : DType::i8;
  require_qparams(ctx, "x", t);
  require_qparams(ctx, "out", out);
  return {{out, ctx.in(0).shape}};
}

// quantized.unary: an elementwise ATen function on i16 (int8 functions are lookup tables).
std::vector<OutputInfo> infer_quantized_unary(const InferContext& ctx) {
  const DType t = ctx.in(0).dtype;
  ctx.require(t == DType::i16, "input must be i16 (int8 functions lower to quantized.lookup_table), got " + dt(t));
  const std::string f = ctx.node.attrs.s("function", "");
  ctx.require(f.rfind("aten.", 0) == 0, "attribute 'function' must name the ATen op, got \"" + f + "\"");
  require_qparams(ctx, "x", t);
  require_qparams(ctx, "out", t);
  return {{t, ctx.in(0).shape}};
}

std::vector<OutputInfo> infer_cat(const InferContext& ctx) {
  const DType t = act_dtype(ctx, "input 0");
  for (size_t i = 1; i < ctx.num_inputs(); ++i) require_act(ctx, i, ("input " + std::to_string(i)).c_str(), t);
  require_qparams(ctx, "out", t);
  const std::vector<double> s = ctx.node.attrs.floats("scales", {});
  const std::vector<int64_t> z = ctx.node.attrs.ints("zero_points", {});
  ctx.require(s.size() == ctx.num_inputs() && z.size() == ctx.num_inputs(),
              "attributes 'scales' and 'zero_points' need one entry per input (" + std::to_string(ctx.num_inputs()) +
                  "), got " + std::to_string(s.size()) + " and " + std::to_string(z.size()));
  for (double v : s) ctx.require(std::isfinite(v) && v > 0, "attribute 'scales' must be finite and > 0");
  const IntRange r = range_of(t);
  for (int64_t v : z) ctx.require(v >= r.lo && v <= r.hi, "attribute 'zero_points' must lie in " + r.str());
  return via_aten(ctx, "aten.cat.default", t);
}

std::vector<OutputInfo> infer_lookup_table(const InferContext& ctx) {
  require_i8(ctx, 0, "input");
  require_i8(ctx, 1, "table");
  ctx.require(ctx.in(1).shape == Shape{256}, "table must have shape [256], got " + shape_str(ctx.in(1).shape));
  return {{DType::i8, ctx.in(0).shape}};
}

}  // namespace

void require_weight_scales(const InferContext& ctx) {
  const Shape& w = ctx.in(1).shape;
  ctx.require(!w.empty(), "weight must not be a scalar");
  const std::vector<double> ws = ctx.node.attrs.floats("w_scales", {});
  ctx.require(ws.size() == 1 || static_cast<int64_t>(ws.size()) == w[0],
              "attribute 'w_scales' has " + std::to_string(ws.size()) + " entries, expected 1 or " +
                  std::to_string(w[0]) + " (one per output channel)");
  for (double s : ws) ctx.require(std::isfinite(s) && s > 0, "attribute 'w_scales' must be finite and > 0");
}

void register_quantized_schemas() {
  constexpr int kMany = 1 << 20;
  register_op_schema({"quantized.conv1d", 2, 3, 1, [](const InferContext& c) { return infer_weighted(c, "aten.conv1d.default"); }});
  register_op_schema({"quantized.conv2d", 2, 3, 1, [](const InferContext& c) { return infer_weighted(c, "aten.conv2d.default"); }});
  register_op_schema({"quantized.linear", 2, 3, 1, [](const InferContext& c) { return infer_weighted(c, "aten.linear.default"); }});
  register_op_schema({"quantized.matmul", 2, 2, 1, [](const InferContext& c) {
                        const DType t = act_dtype(c, "input a");
                        require_act(c, 1, "input b", t);
                        require_qparams(c, "a", t);
                        require_qparams(c, "b", t);
                        require_qparams(c, "out", t);
                        return via_aten(c, "aten.matmul.default", t);
                      }});
  register_op_schema({"quantized.add", 2, 2, 1, infer_binary});
  register_op_schema({"quantized.mul", 2, 2, 1, infer_binary});
  register_op_schema({"quantized.sub", 2, 2, 1, infer_binary});
  register_op_schema({"quantized.cat", 1, kMany, 1, infer_cat});
  register_op_schema({"quantized.max_pool1d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.max_pool1d.default"); }});
  register_op_schema({"quantized.max_pool2d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.max_pool2d.default"); }});
  register_op_schema({"quantized.avg_pool1d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.avg_pool1d.default"); }});
  register_op_schema({"quantized.avg_pool2d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.avg_pool2d.default"); }});
  register_op_schema({"quantized.adaptive_avg_pool2d", 1, 1, 1,
                      [](const InferContext& c) { return infer_unary(c, "aten.adaptive_avg_pool2d.default"); }});
  register_op_schema({"quantized.mean", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.mean.dim"); }});
  register_op_schema({"quantized.sum", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.sum.dim_IntList"); }});
  register_op_schema({"quantized.softmax", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.softmax.int"); }});
  register_op_schema({"quantized.requantize", 1, 1, 1, infer_requantize});
  register_op_schema({"quantized.lookup_table", 2, 2, 1, infer_lookup_table});
  register_op_schema({"quantized.unary", 1, 1, 1, infer_quantized_unary});
}

}  // namespace eq
