// Moves quantize / dequantize nodes across data-movement ops at the float edges of a quantized
// graph, so that the movement runs on the integer tensor and the model stays fully integer:
//   x(f32) -> flatten -> quantize        becomes   x -> quantize -> flatten(int8)
//   dequantize -> squeeze -> (output)    becomes   squeeze(int8) -> dequantize -> (output)
// Exact: per-tensor quantization is elementwise, so it commutes with any op that only moves
// elements. (XNNPACK's quantizer leaves a model's leading flatten / squeeze unquantized.)
#include <algorithm>
#include <set>
#include <string>

#include "commute_qdq.h"

namespace eq::tflite_export {
namespace {

constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";

bool is_movement(const std::string& op) {
  static const std::set<std::string> ops = {"aten.reshape.default", "aten.flatten.using_ints", "aten.squeeze.dims",
                                            "aten.unsqueeze.default", "aten.permute.default", "aten.clone.default"};
  return ops.count(op) != 0;
}

bool is_output(const Graph& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }

// movement(x) -> quantize  ==>  quantize(x) -> movement. Returns true if it rewrote one.
bool sink_quantize(Graph& g) {
  const std::vector<std::vector<int>> readers = g.consumers();
  for (size_t mi = 0; mi < g.nodes.size(); ++mi) {
    Node& m = g.nodes[mi];
    if (!is_movement(m.op) || m.outputs.size() != 1 || m.inputs.empty()) continue;
    const int x = m.inputs[0], y = m.outputs[0];
    if (g.is_constant(x) || g.value(x).dtype != DType::f32 || is_output(g, y)) continue;
    const std::vector<int>& ry = readers[static_cast<size_t>(y)];
    if (ry.size() != 1 || g.nodes[static_cast<size_t>(ry[0])].op != kQuantize) continue;
    Node& q = g.nodes[static_cast<size_t>(ry[0])];
    const int qv = q.outputs[0];
    // New value: x quantized (x's shape, the quantize's dtype).
    const int xq = g.add_value(g.unique_value_name(g.value(x).name + "_quantized"), g.value(qv).dtype, g.value(x).shape);
    q.inputs[0] = x;
    q.outputs[0] = xq;
    g.value(xq).producer = ry[0];
    m.inputs[0] = xq;
    m.outputs[0] = qv;
    g.value(qv).producer = static_cast<int>(mi);
    g.value(y).producer = -1;  // orphaned; remove_dead drops it
    return true;
  }
  return false;
}

// dequantize -> movement  ==>  movement(int) -> dequantize.
bool hoist_dequantize(Graph& g) {
  const std::vector<std::vector<int>> readers = g.consumers();
  for (size_t mi = 0; mi < g.nodes.size(); ++mi) {
    Node& m = g.nodes[mi];
    if (!is_movement(m.op) || m.outputs.size() != 1 || m.inputs.empty()) continue;
    const int y = m.inputs[0], z = m.outputs[0];
    const int p = g.value(y).producer;
    if (p < 0 || g.nodes[static_cast<size_t>(p)].op != kDequantize || is_output(g, y)) continue;
    if (readers[static_cast<size_t>(y)].size() != 1) continue;
    Node& dq = g.nodes[static_cast<size_t>(p)];
    const int q = dq.inputs[0];
    if (g.is_constant(q)) continue;
    const int mz = g.add_value(g.unique_value_name(g.value(z).name + "_int"), g.value(q).dtype, g.value(z).shape);
    m.inputs[0] = q;
    m.outputs[0] = mz;
    g.value(mz).producer = static_cast<int>(mi);
    dq.inputs[0] = mz;
    dq.outputs[0] = z;
    g.value(z).producer = p;
    g.value(y).producer = -1;
    return true;
  }
  return false;
}

}  // namespace

int commute_qdq_with_movement(Graph& g) {
  int n = 0;
  for (int guard = 0; guard < 1000; ++guard) {
    const bool changed = sink_quantize(g) || hoist_dequantize(g);
    if (!changed) break;
    ++n;
    g.sort();
  }
  if (n) g.remove_dead();
  return n;
}

}  // namespace eq::tflite_export
