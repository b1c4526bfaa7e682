// Leftover dequantize → quantize pairs (two qparams on one edge, e.g. where a shared observer was
// not possible): quantized.requantize when the qparams differ, a rewire when they are equal. In
// int16 mode either side may be int16 (TFLite QUANTIZE: int8 ↔ int16, int16 → int16).
#include "lowering.h"

namespace eq::lowering {

int lower_requantize_pairs(Lowerer& L) {
  int changed = 0;
  for (int n = 0; n < L.original_nodes; ++n) {
    const Node node = L.node(n);  // a copy: emitting grows g.nodes
    if (node.op != kQuantize || node.outputs.size() != 1) continue;  // no outputs: already replaced
    const int qv = node.outputs[0];
    const DType dt = L.g.value(qv).dtype;
    const std::optional<QParam> out_qp = L.act_params(node, dt);
    const std::optional<ActIn> x = L.act_input(node.inputs[0]);
    if (!out_qp || !x) continue;
    if (*out_qp == x->qp && x->dtype == dt) {
      // Identity: readers use the int8 value directly (a graph output keeps its own value).
      if (L.is_graph_output(qv)) continue;
      L.replace_uses(qv, x->q);
      L.g.nodes[static_cast<size_t>(n)].outputs.clear();
    } else {
      QOut out;
      out.q_nodes = {n};
      out.value = qv;
      out.qp = *out_qp;
      out.dtype = dt;
      L.requantize_into(x->q, x->qp, out, node);
    }
    ++changed;
  }
  return changed;
}

}  // namespace eq::lowering
