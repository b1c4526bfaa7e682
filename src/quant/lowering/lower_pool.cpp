// Lowering of max/avg pools (1-D, 2-D), adaptive average pool, mean and softmax on one int8
// activation (int16 in int16 mode, in and out). The integer kernels take both qparams and
// requantize when they differ.
#include "lowering.h"

namespace eq::lowering {
namespace {

// Emits `op` with the node's attributes plus x_/out_ qparams, if the node reads a dequantized
// int8 activation and only quantize nodes read its output.
bool lower_unary(Lowerer& L, int n, const std::string& op) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  const std::optional<ActIn> x = L.act_input(node.inputs[0]);
  if (!x) return false;
  const std::optional<QOut> out = L.quantized_output(node.outputs[0]);
  if (!out || out->dtype != x->dtype) return false;
  Attrs a = node.attrs;
  set_qparams(a, "x", x->qp);
  set_qparams(a, "out", out->qp);
  L.emit(op, node, {x->q}, std::move(a), {L.take_over(*out)});
  return true;
}

bool all_ones(const Attrs& a, const char* name) {
  for (int64_t v : a.ints(name, {}))
    if (v != 1) return false;
  return true;
}

bool any_nonzero(const Attrs& a, const char* name) {
  for (int64_t v : a.ints(name, {}))
    if (v != 0) return true;
  return false;
}

}  // namespace

bool lower_pool_mean(Lowerer& L, int n) {
  const Node& node = L.node(n);
  const std::string& op = node.op;
  if (op == "aten.max_pool1d.default" || op == "aten.max_pool2d.default") {
    // The integer pools have no dilation.
    if (!all_ones(node.attrs, "dilation")) return false;
    return lower_unary(L, n, op == "aten.max_pool1d.default" ? "quantized.max_pool1d" : "quantized.max_pool2d");
  }
  if (op == "aten.avg_pool1d.default" || op == "aten.avg_pool2d.default") {
    // The integer average counts in-bounds taps only (TFLite); ATen's count_include_pad (its
    // default) also counts the padding, which only matters when there is padding.
    if (!all_ones(node.attrs, "dilation")) return false;
    if (any_nonzero(node.attrs, "padding") && node.attrs.i("count_include_pad", 1)) return false;
    return lower_unary(L, n, op == "aten.avg_pool1d.default" ? "quantized.avg_pool1d" : "quantized.avg_pool2d");
  }
  if (op == "aten.adaptive_avg_pool2d.default") return lower_unary(L, n, "quantized.adaptive_avg_pool2d");
  if (op == "aten.mean.dim") return lower_unary(L, n, "quantized.mean");
  if (op == "aten.sum.dim_IntList") return lower_unary(L, n, "quantized.sum");
  return false;
}

bool lower_softmax(Lowerer& L, int n) { return lower_unary(L, n, "quantized.softmax"); }

}  // namespace eq::lowering
