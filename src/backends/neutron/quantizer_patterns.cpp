// The pattern table of eq::NeutronQuantizer, after ExecuTorch 1.5.1's
// backends/nxp/quantizer/patterns.py (one entry per pattern class with an op in our IR).
//
// Kinds of pattern, as NXP has them:
//   - weighted (Conv2dPattern, LinearPattern): input act, weight, derived int32 bias, and a
//     fusable activation that is the only reader takes the output spec;
//   - basic (SingleInputBasicPattern: relu, hardswish, leaky_relu, relu-like hardtanh): own
//     input and output observers;
//   - fixed (softmax, sigmoid: 1/256 zp -128; tanh: 1/128 zp 0): input act, fixed output;
//   - add / sub: every input and the output observed; mul: inputs fixed 1/256 zp 0, output observed;
//   - cat: inputs and output Shared with the first input whose producer is annotated at the time
//     the cat pattern runs, else every input and the output observed;
//   - shared (SharedSpecPattern): input act, output Shared with the producer node; declined when
//     the producer is not annotated (NXP: "we are not able to share q-params").
#include <cmath>
#include <limits>

#include "quantizer_patterns.h"

namespace eq::neutron {
namespace {

using quant::AnnotationContext;
using quant::op_in;

FixedQParamsQuantizationSpec fixed(float scale, int32_t zp) {
  FixedQParamsQuantizationSpec s;
  s.scale = scale;
  s.zero_point = zp;
  return s;
}

// hardtanh bounds with ±inf as "no bound" (HardTanhConverter._get_bounds + ClampConverter).
bool hardtanh_is(const Node& n, double lo, double hi) {
  const double a = n.attrs.f("min_val", -1.0), b = n.attrs.f("max_val", 1.0);
  return a == lo && b == hi;
}

// ClampConverter.RELU_COMPATIBLE_BOUNDS: (-1, 1), (0, 1), (0, 6), (0, none).
bool hardtanh_is_relu_like(const Node& n) {
  const double inf = std::numeric_limits<double>::infinity();
  return hardtanh_is(n, -1, 1) || hardtanh_is(n, 0, 1) || hardtanh_is(n, 0, 6) || hardtanh_is(n, 0, inf);
}

// The output spec the pattern of an activation / fixed-qparams op gives it (also when a conv /
// linear fuses the activation).
QuantizationSpecBase activation_output_spec(const Node& act, const QuantizationConfig& c) {
  if (act.op == "aten.sigmoid.default" || act.op == "aten.softmax.int") return fixed(1.0f / 256.0f, -128);
  if (act.op == "aten.tanh.default") return fixed(1.0f / 128.0f, 0);
  return *c.output_activation;
}

// Every pattern needs activation specs, f32 tensor inputs and an f32 output.
bool activations_ok(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!c.input_activation || !c.output_activation) {
    ctx.skip(i, "the config quantizes no activations");
    return false;
  }
  const Node& n = ctx.node(i);
  for (int v : n.inputs)
    if (v != kNoValue && !ctx.f32(v)) {
      ctx.skip(i, "input '" + ctx.graph().value(v).name + "' is not f32");
      return false;
    }
  if (n.outputs.empty() || !ctx.f32(n.outputs[0])) {
    ctx.skip(i, "output is not f32");
    return false;
  }
  return true;
}

// A graph input counts as annotated (NXP annotates every placeholder first).
bool input_annotated(const AnnotationContext& ctx, int v) {
  if (ctx.is_graph_input(v)) return true;
  const int p = ctx.producer(v);
  return p >= 0 && ctx.output_annotated(p);
}

// ---- weighted: conv2d, linear ----

QuantizationSpec conv_weight_spec(const QuantizationSpec& w, bool per_channel) {
  QuantizationSpec s = w;
  s.ch_axis = 0;
  if (!per_channel || scheme_is_per_channel(s.qscheme)) return s;
  s.qscheme = scheme_is_symmetric(s.qscheme) ? QuantizationScheme::per_channel_symmetric
                                              : QuantizationScheme::per_channel_affine;
  if (s.observer.kind == ObserverKind::minmax) s.observer.kind = ObserverKind::per_channel_minmax;
  if (s.observer.kind == ObserverKind::moving_average_minmax)
    s.observer.kind = ObserverKind::moving_average_per_channel_minmax;
  return s;
}

// int32 bias, scale = input scale × weight scale, zero point 0, in the range NXP gives it.
DerivedQuantizationSpec bias_spec(int i, QuantizationScheme scheme, int64_t qmin, int64_t qmax) {
  DerivedQuantizationSpec s = derived_bias_spec(EdgeOrNode::edge(i, 0), EdgeOrNode::edge(i, 1));
  s.qscheme = scheme;
  s.quant_min = qmin;
  s.quant_max = qmax;
  s.ch_axis = 0;
  DeriveQParamsFn base = std::move(s.derive_qparams_fn);
  s.derive_qparams_fn = [base, qmin, qmax](const std::vector<QParams>& from) {
    QParams q = base(from);
    q.qmin = qmin;
    q.qmax = qmax;
    return q;
  };
  return s;
}

// The activation a conv / linear fuses: its only reader (not a graph output), fusable, under the
// same config. NXP does not ask whether the activation is annotated already (its own pattern may
// have run first): a claimed one just loses its input spec.
int fused_activation(const AnnotationContext& ctx, const PatternEnv& env, int i, bool linear) {
  const Node& n = ctx.node(i);
  const int v = n.outputs.at(0);
  if (ctx.is_graph_output(v) || ctx.users(v).size() != 1) return -1;
  // LinearPattern only fuses a rank <= 2 output.
  if (linear && ctx.graph().value(v).shape.size() > 2) return -1;
  const int a = ctx.users(v)[0];
  if (!is_fusable_activation(ctx.node(a)) || (env.same_pass && !env.same_pass(a))) return -1;
  if (!ctx.f32(ctx.node(a).outputs.at(0))) return -1;
  return a;
}

bool weighted(AnnotationContext& ctx, const PatternEnv& env, int i, const QuantizationConfig& c, bool linear) {
  if (!c.weight) return ctx.skip(i, "the config quantizes no weights"), false;
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationConfig cfg = c;
  std::optional<QuantizationSpecBase> bias;
  if (linear) {
    const bool pc = scheme_is_per_channel(c.weight->qscheme);
    if (c.bias)
      bias = bias_spec(i, pc ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_affine,
                       std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  } else {
    cfg.weight = conv_weight_spec(*c.weight, env.per_channel_conv);
    const bool pc = scheme_is_per_channel(cfg.weight->qscheme);
    if (c.bias)
      bias = bias_spec(i, pc ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_symmetric,
                       -int64_t{std::numeric_limits<int32_t>::max()}, std::numeric_limits<int32_t>::max());
  }
  const int act = fused_activation(ctx, env, i, linear);
  quant::annotate_weighted(ctx, i, cfg, bias, i);
  if (act < 0) return true;
  // Fused: no observer between the conv and its activation; the activation's output takes the
  // spec its own pattern gives (sigmoid / tanh fixed), its input edge none.
  QuantizationAnnotation& ca = ctx.annotations()[i];
  ca.output_qspec.reset();
  QuantizationAnnotation& aa = ctx.annotate(act);
  aa.input_qspec_map.clear();
  if (!aa.output_qspec) aa.output_qspec = activation_output_spec(ctx.node(act), c);
  return true;
}

// ---- single-input patterns ----

bool basic(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.output_qspec = *c.output_activation;
  return true;
}

bool fixed_output(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.output_qspec = activation_output_spec(ctx.node(i), c);
  return true;
}

bool shared(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  const int v = ctx.node(i).inputs.at(0);
  if (ctx.is_graph_input(v)) {
    // The placeholder's observer: the edge carries the graph-input spec, the output shares it.
    quant::annotate_shared_with_input(ctx, i, *c.input_activation);
    return true;
  }
  const int p = ctx.producer(v);
  if (p < 0) return ctx.skip(i, "its input is a constant: nothing to share qparams with"), false;
  if (!ctx.output_annotated(p))
    return ctx.skip(i, "its input is not quantized: nothing to share qparams with (NXP SharedSpecPattern)"), false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.output_qspec = SharedQuantizationSpec{EdgeOrNode::output(p)};
  return true;
}

bool hardtanh(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  // HardTanhPattern: relu-like bounds are a ReLU variant on Neutron (own observers); other bounds
  // become min/max, which need the same qparams in and out.
  return hardtanh_is_relu_like(ctx.node(i)) ? basic(ctx, i, c) : shared(ctx, i, c);
}

// ---- multi-input patterns ----

bool add_sub(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  // NXP annotates args 0 and 1 (a constant operand is a get_attr there, observed like the other).
  for (size_t s = 0; s < ctx.node(i).inputs.size(); ++s)
    if (ctx.node(i).inputs[s] != kNoValue) a.input_qspec_map[static_cast<int>(s)] = *c.input_activation;
  a.output_qspec = *c.output_activation;
  return true;
}

bool mul(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  // MulTensorPattern fixes both inputs at 1/256 zp 0 (values outside [-0.5, 0.5) clip).
  for (size_t s = 0; s < ctx.node(i).inputs.size(); ++s)
    if (ctx.node(i).inputs[s] != kNoValue) a.input_qspec_map[static_cast<int>(s)] = fixed(1.0f / 256.0f, 0);
  a.output_qspec = *c.output_activation;
  return true;
}

bool cat(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!activations_ok(ctx, i, c)) return false;
  const Node& n = ctx.node(i);
  QuantizationAnnotation& a = ctx.annotate(i);
  int first = -1;
  for (size_t s = 0; s < n.inputs.size() && first < 0; ++s)
    if (input_annotated(ctx, n.inputs[s])) first = static_cast<int>(s);
  if (first < 0) {
    // "No previous node was quantized => we are not able to share q-params."
    for (size_t s = 0; s < n.inputs.size(); ++s) a.input_qspec_map[static_cast<int>(s)] = *c.input_activation;
    a.output_qspec = *c.output_activation;
    return true;
  }
  const int p = ctx.producer(n.inputs[static_cast<size_t>(first)]);
  SharedQuantizationSpec with{EdgeOrNode::output(p)};
  if (p < 0) {
    // Shared with the graph input: its observer is the one on this edge.
    a.input_qspec_map[first] = *c.input_activation;
    with = SharedQuantizationSpec{EdgeOrNode::edge(i, first)};
  }
  for (size_t s = 0; s < n.inputs.size(); ++s)
    if (static_cast<int>(s) != first || p >= 0) a.input_qspec_map[static_cast<int>(s)] = with;
  a.output_qspec = with;
  return true;
}

bool prelu(AnnotationContext& ctx, int i, const QuantizationConfig& c) {
  if (!c.weight) return ctx.skip(i, "the config quantizes no weights"), false;
  if (!activations_ok(ctx, i, c)) return false;
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = *c.input_activation;
  a.input_qspec_map[1] = *c.weight;
  a.output_qspec = *c.output_activation;
  return true;
}

}  // namespace

