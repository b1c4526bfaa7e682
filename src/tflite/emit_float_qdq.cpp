// Quantize / dequantize nodes of float islands: QUANTIZE / DEQUANTIZE at the island boundaries;
// a dequantize of a constant adds no operator (its float readers write the values themselves).
#include <algorithm>

#include "emit_float_util.h"

namespace eq::tflite_export {
namespace {

constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kQuantizeChannel = "quantized_decomposed.quantize_per_channel.default";

void emit_quantize(Context& c, const Node& n) {
  const int y = n.outputs.at(0);
  if (!c.qparams(y))
    c.fail(n, "a quantize whose scale is not a constant (dynamic quantization) has no TFLite QUANTIZE form");
  const DType d = c.g.value(y).dtype;
  if (d != DType::i8 && d != DType::u8 && d != DType::i16)
    c.fail(n, "a quantize to " + std::string(dtype_name(d)) + " has no TFLite QUANTIZE (int8, uint8, int16 only)");
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(y, a.l);
  c.add_op(Op::QUANTIZE, {a.t}, {out}, opts(fb::QuantizeOptionsT{}), true);
}

// Every reader of `v` is a float op of the float emitter files (so it writes the constant
// itself) and `v` is no model output.
bool read_only_by_float_ops(const Context& c, int v) {
  if (std::find(c.g.outputs.begin(), c.g.outputs.end(), v) != c.g.outputs.end()) return false;
  for (int r : c.consumers().at(static_cast<size_t>(v)))
    if (!float_op_names().count(c.g.nodes.at(static_cast<size_t>(r)).op)) return false;
  return true;
}

void emit_dequantize(Context& c, const Node& n) {
  const int q = n.inputs.at(0), y = n.outputs.at(0);
  if (is_constant_like(c, y)) {
    // Weights, bias or a constant operand: no operator. Float readers write the values in the
    // layout they need; anything else reads them in IR order.
    if (!read_only_by_float_ops(c, y)) const_in(c, y, identity_layout(rank_of(c, y)));
    return;
  }
  if (n.op == kDequantizeChannel) c.fail(n, "a per-channel dequantize of an activation has no TFLite equivalent");
  const Act a = input(c, q);
  const fb::TensorT& qt = c.tensor(a.t);
  // The IR dequantizes with the node's qparams; TFLite's DEQUANTIZE with the tensor's.
  const Value& sv = c.g.value(n.inputs.at(1));
  if (!sv.constant) c.fail(n, "a dequantize whose scale is not a constant (dynamic quantization) has no TFLite form");
  const float scale = sv.constant->data<float>()[0];
  const int64_t zp = n.inputs.size() > 2 && n.inputs[2] != kNoValue && c.g.is_constant(n.inputs[2])
                         ? c.g.value(n.inputs[2]).constant->to_int64_vector().at(0)
                         : 0;
  if (!qt.quantization || qt.quantization->scale.size() != 1 || qt.quantization->scale[0] != scale ||
      qt.quantization->zero_point.at(0) != zp)
    c.fail(n, "dequantizes '" + c.g.value(q).name + "' with qparams other than the ones it was written with");
  const int out = c.new_output(y, a.l);
  c.add_op(Op::DEQUANTIZE, {a.t}, {out}, opts(fb::DequantizeOptionsT{}), true);
}

}  // namespace

void register_float_qdq_emitters(EmitterTable& t) {
  t[kQuantize] = emit_quantize;
  t[kDequantize] = emit_dequantize;
  t[kDequantizeChannel] = emit_dequantize;
  t[kQuantizeChannel] = [](Context& c, const Node& n) {
    c.fail(n, "a per-channel quantize of an activation has no TFLite equivalent");
  };
}

}  // namespace eq::tflite_export
