// Leftover dequantize → quantize pairs (two qparams on one edge, e.g. where a shared observer was
// not possible): quantized.requantize when the qparams differ, a rewire when they are equal.
#include "lowering.h"

namespace eq::lowering {

int lower_requantize_pairs(Lowerer& L) {
  int changed = 0;
  for (int n = 0; n < L.original_nodes; ++n) {
    const Node node = L.node(n);  // a copy: emitting grows g.nodes
    if (node.op != kQuantize || node.outputs.size() != 1) continue;  // no outputs: already replaced
    const int qv = node.outputs[0];
    if (L.g.value(qv).dtype != DType::i8) continue;
    const std::optional<QParam> out_qp = L.per_tensor_params(node, DType::i8);
    const std::optional<ActIn> x = L.act_input(node.inputs[0]);
    if (!out_qp || !x) continue;
    if (*out_qp == x->qp) {
      // Identity: readers use the int8 value directly (a graph output keeps its own value).
      if (L.is_graph_output(qv)) continue;
      L.replace_uses(qv, x->q);
      L.g.nodes[static_cast<size_t>(n)].outputs.clear();
    } else {
      QOut out;
      out.q_nodes = {n};
      out.value = qv;
      out.qp = *out_qp;
      L.requantize_into(x->q, x->qp, out, node);
    }
    ++changed;
  }
  return changed;
}

}  // namespace eq::lowering
