// Lowering of add/mul between two int8 activations (TFLite ADD / MUL, fused relu/hardtanh as the
// clamp) and of any elementwise float function of one int8 activation to a 256-entry lookup table.
// In int16 mode add/mul also take three int16 operands, and a unary function of an int16
// activation becomes quantized.unary (no table: TFLite's int16 LOGISTIC, TANH, ... compute it).
#include <set>

#include "edgequant/executor.h"
#include "lowering.h"

namespace eq::lowering {
namespace {

// Elementwise ops of one activation: the table is exact for any of them.
const std::set<std::string>& unary_ops() {
  static const std::set<std::string> ops = {
      "aten.sigmoid.default", "aten.tanh.default",       "aten.hardswish.default", "aten.abs.default",
      "aten.relu.default",    "aten.hardtanh.default",   "aten.gelu.default",      "aten.leaky_relu.default",
      "aten.hardsigmoid.default", "aten.neg.default",    "aten.exp.default",       "aten.sqrt.default",
      "aten.erf.default"};
  return ops;
}
// Binary elementwise ops: a table when the other operand is a constant scalar.
const std::set<std::string>& scalar_binary_ops() {
  static const std::set<std::string> ops = {"aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor",
                                            "aten.div.Tensor", "aten.pow.Tensor_Tensor"};
  return ops;
}

// The table: the pattern dequantize → op → quantize itself, run by the executor on the 256 int8
// values. Same kernels as the QDQ graph, so the table equals what fake-quant computes per value.
Tensor build_table(const Lowerer& L, const Node& op, int act_pos, const QParam& in, const QParam& out) {
  Graph m;
  const int q = m.add_value("q", DType::i8, {256});
  m.inputs = {q};
  const int s_in = m.add_constant("s_in", Tensor::scalar<float>(in.scale));
  const int z_in = m.add_constant("z_in", Tensor::scalar<int8_t>(static_cast<int8_t>(in.zp)));
  const int dq = m.add_node(kDequantize, "dq", {q, s_in, z_in}, 1);
  std::vector<int> ins;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    if (static_cast<int>(i) == act_pos) ins.push_back(m.nodes[static_cast<size_t>(dq)].outputs[0]);
    else ins.push_back(m.add_constant("c" + std::to_string(i), *L.g.value(op.inputs[i]).constant));
  }
  const int f = m.add_node(op.op, op.name, ins, 1, op.attrs);
  const int s_out = m.add_constant("s_out", Tensor::scalar<float>(out.scale));
  const int z_out = m.add_constant("z_out", Tensor::scalar<int8_t>(static_cast<int8_t>(out.zp)));
  const int qn = m.add_node(kQuantize, "quant", {m.nodes[static_cast<size_t>(f)].outputs[0], s_out, z_out}, 1);
  m.outputs = {m.nodes[static_cast<size_t>(qn)].outputs[0]};
  infer_graph(m);
  Tensor all(DType::i8, {256});
  for (int k = 0; k < 256; ++k) all.data<int8_t>()[k] = static_cast<int8_t>(k - 128);
  Executor ex(std::move(m), ExecutorOptions{1});
  return ex.run({all}).at(0);
}

}  // namespace

bool lower_add_mul(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  const std::optional<ActIn> a = L.act_input(node.inputs[0]);
  const std::optional<ActIn> b = L.act_input(node.inputs[1]);
  if (!a || !b) return false;
  const std::optional<FusedAct> f = L.fused_output(node.outputs[0], {"relu", "hardtanh"});
  if (!f || a->dtype != b->dtype || f->out.dtype != a->dtype) return false;
  Attrs at;
  set_qparams(at, "a", a->qp);
  set_qparams(at, "b", b->qp);
  set_qparams(at, "out", f->out.qp);
  if (!set_act_range(at, *f, L.g)) return false;
  const std::string op = node.op == "aten.add.Tensor"   ? "quantized.add"
                         : node.op == "aten.sub.Tensor" ? "quantized.sub"
                                                        : "quantized.mul";
  L.emit(op, node, {a->q, b->q}, std::move(at), {L.take_over(f->out)});
  if (f->node >= 0) L.done[static_cast<size_t>(f->node)] = 1;
  return true;
}

bool lower_lookup_table(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  int act_pos = -1;
  if (unary_ops().count(node.op)) {
    act_pos = 0;
  } else if (scalar_binary_ops().count(node.op) && node.inputs.size() == 2) {
    for (int k = 0; k < 2; ++k) {
      const int c = node.inputs[static_cast<size_t>(1 - k)];
      if (L.g.is_constant(c) && L.g.value(c).constant->numel() == 1 && L.g.value(c).dtype == DType::f32) act_pos = k;
    }
  }
  if (act_pos < 0 || node.outputs.size() != 1) return false;
  const std::optional<ActIn> x = L.act_input(node.inputs[static_cast<size_t>(act_pos)]);
  if (!x || x->dtype != DType::i8) return false;  // int16: lower_unary_int16
  // A scalar of higher rank would broadcast the activation to a new shape.
  if (L.g.value(node.outputs[0]).shape != L.g.value(x->q).shape) return false;
  const std::optional<QOut> out = L.quantized_output(node.outputs[0]);
  if (!out || out->dtype != DType::i8) return false;
  const int table = L.add_constant(node.name + ".table", build_table(L, node, act_pos, x->qp, out->qp));
  // The function's own attributes ride along (negative_slope, min_val / max_val, approximate): the
  // TFLite exporter writes the matching builtin (LEAKY_RELU, GELU, ...) from them.
  Attrs at = act_pos == 0 ? node.attrs : Attrs{};
  at.set("function", node.op);
  set_qparams(at, "x", x->qp);
  set_qparams(at, "out", out->qp);
  L.emit("quantized.lookup_table", node, {x->q, table}, std::move(at), {L.take_over(*out)});
  return true;
}

bool lower_unary_int16(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  if (!unary_ops().count(node.op) || node.inputs.size() != 1 || node.outputs.size() != 1) return false;
  const std::optional<ActIn> x = L.act_input(node.inputs[0]);
  if (!x || x->dtype != DType::i16) return false;
  const std::optional<QOut> out = L.quantized_output(node.outputs[0]);
  if (!out || out->dtype != DType::i16) return false;
  // The op's own attributes (negative_slope, min_val/max_val, approximate) travel with it.
  Attrs at = node.attrs;
  at.set("function", node.op);
  set_qparams(at, "x", x->qp);
  set_qparams(at, "out", out->qp);
  L.emit("quantized.unary", node, {x->q}, std::move(at), {L.take_over(*out)});
  return true;
}

}  // namespace eq::lowering
