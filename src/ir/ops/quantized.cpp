// Schemas of the integer ops (quantized.*) that lower_to_integer emits: int8 activations with their
// qparams in attributes (scales as double attrs holding the f32 value exactly, zero points as int
// attrs). See docs/ops.md, "Integer ops". Geometry (conv, pools, matmul, cat, mean, softmax) is
// checked and computed by the ATen op's own schema on the same attributes, so an integer op can
// never disagree with the float op it replaces about the output shape.
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

// `<prefix>_scale` (finite, > 0) and `<prefix>_zero_point` (in [-128, 127]) must be present.
void require_qparams(const InferContext& ctx, const std::string& prefix) {
  const Attrs& a = ctx.node.attrs;
  const std::string s = prefix + "_scale", z = prefix + "_zero_point";
  ctx.require(a.has(s) && a.has(z), "attributes '" + s + "' and '" + z + "' are required");
  const double scale = a.f(s);
  ctx.require(std::isfinite(scale) && scale > 0, "attribute '" + s + "' must be finite and > 0, got " +
                                                     std::to_string(scale));
  const int64_t zp = a.i(z);
  ctx.require(zp >= -128 && zp <= 127, "attribute '" + z + "' = " + std::to_string(zp) + " is outside [-128, 127]");
}

void require_act_range(const InferContext& ctx) {
  const int64_t lo = ctx.node.attrs.i("act_min", -128), hi = ctx.node.attrs.i("act_max", 127);
  ctx.require(lo >= -128 && hi <= 127 && lo <= hi, "act_min/act_max [" + std::to_string(lo) + ", " +
                                                       std::to_string(hi) + "] must lie in [-128, 127], min <= max");
}

// Runs the ATen op's schema on the same node with the inputs seen as f32 (their constants hidden:
// they hold integers), and returns its outputs as i8.
std::vector<OutputInfo> via_aten(const InferContext& ctx, const char* aten_op) {
  const OpSchema* s = find_op_schema(aten_op);
  ctx.require(s != nullptr, std::string("no schema for ") + aten_op);
  InferContext f{ctx.node, ctx.inputs, ctx.present, ctx.batch};
  for (ValueInfo& v : f.inputs) {
    v.dtype = DType::f32;
    v.constant = nullptr;
  }
  std::vector<OutputInfo> out = s->infer(f);
  for (OutputInfo& o : out) o.first = DType::i8;
  return out;
}

// conv1d/conv2d/linear: x i8, w i8 (constant), bias i32 [Cout]; w_scales has 1 or Cout entries.
std::vector<OutputInfo> infer_weighted(const InferContext& ctx, const char* aten_op) {
  require_i8(ctx, 0, "input");
  require_i8(ctx, 1, "weight");
  if (ctx.has(2)) {
    const DType b = ctx.in(2).dtype;
    ctx.require(b == DType::i32, "bias must be i32, got " + dt(b));
  }
  require_qparams(ctx, "x");
  require_qparams(ctx, "out");
  require_act_range(ctx);
  require_weight_scales(ctx);
  const std::string act = ctx.node.attrs.s("activation", "none");
  ctx.require(act == "none" || act == "sigmoid" || act == "tanh",
              "attribute 'activation' must be none, sigmoid or tanh, got \"" + act + "\"");
  return via_aten(ctx, aten_op);
}

std::vector<OutputInfo> infer_binary(const InferContext& ctx) {
  require_i8(ctx, 0, "input a");
  require_i8(ctx, 1, "input b");
  require_qparams(ctx, "a");
  require_qparams(ctx, "b");
  require_qparams(ctx, "out");
  require_act_range(ctx);
  return {{DType::i8, broadcast_shapes(ctx.in(0).shape, ctx.in(1).shape, ctx.node.describe())}};
}

std::vector<OutputInfo> infer_unary(const InferContext& ctx, const char* aten_op) {
  require_i8(ctx, 0, "input");
  require_qparams(ctx, "x");
  require_qparams(ctx, "out");
  if (!aten_op) return {{DType::i8, ctx.in(0).shape}};
  return via_aten(ctx, aten_op);
}

std::vector<OutputInfo> infer_cat(const InferContext& ctx) {
  for (size_t i = 0; i < ctx.num_inputs(); ++i) require_i8(ctx, i, ("input " + std::to_string(i)).c_str());
  require_qparams(ctx, "out");
  const std::vector<double> s = ctx.node.attrs.floats("scales", {});
  const std::vector<int64_t> z = ctx.node.attrs.ints("zero_points", {});
  ctx.require(s.size() == ctx.num_inputs() && z.size() == ctx.num_inputs(),
              "attributes 'scales' and 'zero_points' need one entry per input (" + std::to_string(ctx.num_inputs()) +
                  "), got " + std::to_string(s.size()) + " and " + std::to_string(z.size()));
  for (double v : s) ctx.require(std::isfinite(v) && v > 0, "attribute 'scales' must be finite and > 0");
  for (int64_t v : z) ctx.require(v >= -128 && v <= 127, "attribute 'zero_points' must lie in [-128, 127]");
  return via_aten(ctx, "aten.cat.default");
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
                        require_i8(c, 0, "input a");
                        require_i8(c, 1, "input b");
                        require_qparams(c, "a");
                        require_qparams(c, "b");
                        require_qparams(c, "out");
                        return via_aten(c, "aten.matmul.default");
                      }});
  register_op_schema({"quantized.add", 2, 2, 1, infer_binary});
  register_op_schema({"quantized.mul", 2, 2, 1, infer_binary});
  register_op_schema({"quantized.cat", 1, kMany, 1, infer_cat});
  register_op_schema({"quantized.max_pool1d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.max_pool1d.default"); }});
  register_op_schema({"quantized.max_pool2d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.max_pool2d.default"); }});
  register_op_schema({"quantized.avg_pool1d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.avg_pool1d.default"); }});
  register_op_schema({"quantized.avg_pool2d", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.avg_pool2d.default"); }});
  register_op_schema({"quantized.adaptive_avg_pool2d", 1, 1, 1,
                      [](const InferContext& c) { return infer_unary(c, "aten.adaptive_avg_pool2d.default"); }});
  register_op_schema({"quantized.mean", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.mean.dim"); }});
  register_op_schema({"quantized.softmax", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, "aten.softmax.int"); }});
  register_op_schema({"quantized.requantize", 1, 1, 1, [](const InferContext& c) { return infer_unary(c, nullptr); }});
  register_op_schema({"quantized.lookup_table", 2, 2, 1, infer_lookup_table});
}

}  // namespace eq
