// XNNPACKQuantizer's patterns (ExecuTorch 1.5.1 xnnpack_quantizer.py SUPPORTED_PATTERNS with the
// annotators of xnnpack_quantizer_utils.py), written on the shared pattern library.
//
// Each pattern is anchored at the op set_operator_type selects it by (torch's op_overloads): the
// "+relu" patterns at the conv / linear / add / mul, which then take the relu as their sole user.
// A pattern runs for a config as ExecuTorch decides: dynamic configs only run the dynamic
// patterns (linear, conv, conv_transpose), QAT configs also the conv+bn ones, static configs all.
#include "quantizer_patterns.h"

#include <cmath>
#include <set>

namespace eq::xnnpack_quant {
namespace {

using quant::AnnotationContext;
using quant::op_in;

// What a pattern needs of its config (ExecuTorch's QuantPattern.is_dynamic / is_qat).
struct Gate {
  bool dynamic_ok;
  bool qat_only;
};

bool runs_for(Gate gate, const QuantizationConfig& c) {
  const bool dyn = is_dynamic_config(c);
  if (dyn && gate.dynamic_ok) return true;
  if (c.is_qat && gate.qat_only) return true;
  return !dyn;
}

const std::vector<std::string> kConvOps = {"aten.conv1d.default", "aten.conv2d.default"};
const std::vector<std::string> kConvTransposeOps = {"aten.conv_transpose1d.default", "aten.conv_transpose2d.input"};
const std::vector<std::string> kLinearOps = {"aten.linear.default"};
const std::vector<std::string> kAddOps = {"aten.add.Tensor"};
const std::vector<std::string> kMulOps = {"aten.mul.Tensor"};

bool is_relu(const Node& n) { return n.op == "aten.relu.default"; }
bool is_batch_norm(const Node& n) { return n.op == "aten._native_batch_norm_legit_no_training.default"; }

// torch's _is_share_obs_or_fq_op, in our spellings too: ONNX Reshape / Slice / Squeeze import as
// aten.reshape / aten.slice_copy / aten.squeeze.dims (torch's view / slice / squeeze.dim).
bool is_share_op(const std::string& op) {
  return op_in(op, {"aten.relu.default", "aten.hardtanh.default", "aten.max_pool2d.default", "aten.mean.default",
                    "aten.mean.dim", "aten.permute.default", "aten.transpose.int", "aten.squeeze.dim",
                    "aten.squeeze.dims", "aten.adaptive_avg_pool2d.default", "aten.view.default",
                    "aten.reshape.default", "aten.slice.Tensor", "aten.slice_copy.Tensor", "aten.flatten.using_ints",
                    "aten.dropout.default"});
}

bool has_bias(const Node& n) { return n.inputs.size() > 2 && n.inputs[2] != kNoValue; }

// conv / linear inputs: activation, weight (per output channel on `weight_axis`), bias (derived
// int32 when the config asks for it; XNNPACK's configs leave it float), output spec on
// `output_node` (the node itself, the fused relu or batch norm, or -1 for none).
void annotate_weighted(AnnotationContext& ctx, int i, const QuantizationConfig& c, int weight_axis, int output_node) {
  const bool bias = has_bias(ctx.node(i));
  QuantizationAnnotation& a = ctx.annotate(i);
  if (c.input_activation) a.input_qspec_map[0] = *c.input_activation;
  if (c.weight) {
    QuantizationSpec w = *c.weight;
    w.ch_axis = weight_axis;
    a.input_qspec_map[1] = w;
  }
  if (bias && c.bias && c.input_activation && c.weight)
    a.input_qspec_map[2] = derived_bias_spec(EdgeOrNode::edge(i, 0), EdgeOrNode::edge(i, 1));
  if (output_node < 0 || !c.output_activation) return;
  ctx.annotate(output_node).output_qspec = *c.output_activation;
}

int conv_groups(const Node& n) { return static_cast<int>(n.attrs.i("groups", 1)); }

// The conv's output goes to exactly one relu (and not to the graph output): conv_relu's case,
// which the plain conv pattern leaves to it (ExecuTorch's "hacky" check).
bool feeds_only_relu(const AnnotationContext& ctx, int i) {
  const int v = ctx.node(i).outputs.at(0);
  const auto& us = ctx.users(v);
  return !ctx.is_graph_output(v) && us.size() == 1 && is_relu(ctx.node(us[0]));
}

bool conv(AnnotationContext& ctx, int i, const QuantizationConfig& c, bool transpose) {
  const Node& n = ctx.node(i);
  if (feeds_only_relu(ctx, i)) {
    if (is_dynamic_config(c)) ctx.skip(i, "a conv followed by relu has no dynamic quantization pattern");
    return false;
  }
  if (transpose && conv_groups(n) != 1) return ctx.skip(i, "a transposed conv with groups != 1"), false;
  if (is_dynamic_config(c)) {
    const Shape& w = ctx.graph().value(n.inputs.at(1)).shape;
    if (w.size() != 4) return ctx.skip(i, "dynamic quantization takes 2-D convs only (4-D weight)"), false;
    // ExecuTorch calls is_depthwise_conv(weight_shape, groups=1): one input channel per group,
    // which also skips a conv over a 1-channel input.
    if (!transpose && w[1] == 1)
      return ctx.skip(i, "dynamic quantization skips depthwise convs (1 input channel per group)"), false;
  }
  annotate_weighted(ctx, i, c, transpose ? 1 : 0, i);
  return true;
}

// conv / conv_transpose / linear + relu: the relu is the weighted op's only user and belongs to
// the pass too; the relu's output is observed, the weighted op's is not.
bool weighted_relu(AnnotationContext& ctx, int i, const QuantizationConfig& c, const NodeFilter& selected,
                   bool transpose) {
  const int r = ctx.sole_user(i, is_relu);
  if (r < 0) return false;
  if (!selected(ctx.graph(), r)) {
    // As in ExecuTorch, the plain conv pattern has already declined (its relu should fuse), so
    // this conv stays float; a linear still gets the plain linear pattern.
    if (ctx.node(i).op != "aten.linear.default")
      ctx.skip(i, "its relu is outside the nodes this config selects, and ExecuTorch quantizes a conv feeding a "
                  "relu only together with it");
    return false;
  }
  if (transpose && conv_groups(ctx.node(i)) != 1) return ctx.skip(i, "a transposed conv with groups != 1"), false;
  annotate_weighted(ctx, i, c, transpose ? 1 : 0, r);
  ctx.annotate(r);
  return true;
}

// QAT graphs (BatchNorm not folded): conv → batch_norm (→ relu); the pattern's last op is observed.
bool conv_bn(AnnotationContext& ctx, int i, const QuantizationConfig& c, const NodeFilter& selected, bool relu,
             bool transpose) {
  const int bn = ctx.sole_user(i, is_batch_norm);
  if (bn < 0 || !selected(ctx.graph(), bn)) return false;
  int out = bn;
  if (relu) {
    out = ctx.sole_user(bn, is_relu);
    if (out < 0 || !selected(ctx.graph(), out)) return false;
  }
  annotate_weighted(ctx, i, c, transpose ? 1 : 0, out);
  ctx.annotate(bn);
  ctx.annotate(out);
  return true;
}

// add / mul operands: float tensors, and no constant scalar beyond torch.histc's range (which
// the histogram observer could not take).
bool operands_ok(AnnotationContext& ctx, int i) {
  const Node& n = ctx.node(i);
  for (size_t s = 0; s < 2 && s < n.inputs.size(); ++s) {
    const int v = n.inputs[s];
    if (!ctx.f32(v)) return ctx.skip(i, "an operand is not a float tensor"), false;
    if (ctx.is_constant(v)) {
      const Tensor& t = *ctx.graph().value(v).constant;
      if (t.numel() == 1 && std::fabs(t.data<float>()[0]) > 3.4028235e15f)
        return ctx.skip(i, "a scalar operand beyond the histogram observer's range"), false;
    }
  }
  return true;
}

bool binary(AnnotationContext& ctx, int i, const QuantizationConfig& c, const NodeFilter& selected, bool relu) {
  int out = i;
  if (relu) {
    out = ctx.sole_user(i, is_relu);
    if (out < 0 || !selected(ctx.graph(), out)) return false;
  }
  if (!operands_ok(ctx, i)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  const Node& n = ctx.node(i);
  if (c.input_activation)
    for (size_t s = 0; s < 2 && s < n.inputs.size(); ++s) a.input_qspec_map[static_cast<int>(s)] = *c.input_activation;
  QuantizationAnnotation& o = ctx.annotate(out);
  if (c.output_activation) o.output_qspec = *c.output_activation;
  return true;
}

// adaptive_avg_pool2d: the input edge shares the producer's output observer when the producer
// has one (else the activation spec); the output shares the input edge.
bool adaptive_avg_pool(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  const int p = ctx.input_producer(i, 0);
  QuantizationAnnotation& a = ctx.annotate(i);
  if (p >= 0 && ctx.is_annotated(p) && ctx.output_annotated(p))
    a.input_qspec_map[0] = SharedQuantizationSpec{EdgeOrNode::output(p)};
  else if (c.input_activation)
    a.input_qspec_map[0] = *c.input_activation;
  a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
  return true;
}

// torch's _has_annotated_qparam_source: the value comes (through share-only ops) from a node
// that already has an output spec.
bool has_annotated_qparam_source(const AnnotationContext& ctx, int v) {
  std::set<int> visited;
  for (int p = ctx.producer(v); p >= 0 && visited.insert(p).second; p = ctx.input_producer(p, 0)) {
    if (ctx.is_annotated(p) && ctx.output_annotated(p)) return true;
    if (!is_share_op(ctx.node(p).op)) return false;
  }
  return false;
}

// cat: the first input whose qparams come from an annotated node (else the first input) gets the
// activation spec; the other inputs and the output share that edge's observer.
bool cat(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  const Node& n = ctx.node(i);
  if (n.inputs.empty()) return false;
  int src = 0;
  for (size_t s = 0; s < n.inputs.size(); ++s)
    if (has_annotated_qparam_source(ctx, n.inputs[s])) {
      src = static_cast<int>(s);
      break;
    }
  QuantizationAnnotation& a = ctx.annotate(i);
  const SharedQuantizationSpec shared{EdgeOrNode::edge(i, src)};
  for (size_t s = 0; s < n.inputs.size(); ++s) {
    if (static_cast<int>(s) == src) {
      if (c.input_activation) a.input_qspec_map[src] = *c.input_activation;
    } else {
      a.input_qspec_map[static_cast<int>(s)] = shared;
    }
  }
  a.output_qspec = shared;
  return true;
}

}  // namespace

bool is_dynamic_config(const QuantizationConfig& c) { return c.input_activation && c.input_activation->is_dynamic; }

std::vector<quant::Pattern> xnnpack_patterns(const NodeFilter& selected) {
  using Fn = std::function<bool(AnnotationContext&, int, const QuantizationConfig&)>;
  // Declines (with a reason) when the config's kind does not run this pattern.
  auto gated = [](Gate gate, Fn f) -> Fn {
    return [gate, f = std::move(f)](AnnotationContext& ctx, int i, const QuantizationConfig& c) {
      if (!runs_for(gate, c)) {
        // conv / linear have dynamic patterns later in the table, which give their own reasons.
        const bool has_dynamic = op_in(ctx.node(i).op, {"aten.linear.default", "aten.conv1d.default",
                                                        "aten.conv2d.default", "aten.conv_transpose1d.default",
                                                        "aten.conv_transpose2d.input"});
        if (is_dynamic_config(c) && !has_dynamic) ctx.skip(i, "no dynamic quantization pattern for " + ctx.node(i).op);
        return false;
      }
      return f(ctx, i, c);
    };
  };
  const Gate stat{false, false}, dyn{true, false}, qat{false, true};
  auto s = selected;
  return {
      {"conv_bn_relu", kConvOps, gated(qat, [s](auto& x, int i, auto& c) { return conv_bn(x, i, c, s, true, false); })},
      {"conv_bn", kConvOps, gated(qat, [s](auto& x, int i, auto& c) { return conv_bn(x, i, c, s, false, false); })},
      {"conv_transpose_bn_relu", kConvTransposeOps,
       gated(qat, [s](auto& x, int i, auto& c) { return conv_bn(x, i, c, s, true, true); })},
      {"conv_transpose_bn", kConvTransposeOps,
       gated(qat, [s](auto& x, int i, auto& c) { return conv_bn(x, i, c, s, false, true); })},
      {"linear_relu", kLinearOps,
       gated(stat, [s](auto& x, int i, auto& c) { return weighted_relu(x, i, c, s, false); })},
      {"linear", kLinearOps, gated(dyn, [](auto& x, int i, auto& c) {
         annotate_weighted(x, i, c, 0, i);
         return true;
       })},
      {"conv", kConvOps, gated(dyn, [](auto& x, int i, auto& c) { return conv(x, i, c, false); })},
      {"conv_transpose", kConvTransposeOps, gated(dyn, [](auto& x, int i, auto& c) { return conv(x, i, c, true); })},
      {"conv_relu", kConvOps, gated(stat, [s](auto& x, int i, auto& c) { return weighted_relu(x, i, c, s, false); })},
      {"conv_transpose_relu", kConvTransposeOps,
       gated(stat, [s](auto& x, int i, auto& c) { return weighted_relu(x, i, c, s, true); })},
      {"adaptive_avg_pool2d", {"aten.adaptive_avg_pool2d.default"}, gated(stat, adaptive_avg_pool)},
      {"add_relu", kAddOps, gated(stat, [s](auto& x, int i, auto& c) { return binary(x, i, c, s, true); })},
      {"add", kAddOps, gated(stat, [s](auto& x, int i, auto& c) { return binary(x, i, c, s, false); })},
      {"mul_relu", kMulOps, gated(stat, [s](auto& x, int i, auto& c) { return binary(x, i, c, s, true); })},
      {"mul", kMulOps, gated(stat, [s](auto& x, int i, auto& c) { return binary(x, i, c, s, false); })},
      {"cat", {"aten.cat.default"}, gated(stat, cat)},
  };
}

void propagate_annotation(AnnotationContext& ctx, const std::function<bool(int)>& held_float) {
  for (int i = 0; i < ctx.num_nodes(); ++i) {
    const Node& n = ctx.node(i);
    if (!is_share_op(n.op) || n.inputs.empty()) continue;
    const int p = ctx.input_producer(i, 0);
    if (p < 0 || !ctx.output_annotated(p) || ctx.is_annotated(i) || held_float(i)) continue;
    QuantizationAnnotation& a = ctx.annotate(i);
    const SharedQuantizationSpec shared{EdgeOrNode::output(p)};
    a.input_qspec_map[0] = shared;
    a.output_qspec = shared;
  }
}

}  // namespace eq::xnnpack_quant
