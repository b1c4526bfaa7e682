// The Ethos-U support rules (support.h). Sources: ExecuTorch 1.5.1 backends/arm/operator_support
// (tosa_supported_operators.py: TOSA INT support list, CheckArmQuantized; ethos_u55_support.py:
// EthosU55NotSupported, EthosU55DtypeSupport; convolution_support.py; pool_2d_support.py) and
// ethos-u-vela 5.1.0's tosa_supported_operators.py, whose limits those checks restate.
#include "support.h"

#include <algorithm>

#include "edgequant/partition.h"
#include "quant/patterns/annotation_context.h"

namespace eq::ethosu {
namespace {

using quant::op_in;

std::string num(int64_t v) { return std::to_string(v); }
std::string label(const Node& n) { return "'" + n.name + "' (" + n.op + ")"; }
int64_t dim1(int64_t d) { return d == kBatch ? 1 : d; }  // the NPU runs batch 1

bool is_conv(const std::string& op) { return op_in(op, {"aten.conv1d.default", "aten.conv2d.default"}); }
bool has_weights(const std::string& op) {
  return is_conv(op) || op == "aten.linear.default" || op == "aten.conv_transpose2d.input";
}

std::vector<int64_t> ints_or(const Node& n, const char* name, size_t k, int64_t fill) {
  std::vector<int64_t> v = n.attrs.ints(name, {});
  if (v.empty()) v.assign(k, fill);
  if (v.size() == 1 && k > 1) v.assign(k, v[0]);
  return v;
}

}  // namespace

int fused_activation(const Graph& g, int node, const std::vector<std::vector<int>>& consumers) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  if (!has_weights(n.op) || n.outputs.empty()) return -1;
  const int o = n.outputs[0];
  if (std::find(g.outputs.begin(), g.outputs.end(), o) != g.outputs.end()) return -1;
  const auto& users = consumers[static_cast<size_t>(o)];
  if (users.size() != 1) return -1;
  const Node& a = g.nodes[static_cast<size_t>(users[0])];
  return op_in(a.op, {"aten.relu.default", "aten.hardtanh.default"}) ? users[0] : -1;
}

std::string check_quantized(const Graph& g, int node, bool output_fused, int fused_input) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  for (size_t s = 0; s < n.inputs.size(); ++s) {
    const int v = n.inputs[s];
    if (static_cast<int>(s) == fused_input) continue;
    if (v < 0 || g.value(v).dtype != DType::f32) continue;  // indices, shapes: not quantized data
    const std::string in = "input " + std::to_string(s) + " '" + g.value(v).name + "'";
    const int p = g.value(v).producer;
    if (p < 0 || !is_dequantize_node(g.nodes[static_cast<size_t>(p)]))
      return "not quantized: " + in + " is float (" + (g.is_constant(v) ? "a constant" : "not dequantized") +
             "); the TOSA INT profile takes quantized tensors only";
    const Node& dq = g.nodes[static_cast<size_t>(p)];
    const DType dt = g.value(dq.inputs.at(0)).dtype;
    const bool per_channel = dq.op.find("per_channel") != std::string::npos;
    const bool weight = has_weights(n.op) && s == 1, bias = has_weights(n.op) && s == 2;
    if (bias) {
      if (dt != DType::i32) return in + " (bias) is " + std::string(dtype_name(dt)) + "; TOSA takes an int32 bias";
      continue;
    }
    if (weight) {
      if (dt != DType::i8) return in + " (weights) is " + std::string(dtype_name(dt)) + "; Ethos-U takes int8 weights";
      continue;
    }
    if (per_channel) return in + " is quantized per channel; only weights and bias may be";
    if (dt != DType::i8 && dt != DType::i16)
      return in + " is " + std::string(dtype_name(dt)) + "; Ethos-U takes int8 or int16 activations";
  }
  const std::vector<std::vector<int>> consumers = g.consumers();
  for (int o : n.outputs) {
    if (output_fused) break;
    if (g.value(o).dtype != DType::f32) continue;
    if (std::find(g.outputs.begin(), g.outputs.end(), o) != g.outputs.end())
      return "not quantized: output '" + g.value(o).name + "' is a model output without a quantize node";
    const auto& users = consumers[static_cast<size_t>(o)];
    if (users.empty()) return "not quantized: output '" + g.value(o).name + "' is read by no quantize node";
    for (int u : users) {
      const Node& q = g.nodes[static_cast<size_t>(u)];
      if (!is_quantize_node(q))
        return "not quantized: output '" + g.value(o).name + "' is read by " + label(q) + ", not a quantize node";
      const DType dt = g.value(q.outputs.at(0)).dtype;
      if (dt != DType::i8 && dt != DType::i16)
        return "output is quantized to " + std::string(dtype_name(dt)) + "; Ethos-U produces int8 or int16";
      if (q.op.find("per_channel") != std::string::npos) return "output is quantized per channel";
    }
  }
  return "";
}

