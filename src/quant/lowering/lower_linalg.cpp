// Lowering of conv1d/conv2d/linear (int8 activation, int8 weight per tensor or per output channel,
// int32 bias, fused relu/hardtanh as the output clamp, fused sigmoid/tanh through float) and of
// matmul between two int8 activations. In int16 mode the same with int16 activations in and out
// (TFLite 16x8: int8 weights, int64 bias).
#include "lowering.h"

namespace eq::lowering {

bool lower_conv_linear(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  const bool linear = node.op == "aten.linear.default";
  const std::string op = linear ? "quantized.linear"
                         : node.op == "aten.conv1d.default" ? "quantized.conv1d"
                                                            : "quantized.conv2d";
  if (node.inputs.size() < 2) return false;
  const std::optional<ActIn> x = L.act_input(node.inputs[0]);
  if (!x) return false;
  const Shape ws = L.g.value(node.inputs[1]).shape;
  if (ws.empty()) return false;
  const int64_t cout = ws[0];
  const std::optional<WeightIn> w = L.weight_input(node.inputs[1], cout);
  if (!w) return false;
  const std::optional<FusedAct> f =
      L.fuse_float_activations ? L.fused_output(node.outputs[0], {"relu", "hardtanh", "sigmoid", "tanh"})
                               : L.fused_output(node.outputs[0], {"relu", "hardtanh"});
  if (!f || f->out.dtype != x->dtype) return false;  // TFLite has no int8 → int16 conv (or back)
  Attrs a;
  if (!linear)
    for (const char* k : {"stride", "padding", "dilation", "groups"})
      if (node.attrs.has(k)) a.set(k, node.attrs.all().at(k));
  set_qparams(a, "x", x->qp);
  a.set("w_scales", std::vector<double>(w->scales.begin(), w->scales.end()));
  set_qparams(a, "out", f->out.qp);
  if (!set_act_range(a, *f, L.g)) return false;
  const int bias_v = node.inputs.size() > 2 ? node.inputs[2] : kNoValue;
  const std::optional<int> bias =
      L.bias_input(bias_v, x->qp.scale, w->scales, cout, node, x->dtype == DType::i16 ? DType::i64 : DType::i32);
  if (!bias) return false;
  std::vector<int> inputs = {x->q, w->value};
  if (*bias != kNoValue) inputs.push_back(*bias);
  L.emit(op, node, inputs, std::move(a), {L.take_over(f->out)});
  if (f->node >= 0) L.done[static_cast<size_t>(f->node)] = 1;
  return true;
}

bool lower_matmul(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  const std::optional<ActIn> a = L.act_input(node.inputs[0]);
  const std::optional<ActIn> b = L.act_input(node.inputs[1]);
  if (!a || !b) return false;
  const std::optional<QOut> out = L.quantized_output(node.outputs[0]);
  if (!out || a->dtype != b->dtype || out->dtype != a->dtype) return false;
  Attrs at;
  set_qparams(at, "a", a->qp);
  set_qparams(at, "b", b->qp);
  set_qparams(at, "out", out->qp);
  L.emit("quantized.matmul", node, {a->q, b->q}, std::move(at), {L.take_over(*out)});
  return true;
}

}  // namespace eq::lowering
