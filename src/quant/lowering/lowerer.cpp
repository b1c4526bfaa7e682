// Lowerer: pattern reading (dequantize inputs, quantize outputs, weights, bias, fused
// activations) and emission of integer nodes. See lowering.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgequant/ops.h"
#include "lowering.h"

namespace eq::lowering {
namespace {

// A constant tensor with a single element, as a double; nullopt otherwise.
std::optional<double> constant_scalar(const Graph& g, int v) {
  if (!g.is_constant(v)) return std::nullopt;
  const Tensor& t = *g.value(v).constant;
  if (t.numel() != 1 || t.rank() > 1) return std::nullopt;
  return t.to_double_vector()[0];
}

bool dequantize_op(const std::string& op) { return op == kDequantize || op == kDequantizePerChannel; }

}  // namespace

Lowerer::Lowerer(Graph& graph, bool int16_activations) : g(graph), int16(int16_activations) {
  original_nodes = static_cast<int>(g.nodes.size());
  consumers = g.consumers();
  done.assign(g.nodes.size(), 0);
}

bool Lowerer::is_graph_output(int v) const {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

std::optional<QParam> Lowerer::per_tensor_params(const Node& n, DType dtype) const {
  if (n.inputs.size() < 2) return std::nullopt;
  const int s = n.inputs[1];
  if (!g.is_constant(s) || g.value(s).dtype != DType::f32) return std::nullopt;
  const std::optional<double> scale = constant_scalar(g, s);
  if (!scale || !(*scale > 0) || !std::isfinite(*scale)) return std::nullopt;
  QParam q;
  q.scale = static_cast<float>(*scale);
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const int z = n.inputs[2];
    if (g.value(z).dtype != dtype) return std::nullopt;
    const std::optional<double> zp = constant_scalar(g, z);
    if (!zp) return std::nullopt;
    q.zp = static_cast<int32_t>(*zp);
  }
  return q;
}

std::optional<QParam> Lowerer::act_params(const Node& n, DType dtype) const {
  if (dtype == DType::i8) return per_tensor_params(n, DType::i8);
  if (dtype != DType::i16 || !int16) return std::nullopt;
  const std::optional<QParam> q = per_tensor_params(n, DType::i16);
  // TFLite's 16x8 kernels (conv, FC, add, mul, softmax, quantize to int16, ...) require zero point
  // 0 on int16 activations; Ethos-U's a16w8 config is symmetric and gives 0. Any other zero point
  // leaves the pattern float (fake-quant), which no integer int16 kernel could take.
  if (!q || q->zp != 0) return std::nullopt;
  return q;
}

std::optional<ActIn> Lowerer::act_input(int v) const {
  if (v < 0) return std::nullopt;
  const int p = g.value(v).producer;
  if (p < 0) return std::nullopt;
  const Node& dq = node(p);
  if (dq.op != kDequantize || dq.inputs.empty()) return std::nullopt;
  const DType dt = g.value(dq.inputs[0]).dtype;
  const std::optional<QParam> q = act_params(dq, dt);
  if (!q) return std::nullopt;
  return ActIn{dq.inputs[0], *q, dt};
}

std::optional<QOut> Lowerer::quantized_output(int v) const {
  if (v < 0 || static_cast<size_t>(v) >= consumers.size() || is_graph_output(v)) return std::nullopt;
  std::vector<int> readers = consumers[static_cast<size_t>(v)];
  std::sort(readers.begin(), readers.end());
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  if (readers.empty()) return std::nullopt;
  QOut out;
  for (int r : readers) {
    const Node& q = node(r);
    if (q.op != kQuantize || q.inputs[0] != v || q.outputs.size() != 1) return std::nullopt;
    const DType dt = g.value(q.outputs[0]).dtype;
    const std::optional<QParam> qp = act_params(q, dt);
    if (!qp) return std::nullopt;
    if (out.q_nodes.empty()) {
      out.qp = *qp;
      out.value = q.outputs[0];
      out.dtype = dt;
    } else if (!(*qp == out.qp) || dt != out.dtype) {
      return std::nullopt;  // two different qparams on one output: leave it to the float path
    }
    out.q_nodes.push_back(r);
  }
  return out;
}

std::optional<WeightIn> Lowerer::weight_input(int v, int64_t channels) const {
  if (v < 0) return std::nullopt;
  const int p = g.value(v).producer;
  if (p < 0) return std::nullopt;
  const Node& dq = node(p);
  if (!dequantize_op(dq.op) || dq.inputs.size() < 2) return std::nullopt;
  const int w = dq.inputs[0];
  if (!g.is_constant(w) || g.value(w).dtype != DType::i8) return std::nullopt;
  const int s = dq.inputs[1];
  if (!g.is_constant(s) || g.value(s).dtype != DType::f32) return std::nullopt;
  if (dq.op == kDequantizePerChannel) {
    // Per channel only along the output channels (TFLite's per-channel conv / FC rule).
    const int64_t rank = g.value(w).constant->rank();
    const int64_t axis = dq.attrs.i("axis", 1);
    if ((axis < 0 ? axis + rank : axis) != 0) return std::nullopt;
  }
  WeightIn r;
  r.value = w;
  for (double d : g.value(s).constant->to_double_vector()) r.scales.push_back(static_cast<float>(d));
  if (r.scales.size() != 1 && static_cast<int64_t>(r.scales.size()) != channels) return std::nullopt;
  for (float sc : r.scales)
    if (!(sc > 0) || !std::isfinite(sc)) return std::nullopt;
  if (dq.inputs.size() > 2 && dq.inputs[2] != kNoValue) {
    if (!g.is_constant(dq.inputs[2])) return std::nullopt;
    for (int64_t z : g.value(dq.inputs[2]).constant->to_int64_vector())
      if (z != 0) return std::nullopt;  // int8 weights must be symmetric
  }
  return r;
}

std::optional<int> Lowerer::bias_input(int v, float x_scale, const std::vector<float>& w_scales, int64_t channels,
                                       const Node& origin, DType dtype) {
  if (v == kNoValue) return kNoValue;
  const bool i64 = dtype == DType::i64;
  // Saturation bounds of the bias dtype; for i64 the largest doubles below 2^63 in magnitude, so
  // the conversion back to int64_t is defined.
  const double lo = i64 ? -9.2e18 : std::numeric_limits<int32_t>::min();
  const double hi = i64 ? 9.2e18 : std::numeric_limits<int32_t>::max();
  auto constant = [&](const std::vector<int64_t>& q) {
    if (i64) return add_constant(origin.name + ".bias_int64", Tensor::from_vector<int64_t>({channels}, q));
    return add_constant(origin.name + ".bias_int32",
                        Tensor::from_vector<int32_t>({channels}, std::vector<int32_t>(q.begin(), q.end())));
  };
  auto product = [&](int64_t c) {
    return static_cast<double>(x_scale) * static_cast<double>(w_scales[w_scales.size() == 1 ? 0 : static_cast<size_t>(c)]);
  };
  std::vector<float> real(static_cast<size_t>(channels));
  if (g.is_constant(v) && g.value(v).dtype == DType::f32) {
    // A float bias beside int8 input and weight (XNNPACK's static config leaves the bias float):
    // quantized as ExecuTorch's XNNPACK delegate does it (QuantParams.from_bias, then
    // quantize_per_channel): scale = f32(w_scale[c] * x_scale), zero point 0,
    // q = round_half_even(b * f32(1 / scale)), all in float32, clamped to int32 (int64 for 16x8).
    const std::vector<double> f = g.value(v).constant->to_double_vector();
    if (static_cast<int64_t>(f.size()) != channels) return std::nullopt;
    std::vector<int64_t> q(f.size());
    for (size_t c = 0; c < f.size(); ++c) {
      const float scale = w_scales[w_scales.size() == 1 ? 0 : c] * x_scale;
      const float r = std::nearbyint(static_cast<float>(f[c]) * (1.0f / scale));
      if (std::isnan(r)) return std::nullopt;  // NaN bias or zero scale: leave the pattern float
      q[c] = static_cast<int64_t>(std::clamp<double>(r, lo, hi));
    }
    return constant(q);
  } else {
    const int p = g.value(v).producer;
    if (p < 0) return std::nullopt;
    const Node& dq = node(p);
    if (!dequantize_op(dq.op) || dq.inputs.size() < 2) return std::nullopt;
    const int b = dq.inputs[0];
    if (!g.is_constant(b) || g.value(b).dtype != DType::i32 || !g.is_constant(dq.inputs[1])) return std::nullopt;
    const std::vector<int64_t> q = g.value(b).constant->to_int64_vector();
    const std::vector<double> s = g.value(dq.inputs[1]).constant->to_double_vector();
    std::vector<int64_t> z(1, 0);
    if (dq.inputs.size() > 2 && dq.inputs[2] != kNoValue) {
      if (!g.is_constant(dq.inputs[2])) return std::nullopt;
      z = g.value(dq.inputs[2]).constant->to_int64_vector();
    }
    if (static_cast<int64_t>(q.size()) != channels || (s.size() != 1 && s.size() != q.size()) ||
        (z.size() != 1 && z.size() != q.size()))
      return std::nullopt;
    bool as_is = true;
    for (size_t c = 0; c < q.size(); ++c) {
      const double sb = s[s.size() == 1 ? 0 : c];
      const int64_t zb = z[z.size() == 1 ? 0 : c];
      const double want = product(static_cast<int64_t>(c));
      if (zb != 0 || std::fabs(sb - want) > 1e-6 * std::fabs(want)) as_is = false;
      // The fp32 dequantize kernel's arithmetic for i32 (numpy's float64 promotion).
      real[c] = static_cast<float>((static_cast<double>(static_cast<float>(q[c])) - static_cast<double>(zb)) *
                                   static_cast<double>(static_cast<float>(sb)));
    }
    if (as_is) return i64 ? constant(q) : b;
  }
  std::vector<int64_t> requant(real.size());
  for (size_t c = 0; c < real.size(); ++c) {
    const double r = std::nearbyint(static_cast<double>(real[c]) / product(static_cast<int64_t>(c)));  // half to even
    if (std::isnan(r)) return std::nullopt;  // a NaN bias or bias scale: leave the pattern float
    requant[c] = static_cast<int64_t>(std::clamp<double>(r, lo, hi));
  }
  return constant(requant);
}

std::optional<FusedAct> Lowerer::fused_output(int v, const std::vector<std::string>& allowed) const {
  if (std::optional<QOut> q = quantized_output(v)) return FusedAct{-1, "", *q};
  if (v < 0 || static_cast<size_t>(v) >= consumers.size() || is_graph_output(v)) return std::nullopt;
  std::vector<int> readers = consumers[static_cast<size_t>(v)];
  std::sort(readers.begin(), readers.end());
  readers.erase(std::unique(readers.begin(), readers.end()), readers.end());
  if (readers.size() != 1) return std::nullopt;
  const Node& a = node(readers[0]);
  static const std::map<std::string, std::string> kinds = {{"aten.relu.default", "relu"},
                                                           {"aten.hardtanh.default", "hardtanh"},
                                                           {"aten.sigmoid.default", "sigmoid"},
                                                           {"aten.tanh.default", "tanh"}};
  const auto it = kinds.find(a.op);
  if (it == kinds.end() || std::find(allowed.begin(), allowed.end(), it->second) == allowed.end()) return std::nullopt;
  if (a.inputs.size() != 1 || a.outputs.size() != 1) return std::nullopt;
  std::optional<QOut> q = quantized_output(a.outputs[0]);
  if (!q) return std::nullopt;
  return FusedAct{readers[0], it->second, *q};
}

int Lowerer::emit(const std::string& op, const Node& origin, std::vector<int> inputs, Attrs attrs,
                  std::vector<int> outputs) {
  Node n;
  n.op = op;
  n.name = origin.name;
  n.module = origin.module;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  const int idx = static_cast<int>(g.nodes.size());
  for (int v : n.outputs) g.value(v).producer = idx;
  g.nodes.push_back(std::move(n));
  infer_node(g, g.nodes.back());
  return idx;
}

int Lowerer::take_over(const QOut& out) {
  for (size_t k = 1; k < out.q_nodes.size(); ++k) {
    Node& extra = g.nodes[static_cast<size_t>(out.q_nodes[k])];
    replace_uses(extra.outputs.at(0), out.value);
    extra.outputs.clear();
  }
  g.nodes[static_cast<size_t>(out.q_nodes.at(0))].outputs.clear();
  return out.value;
}

int Lowerer::new_value(const std::string& base, DType dtype) {
  return g.add_value(g.unique_value_name(base), dtype, {});
}

int Lowerer::add_constant(const std::string& base, Tensor t) {
  return g.add_constant(g.unique_value_name(base), std::move(t));
}

void Lowerer::replace_uses(int from, int to) {
  for (Node& n : g.nodes)
    for (int& v : n.inputs)
      if (v == from) v = to;
  for (int& v : g.outputs)
    if (v == from) v = to;
}

void Lowerer::requantize_into(int v, const QParam& from, const QOut& out, const Node& origin) {
  Attrs a;
  set_qparams(a, "x", from);
  set_qparams(a, "out", out.qp);
  // int8 ↔ int16 (TFLite QUANTIZE takes both ways); the schema cannot see the dtype otherwise.
  if (out.dtype != g.value(v).dtype) a.set("out_dtype", std::string(dtype_name(out.dtype)));
  emit("quantized.requantize", origin, {v}, std::move(a), {take_over(out)});
}

void set_qparams(Attrs& a, const std::string& prefix, const QParam& q) {
  a.set(prefix + "_scale", static_cast<double>(q.scale));
  a.set(prefix + "_zero_point", static_cast<int64_t>(q.zp));
}

bool set_act_range(Attrs& a, const FusedAct& f, const Graph& g) {
  if (f.kind == "sigmoid" || f.kind == "tanh") {
    a.set("activation", f.kind);
    return true;
  }
  // The output dtype's range (TFLite: std::numeric_limits of the output type).
  const bool i16 = f.out.dtype == DType::i16;
  const int64_t qmin = i16 ? -32768 : -128, qmax = i16 ? 32767 : 127;
  int64_t lo = qmin, hi = qmax;
  // TFLite: zero_point + (int32)TfLiteRound(f / scale), f / scale in float.
  auto quantize = [&](double bound) {
    const float r = std::round(static_cast<float>(bound) / f.out.qp.scale);
    return std::clamp<double>(static_cast<double>(r) + f.out.qp.zp, static_cast<double>(qmin), static_cast<double>(qmax));
  };
  if (f.kind == "relu") {
    lo = std::max<int64_t>(lo, f.out.qp.zp);
  } else if (f.kind == "hardtanh") {
    const Attrs& h = g.nodes.at(static_cast<size_t>(f.node)).attrs;
    const double min_val = h.f("min_val", -1.0), max_val = h.f("max_val", 1.0);
    if (std::isfinite(min_val)) lo = std::max<int64_t>(lo, static_cast<int64_t>(quantize(min_val)));
    if (std::isfinite(max_val)) hi = std::min<int64_t>(hi, static_cast<int64_t>(quantize(max_val)));
  }
  if (lo > hi) return false;
  a.set("act_min", lo);
  a.set("act_max", hi);
  return true;
}

}  // namespace eq::lowering