std::string check_tosa_op(const Graph& g, int node) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  // The ops of our IR that the Arm backend lowers in the INT profile (TOSAProINTSupportList plus
  // the ops it decomposes first: softmax, mean, div, adaptive pools, layer_norm, ...).
  static const std::initializer_list<const char*> supported = {
      "aten.conv1d.default", "aten.conv2d.default", "aten.conv_transpose2d.input", "aten.linear.default",
      "aten.matmul.default", "aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.div.Tensor",
      "aten.relu.default", "aten.hardtanh.default", "aten.sigmoid.default", "aten.tanh.default", "aten.exp.default",
      "aten.reciprocal.default", "aten.abs.default", "aten.neg.default", "aten.sqrt.default", "aten.erf.default",
      "aten.gelu.default", "aten.hardswish.default", "aten.hardsigmoid.default", "aten.leaky_relu.default",
      "aten.prelu.default", "aten.softmax.int", "aten.log_softmax.int", "aten.layer_norm.default",
      "aten.amax.default", "aten.sum.dim_IntList", "aten.mean.dim", "aten.max_pool2d.default",
      "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default", "aten.cat.default", "aten.reshape.default",
      "aten.flatten.using_ints", "aten.permute.default", "aten.squeeze.dims", "aten.unsqueeze.default",
      "aten.slice_copy.Tensor", "aten.pad.default", "aten.clone.default", "aten.index_select.default",
      "aten.upsample.default"};
  if (!op_in(n.op, supported)) return "no TOSA INT lowering for " + n.op + " in the Arm backend";
  if (n.op == "aten.pad.default" && n.attrs.s("mode", "constant") != "constant")
    return "pad mode '" + n.attrs.s("mode", "constant") + "': TOSA PAD is constant padding only";
  if (n.op == "aten.conv_transpose2d.input") {
    for (int64_t d : ints_or(n, "dilation", 2, 1))
      if (d != 1) return "transpose convolutions with dilation are not supported";
    for (int64_t p : n.attrs.ints("output_padding", {}))
      if (p != 0) return "convolutions with non-zero output padding are not implemented";
  }
  if (n.op == "aten.max_pool2d.default") {
    // pool_2d_support.dilation_check: dilation > 1 needs stride 1 (or a 1x1 output).
    const auto d = ints_or(n, "dilation", 2, 1), s = ints_or(n, "stride", 2, 1);
    const Shape& out = g.value(n.outputs[0]).shape;
    const bool one = out.size() == 4 && out[2] == 1 && out[3] == 1;
    for (size_t k = 0; k < 2; ++k)
      if (d[k] > 1 && s[k] != 1 && !one) return "max_pool2d with dilation " + num(d[k]) + " needs stride 1";
  }
  if (n.op == "aten.avg_pool2d.default") {
    const auto k = ints_or(n, "kernel_size", 2, 1), p = n.attrs.ints("padding", {});
    const bool padded = std::any_of(p.begin(), p.end(), [](int64_t x) { return x != 0; });
    if (padded && !n.attrs.i("count_include_pad", 1) && (k[0] > 8 || k[1] > 8))
      return "avg_pool2d with padding needs kernel dims <= 8, got " + num(k[0]) + "x" + num(k[1]);
  }
  return "";
}

