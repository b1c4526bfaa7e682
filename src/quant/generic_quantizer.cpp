// GenericQuantizer: one QuantizationConfig for every op it knows, in the style of the PT2E
// backend quantizers (ExecuTorch's xnnpack_quantizer_utils / NXP patterns): an ordered table of
// patterns, first match wins; a node claimed by a pattern is not annotated again.
#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "edgequant/quantizer.h"
#include "patterns/annotation_context.h"

namespace eq {
namespace {

using quant::AnnotationContext;
using quant::op_in;

bool is_fusable_activation(const Node& n) {
  return op_in(n.op, {"aten.relu.default", "aten.hardtanh.default", "aten.sigmoid.default", "aten.tanh.default"});
}

FixedQParamsQuantizationSpec fixed(float scale, int32_t zp) {
  FixedQParamsQuantizationSpec s;
  s.scale = scale;
  s.zero_point = zp;
  return s;
}

// The generic patterns; each declines (with a reason) unless its inputs are float and the
// config quantizes what it needs.
bool activations_ok(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!c.input_activation || !c.output_activation) {
    ctx.skip(i, "the config quantizes no activations");
    return false;
  }
  for (int v : ctx.node(i).inputs)
    if (v != kNoValue && !ctx.is_constant(v) && !ctx.f32(v)) {
      ctx.skip(i, "an input is not f32");
      return false;
    }
  if (ctx.node(i).outputs.empty() || !ctx.f32(ctx.node(i).outputs[0])) {
    ctx.skip(i, "output is not f32");
    return false;
  }
  return true;
}

bool weighted(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  const Node& n = ctx.node(i);
  if (!c.weight) return ctx.skip(i, "the config quantizes no weights"), false;
  if (!activations_ok(ctx, i, c)) return false;
  if (!ctx.is_constant(n.inputs.at(1))) return ctx.skip(i, "weight is not a constant"), false;
  if (ctx.graph().value(n.inputs[1]).dtype != DType::f32) return ctx.skip(i, "weight is not f32"), false;
  const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
  if (has_bias && !ctx.is_constant(n.inputs[2])) return ctx.skip(i, "bias is not a constant"), false;
  const int act = ctx.sole_user(i, is_fusable_activation);
  std::optional<QuantizationSpecBase> bias;
  if (c.bias) bias = derived_bias_spec(EdgeOrNode::edge(i, 0), EdgeOrNode::edge(i, 1));
  quant::annotate_weighted(ctx, i, c, bias, act >= 0 ? act : i);
  return true;
}

bool binary(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.input_qspec_map[1] = *c.input_activation;
  const int act = ctx.node(i).op != "aten.matmul.default" ? ctx.sole_user(i, is_fusable_activation) : -1;
  if (act >= 0)
    ctx.annotate(act).output_qspec = *c.output_activation;
  else
    a.output_qspec = *c.output_activation;
  return true;
}

bool cat(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  const size_t n = ctx.node(i).inputs.size();
  a.input_qspec_map[0] = *c.input_activation;
  for (size_t s = 1; s < n; ++s) a.input_qspec_map[static_cast<int>(s)] = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
  a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
  return true;
}

bool fixed_output(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  // Fixed output qparams covering the op's range exactly (TFLite's and Neutron's choice).
  a.output_qspec = ctx.node(i).op == "aten.tanh.default" ? fixed(1.0f / 128.0f, 0) : fixed(1.0f / 256.0f, -128);
  return true;
}

bool unary(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.output_qspec = *c.output_activation;
  return true;
}

bool shared(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  const int in = ctx.node(i).inputs.at(0);
  // As torchao's propagate_annotation: only worth it inside a quantized region.
  const int p = ctx.producer(in);
  if (!(p >= 0 && ctx.output_annotated(p)) && !ctx.is_constant(in) && !ctx.is_graph_input(in))
    return ctx.skip(i, "its input is not quantized (it would only move float values)"), false;
  quant::annotate_shared_with_input(ctx, i, *c.input_activation);
  return true;
}

std::vector<quant::Pattern> generic_patterns() {
  // Ops whose output takes the input's qparams (they move or select values, or average them).
  const std::vector<std::string> shared_ops = {
      "aten.max_pool1d.default", "aten.max_pool2d.default", "aten.avg_pool1d.default", "aten.avg_pool2d.default",
      "aten.adaptive_avg_pool2d.default", "aten.mean.dim", "aten.flatten.using_ints", "aten.reshape.default",
      "aten.permute.default", "aten.squeeze.dims", "aten.unsqueeze.default", "aten.slice_copy.Tensor",
      "aten.pad.default", "aten.clone.default", "aten.index_select.default"};
  return {
      {"conv_linear", {"aten.conv1d.default", "aten.conv2d.default", "aten.linear.default"}, weighted},
      {"binary", {"aten.add.Tensor", "aten.mul.Tensor", "aten.matmul.default"}, binary},
      {"cat", {"aten.cat.default"}, cat},
      {"fixed_qparams", {"aten.softmax.int", "aten.sigmoid.default", "aten.tanh.default"}, fixed_output},
      {"unary",
       {"aten.relu.default", "aten.hardtanh.default", "aten.hardswish.default", "aten.abs.default", "aten.gelu.default",
        "aten.leaky_relu.default", "aten.hardsigmoid.default"},
       unary},
      {"shared", shared_ops, shared},
  };
}

}  // namespace

void GenericQuantizer::transform_for_annotation(Graph& g) const {
  fold_batch_norm(g);
  run_default_passes(g);
}

void GenericQuantizer::annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const {
  AnnotationContext ctx(g, annotations, skipped);
  QuantizerConfigs configs;
  configs.set_global(config_);
  static const std::vector<quant::Pattern> patterns = generic_patterns();
  quant::run_patterns(ctx, configs.passes(), patterns);
  ctx.finish();
}

}  // namespace eq