bool is_fusable_activation(const Node& n) {
  if (op_in(n.op, {"aten.relu.default", "aten.sigmoid.default", "aten.tanh.default"})) return true;
  return n.op == "aten.hardtanh.default" &&
         (hardtanh_is(n, 0, 6) || hardtanh_is(n, 0, std::numeric_limits<double>::infinity()));
}

std::vector<NeutronPattern> neutron_patterns(const PatternEnv& env) {
  using C = const QuantizationConfig&;
  auto fn = [](bool (*f)(AnnotationContext&, int, C)) {
    return [f](AnnotationContext& ctx, int i, C c) { return f(ctx, i, c); };
  };
  auto sh = [&](const std::string& name, std::vector<std::string> ops) {
    return NeutronPattern{{name, std::move(ops), fn(shared)}, true};
  };
  // Order does not matter: the loop dispatches by node (NXP's op_to_quantizer).
  return {
      sh("abs", {"aten.abs.default"}),
      sh("adaptive_avg_pool", {"aten.adaptive_avg_pool2d.default"}),
      {{"add_tensor", {"aten.add.Tensor"}, fn(add_sub)}},
      sh("amax", {"aten.amax.default"}),
      sh("avg_pool1d", {"aten.avg_pool1d.default"}),
      sh("avg_pool2d", {"aten.avg_pool2d.default"}),
      {{"cat", {"aten.cat.default"}, fn(cat)}},
      {{"conv2d",
        {"aten.conv2d.default"},
        [&env](AnnotationContext& ctx, int i, C c) { return weighted(ctx, env, i, c, false); }}},
      // Dropout is the identity at inference; ONNX import keeps it as clone (if at all).
      sh("dropout", {"aten.clone.default"}),
      sh("exp", {"aten.exp.default"}),
      sh("flatten", {"aten.flatten.using_ints"}),
      {{"hardswish", {"aten.hardswish.default"}, fn(basic)}},
      {{"hardtanh", {"aten.hardtanh.default"}, fn(hardtanh)}},
      {{"leaky_relu", {"aten.leaky_relu.default"}, fn(basic)}},
      {{"linear",
        {"aten.linear.default"},
        [&env](AnnotationContext& ctx, int i, C c) { return weighted(ctx, env, i, c, true); }}},
      sh("max_pool1d", {"aten.max_pool1d.default"}),
      sh("max_pool2d", {"aten.max_pool2d.default"}),
      sh("mean_dim", {"aten.mean.dim"}),
      {{"mul_tensor", {"aten.mul.Tensor"}, fn(mul)}},
      sh("neg", {"aten.neg.default"}),
      sh("pad", {"aten.pad.default"}),
      sh("permute", {"aten.permute.default"}),
      {{"prelu", {"aten.prelu.default"}, fn(prelu)}},
      {{"relu", {"aten.relu.default"}, fn(basic)}},
      // torch's view and reshape (two NXP patterns, both shared) are one op here.
      sh("reshape", {"aten.reshape.default"}),
      {{"sigmoid", {"aten.sigmoid.default"}, fn(fixed_output)}},
      sh("slice_tensor", {"aten.slice_copy.Tensor"}),
      {{"softmax", {"aten.softmax.int"}, fn(fixed_output)}},
      sh("squeeze_dims", {"aten.squeeze.dims"}),
      {{"sub_tensor", {"aten.sub.Tensor"}, fn(add_sub)}},
      sh("sum_dim_int_list", {"aten.sum.dim_IntList"}),
      {{"tanh", {"aten.tanh.default"}, fn(fixed_output)}},
      sh("unsqueeze", {"aten.unsqueeze.default"}),
  };
}

}  // namespace eq::neutron