std::string check_target(const Graph& g, int node, const EthosUCompileSpec& spec) {
  if (spec.family == "u85") return "";  // ExecuTorch applies the hardware checks to the U55 subset only
  const Node& n = g.nodes[static_cast<size_t>(node)];
  const std::string hw = "Ethos-" + std::string(spec.family == "u55" ? "U55" : "U65");
  // EthosU55NotSupported: GATHER, RESIZE bilinear (and comparisons, bitwise ops, not in our IR).
  if (n.op == "aten.index_select.default") return n.op + " (GATHER) is not supported on " + hw;
  if (n.op == "aten.upsample.default" && n.attrs.s("mode", "nearest") != "nearest")
    return "bilinear resize (RESIZE) is not supported on " + hw;
  auto in_dtype = [&](size_t s) {
    const int v = n.inputs.at(s);
    const int p = g.value(v).producer;
    return p >= 0 && is_dequantize_node(g.nodes[static_cast<size_t>(p)])
               ? g.value(g.nodes[static_cast<size_t>(p)].inputs[0]).dtype
               : g.value(v).dtype;
  };
  // EthosU55DtypeSupport: matmul on int8 only.
  if (n.op == "aten.matmul.default")
    for (size_t s = 0; s < 2; ++s)
      if (in_dtype(s) != DType::i8)
        return "matmul input " + std::to_string(s) + " is " + std::string(dtype_name(in_dtype(s))) + "; " + hw +
               " takes int8 only";
  if (is_conv(n.op)) {
    const Shape in = g.value(n.inputs[0]).shape, w = g.value(n.inputs[1]).shape;
    const int64_t groups = n.attrs.i("groups", 1), cin = dim1(in.at(1)), cout = w.at(0);
    if (cin == groups && cout % cin == 0) {
      for (size_t d = 1; d < in.size(); ++d)
        if (dim1(in[d]) > 65536) return "depthwise convolution needs C, H, W <= 65536, got " + num(in[d]);
    } else if (cin > 65536) {
      return "convolution needs C <= 65536, got " + num(cin);
    }
    // convolution_support._is_node_supported_u55 reads the kernel as (w[2], w[3]) and bounds w[3].
    const int64_t kx = w.size() > 2 ? w[2] : 1, ky = w.size() > 3 ? w[3] : 1;
    if (ky > 64 || kx * ky > 4096)
      return "convolution needs kernel_y <= 64 and kernel_x*kernel_y <= 4096, got " + num(kx) + "x" + num(ky);
    const size_t k = w.size() - 2;
    const auto stride = ints_or(n, "stride", k, 1), dil = ints_or(n, "dilation", k, 1), pad = n.attrs.ints("padding", {});
    const bool padded = std::any_of(pad.begin(), pad.end(), [](int64_t x) { return x > 0; });
    for (size_t d = 0; d < k; ++d)
      if ((stride[d] < 1 || stride[d] > 3) && (padded || dil[d] != 1))
        return "stride " + num(stride[d]) + " > 3 needs no padding and dilation 1 (" + hw + ")";
  }
  if (n.op == "aten.conv_transpose2d.input") {
    const Shape in = g.value(n.inputs[0]).shape, w = g.value(n.inputs[1]).shape;
    if (in.size() != 4) return "transpose convolution needs a 4-D input";
    for (size_t d = 1; d < 4; ++d)
      if (dim1(in[d]) > 65536) return "transpose convolution needs H, W, C in [1, 65536], got " + num(in[d]);
    if (w[2] > 64 || w[2] * w[3] > 4096)
      return "transpose convolution needs kernel_h <= 64 and kernel_h*kernel_w <= 4096, got " + num(w[2]) + "x" + num(w[3]);
    const auto s = ints_or(n, "stride", 2, 1);
    const bool ok = (s[0] == s[1] && (s[0] == 1 || s[0] == 2)) || (s[0] == 1 && s[1] == 2 && in[2] == 1 && w[2] == 1) ||
                    (s[0] == 2 && s[1] == 1 && in[3] == 1 && w[3] == 1);
    if (!ok) return "transpose convolution stride " + num(s[0]) + "x" + num(s[1]) + " is not supported on " + hw;
  }
  if (op_in(n.op, {"aten.max_pool2d.default", "aten.avg_pool2d.default"})) {
    const auto k = ints_or(n, "kernel_size", 2, 1), s = ints_or(n, "stride", 2, 1);
    if (k[0] * k[1] > 65536 || k[1] > 256)
      return "pooling needs kernel_x <= 256 and kernel_x*kernel_y <= 65536, got " + num(k[0]) + "x" + num(k[1]);
    if (s[0] > 3 || s[1] > 3) return "pooling needs stride <= 3, got " + num(s[0]) + "x" + num(s[1]);
    const Shape& in = g.value(n.inputs[0]).shape;
    for (size_t d = 1; d < in.size(); ++d)
      if (dim1(in[d]) > 65536) return "pooling needs every dimension <= 65536, got " + num(in[d]);
  }
  return "";
}

bool is_no_compute(const Graph& g, int node) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  if (op_in(n.op, {"aten.reshape.default", "aten.flatten.using_ints", "aten.clone.default", "aten.squeeze.dims",
                   "aten.unsqueeze.default"}))
    return true;
  if (n.op == "aten.permute.default") {
    // A permutation that moves only size-1 dims keeps the memory order.
    const Shape& in = g.value(n.inputs[0]).shape;
    const std::vector<int64_t> perm = n.attrs.ints("dims", {});
    std::vector<int64_t> kept_in, kept_out;
    for (size_t i = 0; i < in.size(); ++i)
      if (in[i] != 1) kept_in.push_back(static_cast<int64_t>(i));
    for (int64_t p : perm)
      if (p >= 0 && static_cast<size_t>(p) < in.size() && in[static_cast<size_t>(p)] != 1) kept_out.push_back(p);
    return kept_in == kept_out;
  }
  return false;
}

}  // namespace eq::ethosu
