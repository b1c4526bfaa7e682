// quantized.add / sub / mul -> ADD / SUB / MUL (broadcasting, fused clamp), quantized.requantize -> QUANTIZE,
// quantized.softmax -> SOFTMAX, quantized.lookup_table / quantized.unary -> the TFLite builtin of
// the function (LOGISTIC, TANH, HARD_SWISH, RELU, ABS, EXP, ...) or, for a function TFLite has no
// integer builtin for, the table itself: GATHER(table, CAST(x) + 128), exact but CPU-only.
#include <algorithm>
#include <cmath>

#include "edgequant/error.h"
#include "emitters.h"

namespace eq::tflite_export {
namespace {

bool is_int16(const Context& c, int t) { return c.tensor(t).type == fb::TensorType::INT16; }
int64_t qmin_of(const Context& c, int t) { return int_range(c.tensor(t).type).lo; }
int64_t qmax_of(const Context& c, int t) { return int_range(c.tensor(t).type).hi; }

template <class Options>
fb::BuiltinOptionsUnion opts(Options o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// The layout both operands of a binary op are read in: the first operand's when the ranks match
// (broadcast dims are ordinary dims there), else the IR order.
Layout binary_layout(Context& c, const Node& n) {
  const size_t ra = c.g.value(n.inputs[0]).shape.size(), rb = c.g.value(n.inputs[1]).shape.size();
  if (ra != rb) return identity_layout(ra);
  if (c.g.is_constant(n.inputs[0]) && !c.g.is_constant(n.inputs[1])) return c.placed(n.inputs[1]).src;
  return c.placed(n.inputs[0]).src;
}

void emit_add_mul(Context& c, const Node& n) {
  const bool add = n.op == "quantized.add", sub = n.op == "quantized.sub";
  const Layout l = binary_layout(c, n);
  // Operands of different ranks broadcast in the IR order (TFLite aligns trailing dims, as numpy).
  const bool same_rank = c.g.value(n.inputs[0]).shape.size() == c.g.value(n.inputs[1]).shape.size();
  const int a = same_rank ? c.in_layout(n.inputs[0], l) : c.canonical(n.inputs[0]);
  const int b = same_rank ? c.in_layout(n.inputs[1], l) : c.canonical(n.inputs[1]);
  const Layout lo = c.g.value(n.outputs[0]).shape.size() == c.g.value(n.inputs[0]).shape.size() ? l : identity_layout(c.g.value(n.outputs[0]).shape.size());
  int out = c.new_output(n.outputs[0], lo);
  const int64_t qmin = qmin_of(c, out), qmax = qmax_of(c, out);
  const int64_t amin = n.attrs.i("act_min", qmin), amax = n.attrs.i("act_max", qmax);
  const std::optional<fb::ActivationFunctionType> act = fused_activation(amin, amax, quant_of(c, out), qmin, qmax);
  const fb::ActivationFunctionType f = act.value_or(fb::ActivationFunctionType::NONE);
  if (add || sub) {
    // LiteRT's integer ADD / SUB rescale the output by 2 max(input scales) / (2^k output scale),
    // k = 20 (int8) or 15 (int16), and abort (a CHECK, not an error) unless that is below 1.
    const double twice_max = 2.0 * std::max(quant_of(c, a).scales.at(0), quant_of(c, b).scales.at(0));
    const double room = std::ldexp(1.0, is_int16(c, out) ? 15 : 20) * quant_of(c, out).scales.at(0);
    if (!(twice_max < room))
      c.fail(n, "an input scale more than 2^" + std::string(is_int16(c, out) ? "14" : "19") +
                    " times the output scale: TFLite's integer ADD / SUB cannot rescale that");
  }
  if (sub) {
    fb::SubOptionsT o;
    o.fused_activation_function = f;
    o.pot_scale_int16 = false;
    c.add_op(fb::BuiltinOperator::SUB, {a, b}, {out}, opts(std::move(o)));
  } else if (add) {
    fb::AddOptionsT o;
    o.fused_activation_function = f;
    o.pot_scale_int16 = false;  // the general int16 path (TFLite's converter writes false for 16x8)
    c.add_op(fb::BuiltinOperator::ADD, {a, b}, {out}, opts(std::move(o)));
  } else {
    fb::MulOptionsT o;
    o.fused_activation_function = f;
    c.add_op(fb::BuiltinOperator::MUL, {a, b}, {out}, opts(std::move(o)));
  }
  if (!act) c.place(n.outputs[0], Placed{clamp_tensor(c, out, amin, amax, qmin, qmax), lo, {}});
}

void emit_requantize(Context& c, const Node& n) {
  const Placed p = c.placed(n.inputs[0]);
  const int out = c.new_output(n.outputs[0], p.src);
  requantize(c, p.tensor, quant_of(c, out), out);
}

// An op whose integer output quantization TFLite fixes (SOFTMAX, LOGISTIC, TANH): written to a
// tensor with the fixed qparams, then requantized when the model's own differ (a second rounding:
// the result may differ from our runtime's by one step of the output scale).
void emit_fixed_output(Context& c, const Node& n, int x, const Layout& l, fb::BuiltinOperator op,
                       fb::BuiltinOptionsUnion options, float scale8, int64_t zp8, float scale16) {
  const int out = c.new_output(n.outputs[0], l);
  const Quant fixed = is_int16(c, out) ? per_tensor(scale16, 0) : per_tensor(scale8, zp8);
  op_into_output(c, op, {x}, out, fixed, std::move(options), "_fixed");
}

void emit_softmax(Context& c, const Node& n) {
  const Placed p = c.placed(n.inputs[0]);
  const int rank = static_cast<int>(c.g.value(n.inputs[0]).shape.size());
  int dim = static_cast<int>(n.attrs.i("dim"));
  if (dim < 0) dim += rank;
  Layout l = p.src;
  if (tflite_axis(l, dim) != static_cast<int>(l.size()) - 1) {
    l = identity_layout(static_cast<size_t>(rank));
    if (dim != rank - 1) c.fail(n, "TFLite SOFTMAX works on the last axis; this softmax is over axis " + std::to_string(dim));
  }
  const int x = c.in_layout(n.inputs[0], l);
  fb::SoftmaxOptionsT o;
  o.beta = 1.f;
  emit_fixed_output(c, n, x, l, fb::BuiltinOperator::SOFTMAX, opts(std::move(o)), 1.f / 256, -128, 1.f / 32768);
}

// The table as TFLite ops: CAST(x -> int32), ADD 128, GATHER(table). Bit exact with our runtime.
void emit_gather_table(Context& c, const Node& n, int x, const Layout& l) {
  if (n.inputs.size() < 2) c.fail(n, "the function " + n.attrs.s("function", "?") + " has no integer TFLite builtin");
  const std::string base = c.tensor(x).name;
  const Shape s = c.tensor_shape(x);
  const int idx = c.add_tensor(base + "_index", fb::TensorType::INT32, s);
  fb::CastOptionsT co;
  co.in_data_type = fb::TensorType::INT8;
  co.out_data_type = fb::TensorType::INT32;
  c.add_op(fb::BuiltinOperator::CAST, {x}, {idx}, opts(std::move(co)));
  const int32_t offset = 128;
  const int off = c.add_constant(base + "_offset", fb::TensorType::INT32, {1}, &offset, sizeof offset);
  const int idx2 = c.add_tensor(base + "_index_offset", fb::TensorType::INT32, s);
  c.add_op(fb::BuiltinOperator::ADD, {idx, off}, {idx2}, opts(fb::AddOptionsT{}));
  const int out = c.new_output(n.outputs[0], l);
  const Quant q = quant_of(c, out);
  const Value& tv = c.g.value(n.inputs[1]);
  if (!tv.constant) c.fail(n, "the lookup table is not a constant");
  const int table = c.add_constant(n.name + "_table", *tv.constant, &q);
  fb::GatherOptionsT go;
  go.axis = 0;
  c.add_op(fb::BuiltinOperator::GATHER, {table, idx2}, {out}, opts(std::move(go)));
}

void emit_function(Context& c, const Node& n) {
  const std::string fn = n.attrs.s("function", "");
  const Placed p = c.placed(n.inputs[0]);
  const Layout l = p.src;
  const int x = p.tensor;
  using B = fb::BuiltinOperator;
  if (fn == "aten.sigmoid.default")
    return emit_fixed_output(c, n, x, l, B::LOGISTIC, {}, 1.f / 256, -128, 1.f / 32768);
  if (fn == "aten.tanh.default") return emit_fixed_output(c, n, x, l, B::TANH, {}, 1.f / 128, 0, 1.f / 32768);
  auto simple = [&](B op, fb::BuiltinOptionsUnion o) {
    const int out = c.new_output(n.outputs[0], l);
    c.add_op(op, {x}, {out}, std::move(o));
  };
  if (fn == "aten.hardswish.default") {
    // LiteRT's HARD_SWISH kernel takes float32, uint8 and int8 only: an int16 one fails at invoke.
    if (is_int16(c, x)) c.fail(n, "TFLite's HARD_SWISH has no int16 kernel; quantize this hardswish with int8 activations");
    return simple(B::HARD_SWISH, opts(fb::HardSwishOptionsT{}));
  }
  if (fn == "aten.relu.default") return simple(B::RELU, {});
  if (fn == "aten.abs.default") return simple(B::ABS, opts(fb::AbsOptionsT{}));
  if (fn == "aten.exp.default") return simple(B::EXP, opts(fb::ExpOptionsT{}));
  if (fn == "aten.gelu.default" && n.attrs.has("approximate")) {
    fb::GeluOptionsT o;
    o.approximate = n.attrs.s("approximate") == "tanh";
    return simple(B::GELU, opts(std::move(o)));
  }
  if (fn == "aten.leaky_relu.default" && n.attrs.has("negative_slope")) {
    fb::LeakyReluOptionsT o;
    o.alpha = static_cast<float>(n.attrs.f("negative_slope"));
    return simple(B::LEAKY_RELU, opts(std::move(o)));
  }
  if (fn == "aten.hardtanh.default" && n.attrs.has("min_val") && n.attrs.has("max_val")) {
    // TFLite's RELU / RELU6 / RELU_N1_TO_1 requantize, then clamp at the bounds quantized in the
    // output scale: one op for the three bounds they name.
    const double min_val = n.attrs.f("min_val"), max_val = n.attrs.f("max_val");
    if (min_val == 0 && max_val == 6) return simple(B::RELU6, {});
    // RELU_N1_TO_1 has no int16 kernel in LiteRT: int16 takes the general path below.
    if (min_val == -1 && max_val == 1 && !is_int16(c, x)) return simple(B::RELU_N1_TO_1, {});
    if (min_val == 0 && std::isinf(max_val) && max_val > 0) return simple(B::RELU, {});
    // Requantize, then clamp at the bounds quantized in the output scale (quantization is monotonic).
    const std::optional<Quant> oq = c.qparams(n.outputs[0]);
    if (!oq) c.fail(n, "the output has no quantization parameters");
    const Quant q = *oq;
    const int64_t qmin = qmin_of(c, x), qmax = qmax_of(c, x);
    auto bound = [&](double v, int64_t dflt) {
      if (!std::isfinite(v)) return dflt;
      const double r = std::round(static_cast<float>(v) / q.scales[0]) + static_cast<double>(q.zero_points[0]);
      return static_cast<int64_t>(std::clamp<double>(r, static_cast<double>(qmin), static_cast<double>(qmax)));
    };
    const int64_t lo = bound(n.attrs.f("min_val"), qmin), hi = bound(n.attrs.f("max_val"), qmax);
    const int r = requantize(c, x, q);
    c.place(n.outputs[0], Placed{clamp_tensor(c, r, lo, hi, qmin, qmax), l, {}});
    return;
  }
  if (n.op == "quantized.lookup_table" && !is_int16(c, x)) return emit_gather_table(c, n, x, l);
  c.fail(n, "the function " + fn + " on int16 has no TFLite builtin");
}

}  // namespace

void register_elementwise_emitters(EmitterTable& t) {
  t["quantized.add"] = emit_add_mul;
  t["quantized.mul"] = emit_add_mul;
  t["quantized.sub"] = emit_add_mul;
  t["quantized.requantize"] = emit_requantize;
  t["quantized.softmax"] = emit_softmax;
  t["quantized.lookup_table"] = emit_function;
  t["quantized.unary"] = emit_function;
}

}  // namespace eq::tflite_export
