// eq::NeutronQuantizer: the class, its configs and the annotation loop, after ExecuTorch 1.5.1's
// backends/nxp/quantizer/neutron_quantizer.py. The pattern table is quantizer_patterns.cpp, the
// conv1d rewrite transform_conv1d.cpp; docs/neutron.md ("Quantizer") lists what it does.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "edgequant/neutron.h"
#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "quantizer_patterns.h"

namespace eq {
namespace {

// act_qspec: int8 affine, HistogramObserver eps 2^-12. QAT (FusedMovingAvgObsFakeQuantize over a
// MovingAverageMinMaxObserver in ExecuTorch): the moving-average minmax observer itself, which a
// PTQ prepare runs (we have no fake-quant training).
QuantizationSpec act_qspec(bool is_qat) {
  QuantizationSpec s;
  s.dtype = DType::i8;
  s.quant_min = -128;
  s.quant_max = 127;
  s.qscheme = QuantizationScheme::per_tensor_affine;
  s.eps = 1.0f / 4096.0f;
  s.observer = ObserverSpec{is_qat ? ObserverKind::moving_average_minmax : ObserverKind::histogram};
  return s;
}

// wgt_qspec / wgt_fc_qspec: int8 symmetric [-127, 127], MinMaxObserver (QAT: FakeQuantize over a
// MovingAverageMinMaxObserver) with the observer's default eps, float32 epsilon — NXP passes none.
QuantizationSpec wgt_qspec(bool is_qat) {
  QuantizationSpec s;
  s.dtype = DType::i8;
  s.quant_min = -127;
  s.quant_max = 127;
  s.qscheme = QuantizationScheme::per_tensor_symmetric;
  s.ch_axis = 0;
  s.eps = std::numeric_limits<float>::epsilon();
  s.observer = ObserverSpec{is_qat ? ObserverKind::moving_average_minmax : ObserverKind::minmax};
  return s;
}

}  // namespace

namespace neutron {

void run_neutron_patterns(quant::AnnotationContext& ctx, const std::vector<QuantizerConfigs::Pass>& passes,
                          const std::vector<NeutronPattern>& patterns, PatternEnv& env) {
  const Graph& g = ctx.graph();
  const int n = ctx.num_nodes();
  // The pass that owns each node: the first (highest precedence) that covers it. An operator pass
  // covers only nodes of its operator.
  std::vector<int> owner(static_cast<size_t>(n), -1);
  for (int i = 0; i < n; ++i)
    for (size_t p = 0; p < passes.size() && owner[static_cast<size_t>(i)] < 0; ++p) {
      const auto& pass = passes[p];
      if (!pass.applies(g, i)) continue;
      if (!pass.operator_type.empty() && !operator_matches(ctx.node(i).op, pass.operator_type)) continue;
      owner[static_cast<size_t>(i)] = static_cast<int>(p);
    }
  std::map<std::string, size_t> pattern_of_op;
  for (size_t k = 0; k < patterns.size(); ++k)
    for (const std::string& op : patterns[k].pattern.anchors) pattern_of_op.emplace(op, k);

  for (size_t p = 0; p < passes.size(); ++p) {
    const auto& pass = passes[p];
    auto mine = [&](int j) { return owner[static_cast<size_t>(j)] == static_cast<int>(p); };
    if (!pass.config) {
      for (int i = 0; i < n; ++i)
        if (mine(i) && !ctx.is_annotated(i)) ctx.skip(i, "left float by the config for " + pass.what);
      continue;
    }
    env.same_pass = mine;
    // NeutronQuantizer.annotate: in graph order, the first node of an op runs that op's pattern
    // over the whole graph; shared-spec patterns run again at each of their nodes, so a node whose
    // producer was annotated in between gets its turn. Other patterns run once: a cat whose
    // inputs are not annotated yet when the first cat is reached does not share (ops.onnx's second cat).
    std::set<size_t> applied;
    for (int i = 0; i < n; ++i) {
      if (!mine(i)) continue;
      auto it = pattern_of_op.find(ctx.node(i).op);
      if (it == pattern_of_op.end() || applied.count(it->second)) continue;
      const NeutronPattern& np = patterns[it->second];
      for (int j = 0; j < n; ++j) {
        if (!mine(j) || ctx.is_annotated(j)) continue;
        const auto& anchors = np.pattern.anchors;
        if (std::find(anchors.begin(), anchors.end(), ctx.node(j).op) == anchors.end()) continue;
        np.pattern.annotate(ctx, j, *pass.config);
      }
      if (!np.shared_spec) applied.insert(it->second);
    }
    env.same_pass = nullptr;
  }
}

void annotate_graph_inputs(quant::AnnotationContext& ctx, const QuantizationSpec& spec) {
  const Graph& g = ctx.graph();
  for (int v : g.inputs) {
    if (!ctx.f32(v)) continue;
    for (int c : ctx.users(v)) {
      if (!ctx.is_annotated(c)) continue;
      QuantizationAnnotation& a = ctx.annotations()[c];
      const Node& n = ctx.node(c);
      for (size_t s = 0; s < n.inputs.size(); ++s)
        if (n.inputs[s] == v) a.input_qspec_map.emplace(static_cast<int>(s), spec);
    }
  }
}

}  // namespace neutron

NeutronQuantizer::NeutronQuantizer(NeutronTargetSpec spec, bool is_qat) : spec_(std::move(spec)), is_qat_(is_qat) {}

NeutronQuantizer& NeutronQuantizer::set_per_channel_conv(bool on) {
  per_channel_conv_ = on;
  return *this;
}

NeutronQuantizer& NeutronQuantizer::set_module_name(const std::string& name, std::optional<QuantizationConfig> c) {
  overrides_.set_module_name(name, std::move(c));
  return *this;
}

NeutronQuantizer& NeutronQuantizer::set_module_type(const std::string& type, std::optional<QuantizationConfig> c) {
  overrides_.set_module_type(type, std::move(c));
  return *this;
}

NeutronQuantizer& NeutronQuantizer::set_operator_type(const std::string& op, std::optional<QuantizationConfig> c) {
  overrides_.set_operator_type(op, std::move(c));
  return *this;
}

QuantizationConfig NeutronQuantizer::default_config() const {
  QuantizationConfig c;
  c.input_activation = act_qspec(is_qat_);
  c.output_activation = act_qspec(is_qat_);
  // Per tensor; conv weights go per channel in the conv pattern when set_per_channel_conv(true).
  c.weight = wgt_qspec(is_qat_);
  c.bias = true;
  c.is_qat = is_qat_;
  return c;
}

void NeutronQuantizer::transform_for_annotation(Graph& g) const {
  // NeutronAtenPassManager's passes that change graphs our importer produces: BatchNorm folding
  // (prepare_pt2e's conv-bn fusion and FuseBatchNormWith{Conv,Linear}Pass; in QAT ExecuTorch folds
  // after training, we have no training so we fold here too) and ConvertConv1dToConv2dPass.
  fold_batch_norm(g);
  run_default_passes(g);
  if (neutron::convert_conv1d_to_conv2d(g) > 0) run_default_passes(g);
}

void NeutronQuantizer::annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const {
  quant::AnnotationContext ctx(g, annotations, skipped);
  QuantizerConfigs configs = overrides_;
  const QuantizationConfig global = default_config();
  configs.set_global(global);
  neutron::PatternEnv env;
  env.per_channel_conv = per_channel_conv_;
  env.graph_input_spec = *global.input_activation;
  const std::vector<neutron::NeutronPattern> patterns = neutron::neutron_patterns(env);
  neutron::run_neutron_patterns(ctx, configs.passes(), patterns, env);
  neutron::annotate_graph_inputs(ctx, env.graph_input_spec);
  ctx.finish("no Neutron quantization pattern for ");
}

}  // namespace eq
