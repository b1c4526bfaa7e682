// Lowering of dynamically quantized conv1d/conv2d/linear (XNNPACK's dynamic config):
//
//   x ─ choose_qparams.tensor ─ (scale, zp) ─┐
//   x ─────────────── quantize(x, scale, zp) ─ dequantize(·, scale, zp) ─ conv/linear ─ f32 out
//                    dequantize(int8 weight) ─┘          bias: f32 constant, dq(int32) or none
//
// becomes quantized.<op>_dynamic(x, w_int8, bias_f32) (docs/ops.md): f32 in and out, the
// activation quantized per call with the same choose_qparams arithmetic, int32 accumulation. The
// Q/DQ chain is left to dead-code removal (other readers of it keep it alive).
#include "lowering.h"

namespace eq::lowering {
namespace {

constexpr const char* kChoose = "quantized_decomposed.choose_qparams.tensor";

struct DynamicIn {
  int x = -1;     // the f32 activation
  Attrs choose;   // quant_min, quant_max, eps, dtype
};

// `v` = dequantize(quantize(x, s, z), s, z) with (s, z) = choose_qparams(x), int8.
std::optional<DynamicIn> dynamic_input(const Lowerer& L, int v) {
  const int dqn = L.g.value(v).producer;
  if (dqn < 0) return std::nullopt;
  const Node& dq = L.node(dqn);
  if (dq.op != kDequantize || dq.inputs.size() != 3) return std::nullopt;
  const int qv = dq.inputs[0], s = dq.inputs[1], z = dq.inputs[2];
  if (L.g.value(qv).dtype != DType::i8 || L.g.value(qv).producer < 0) return std::nullopt;
  const Node& q = L.node(L.g.value(qv).producer);
  if (q.op != kQuantize || q.inputs.size() != 3 || q.inputs[1] != s || q.inputs[2] != z) return std::nullopt;
  const int cn = L.g.value(s).producer;
  if (cn < 0) return std::nullopt;
  const Node& c = L.node(cn);
  if (c.op != kChoose || c.outputs.size() != 2 || c.outputs[0] != s || c.outputs[1] != z || c.inputs.at(0) != q.inputs[0])
    return std::nullopt;
  if (c.attrs.s("dtype", "i8") != "i8") return std::nullopt;
  return DynamicIn{q.inputs[0], c.attrs};
}

// The f32 bias: a constant as it is, a dequantized constant (int32 bias) evaluated as the fp32
// dequantize kernel does; kNoValue for none; nullopt when not constant.
std::optional<int> float_bias(Lowerer& L, int v, int64_t channels, const Node& origin) {
  if (v == kNoValue) return kNoValue;
  if (L.g.is_constant(v)) {
    if (L.g.value(v).dtype != DType::f32 || L.g.value(v).constant->numel() != channels) return std::nullopt;
    return v;
  }
  const int p = L.g.value(v).producer;
  if (p < 0) return std::nullopt;
  const Node& dq = L.node(p);
  if ((dq.op != kDequantize && dq.op != kDequantizePerChannel) || dq.inputs.size() < 2) return std::nullopt;
  for (int in : dq.inputs)
    if (in != kNoValue && !L.g.is_constant(in)) return std::nullopt;
  const std::vector<int64_t> q = L.g.value(dq.inputs[0]).constant->to_int64_vector();
  const std::vector<double> s = L.g.value(dq.inputs[1]).constant->to_double_vector();
  std::vector<int64_t> z(1, 0);
  if (dq.inputs.size() > 2 && dq.inputs[2] != kNoValue) z = L.g.value(dq.inputs[2]).constant->to_int64_vector();
  if (static_cast<int64_t>(q.size()) != channels || (s.size() != 1 && s.size() != q.size()) ||
      (z.size() != 1 && z.size() != q.size()))
    return std::nullopt;
  const bool i32 = L.g.value(dq.inputs[0]).dtype == DType::i32;
  std::vector<float> b(q.size());
  for (size_t c = 0; c < q.size(); ++c) {
    const float sc = static_cast<float>(s[s.size() == 1 ? 0 : c]);
    const int64_t zc = z[z.size() == 1 ? 0 : c];
    // The fp32 dequantize kernel: in double for i32 (numpy's promotion), in float otherwise.
    b[c] = i32 ? static_cast<float>((static_cast<double>(static_cast<float>(q[c])) - static_cast<double>(zc)) *
                                    static_cast<double>(sc))
               : (static_cast<float>(q[c]) - static_cast<float>(zc)) * sc;
  }
  return L.add_constant(origin.name + ".bias_f32", Tensor::from_vector<float>({channels}, b));
}

}  // namespace

bool lower_dynamic_conv_linear(Lowerer& L, int n) {
  const Node node = L.node(n);  // a copy: emitting grows g.nodes
  const std::string op = node.op == "aten.linear.default"   ? "quantized.linear_dynamic"
                         : node.op == "aten.conv1d.default" ? "quantized.conv1d_dynamic"
                         : node.op == "aten.conv2d.default" ? "quantized.conv2d_dynamic"
                                                            : "";
  if (op.empty() || node.inputs.size() < 2 || node.outputs.size() != 1) return false;
  const std::optional<DynamicIn> x = dynamic_input(L, node.inputs[0]);
  if (!x) return false;
  const Shape ws = L.g.value(node.inputs[1]).shape;
  if (ws.empty()) return false;
  const int64_t cout = ws[0];
  const std::optional<WeightIn> w = L.weight_input(node.inputs[1], cout);
  if (!w) return false;
  const std::optional<int> bias = float_bias(L, node.inputs.size() > 2 ? node.inputs[2] : kNoValue, cout, node);
  if (!bias) return false;
  Attrs a;
  if (op != "quantized.linear_dynamic")
    for (const char* k : {"stride", "padding", "dilation", "groups"})
      if (node.attrs.has(k)) a.set(k, node.attrs.all().at(k));
  for (const char* k : {"quant_min", "quant_max", "eps", "dtype"})
    if (x->choose.has(k)) a.set(k, x->choose.all().at(k));
  a.set("w_scales", std::vector<double>(w->scales.begin(), w->scales.end()));
  std::vector<int> inputs = {x->x, w->value};
  if (*bias != kNoValue) inputs.push_back(*bias);
  const int out = node.outputs[0];
  L.g.nodes[static_cast<size_t>(n)].outputs.clear();  // the integer op produces the f32 value now
  L.emit(op, node, inputs, std::move(a), {out});
  return true;
}

}  // namespace eq::lowering
