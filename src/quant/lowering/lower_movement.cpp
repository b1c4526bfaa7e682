// Lowering of data movement on int8 (and int16 in int16 mode): the same ATen op re-emitted on the
// integer value (the movement kernels copy bytes of any dtype) when input and output qparams are
// equal, followed by a requantize when they are not; cat with differing input qparams becomes
// quantized.cat. An op's inputs and outputs share one dtype.
#include <cmath>
#include <set>

#include "lowering.h"

namespace eq::lowering {

bool lower_cat(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  std::vector<ActIn> ins;
  for (int v : node.inputs) {
    const std::optional<ActIn> x = L.act_input(v);
    if (!x) return false;
    ins.push_back(*x);
  }
  const std::optional<QOut> out = L.quantized_output(node.outputs[0]);
  if (!out) return false;
  for (const ActIn& x : ins)
    if (x.dtype != out->dtype) return false;
  std::vector<int> q;
  bool same = true;
  std::vector<double> scales;
  std::vector<int64_t> zps;
  for (const ActIn& x : ins) {
    q.push_back(x.q);
    same = same && x.qp == out->qp;
    scales.push_back(static_cast<double>(x.qp.scale));
    zps.push_back(x.qp.zp);
  }
  Attrs a = node.attrs;
  if (same) {
    L.emit("aten.cat.default", node, q, std::move(a), {L.take_over(*out)});
    return true;
  }
  a.set("scales", scales);
  a.set("zero_points", zps);
  set_qparams(a, "out", out->qp);
  L.emit("quantized.cat", node, q, std::move(a), {L.take_over(*out)});
  return true;
}

bool lower_movement(Lowerer& L, int n) {
  static const std::set<std::string> ops = {
      "aten.reshape.default",  "aten.flatten.using_ints", "aten.permute.default",     "aten.squeeze.dims",
      "aten.unsqueeze.default", "aten.slice_copy.Tensor", "aten.pad.default",         "aten.index_select.default",
      "aten.clone.default",    "aten.split_with_sizes.default"};
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  if (!ops.count(node.op) || node.inputs.empty()) return false;
  const std::optional<ActIn> x = L.act_input(node.inputs[0]);
  if (!x) return false;
  // Every output goes through quantize nodes (or is unused: a split output nobody reads).
  std::vector<std::optional<QOut>> outs;
  for (int v : node.outputs) {
    std::optional<QOut> q = L.quantized_output(v);
    const bool unused = static_cast<size_t>(v) < L.consumers.size() && L.consumers[static_cast<size_t>(v)].empty() &&
                        !L.is_graph_output(v);
    if (!q && !unused) return false;
    if (q && q->dtype != x->dtype) return false;
    outs.push_back(q);
  }
  Attrs a = node.attrs;
  if (node.op == "aten.pad.default" && a.s("mode", "constant") == "constant") {
    // The fill value on the integer grid, as the quantize node would have written it.
    const float v = static_cast<float>(a.f("value", 0.0));
    const float q = std::nearbyint(v / x->qp.scale) + static_cast<float>(x->qp.zp);
    const float lo = x->dtype == DType::i16 ? -32768.f : -128.f, hi = x->dtype == DType::i16 ? 32767.f : 127.f;
    a.set("value", static_cast<double>(std::max(lo, std::min(q, hi))));
  }
  std::vector<int> inputs = node.inputs;
  inputs[0] = x->q;
  std::vector<int> values;
  std::vector<int> requant;  // output positions needing a requantize after the op
  for (size_t k = 0; k < outs.size(); ++k) {
    if (outs[k] && outs[k]->qp == x->qp) {
      values.push_back(L.take_over(*outs[k]));
    } else {
      values.push_back(x->dtype == DType::i16 ? L.new_value(L.g.value(node.outputs[k]).name + ".int16", DType::i16)
                                              : L.new_value(L.g.value(node.outputs[k]).name + ".int8"));
      if (outs[k]) requant.push_back(static_cast<int>(k));
    }
  }
  L.emit(node.op, node, inputs, std::move(a), values);
  for (int k : requant) L.requantize_into(values[static_cast<size_t>(k)], x->qp, *outs[static_cast<size_t>(k)], node);
  return true;
}

}  // namespace eq::lowering
