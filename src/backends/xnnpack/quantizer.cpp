// eq::XNNPACKQuantizer and get_symmetric_quantization_config: ExecuTorch 1.5.1's
// backends/xnnpack/quantizer/xnnpack_quantizer.py. The patterns are in quantizer_patterns.cpp.
#include <algorithm>

#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "edgequant/xnnpack.h"
#include "quantizer_patterns.h"

namespace eq {

namespace xnnpack {

QuantizationConfig get_symmetric_quantization_config(bool is_per_channel, bool is_qat, bool is_dynamic,
                                                     int64_t act_qmin, int64_t act_qmax, int64_t weight_qmin,
                                                     int64_t weight_qmax) {
  constexpr float kEps = 1.0f / 4096.0f;  // ExecuTorch's eps=2**-12, activations and weights alike

  QuantizationSpec act;
  act.dtype = DType::i8;
  act.quant_min = act_qmin;
  act.quant_max = act_qmax;
  act.qscheme = QuantizationScheme::per_tensor_affine;
  act.is_dynamic = is_dynamic;
  act.eps = kEps;
  if (is_qat) {
    // Static QAT: FusedMovingAvgObsFakeQuantize, whose observer is MovingAverageMinMaxObserver
    // (averaging constant 0.01). Dynamic QAT: FakeQuantize over MovingAverageMinMaxObserver with
    // averaging constant 1, i.e. the range of the current batch only.
    act.observer = ObserverSpec{ObserverKind::moving_average_minmax};
    act.observer.averaging_constant = is_dynamic ? 1.0f : 0.01f;
  } else {
    // Dynamic: PlaceholderObserver, the qparams are chosen per call at run time.
    act.observer = ObserverSpec{is_dynamic ? ObserverKind::placeholder : ObserverKind::histogram};
  }

  QuantizationSpec weight;
  weight.dtype = DType::i8;
  weight.quant_min = weight_qmin;
  weight.quant_max = weight_qmax;
  weight.qscheme = is_per_channel ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_symmetric;
  weight.ch_axis = 0;
  weight.eps = kEps;
  if (is_qat) {
    // FusedMovingAvgObsFakeQuantize with a moving-average observer matching the scheme.
    weight.observer = ObserverSpec{is_per_channel ? ObserverKind::moving_average_per_channel_minmax
                                                  : ObserverKind::moving_average_minmax};
  } else {
    weight.observer = ObserverSpec{is_per_channel ? ObserverKind::per_channel_minmax : ObserverKind::minmax};
  }

  QuantizationConfig c;
  c.input_activation = act;
  if (!is_dynamic) c.output_activation = act;  // dynamic: outputs stay float
  c.weight = weight;
  c.bias = false;  // bias_quantization_spec = None: XNNPACK quantizes the bias itself
  c.is_qat = is_qat;
  return c;
}

}  // namespace xnnpack

void XNNPACKQuantizer::transform_for_annotation(Graph& g) const {
  // torch's prepare_pt2e folds BatchNorm into the conv before the quantizer's own transform.
  fold_batch_norm(g);
  run_default_passes(g);
}

XNNPACKQuantizer& XNNPACKQuantizer::set_global(std::optional<QuantizationConfig> c) {
  configs_.set_global(std::move(c));
  return *this;
}
XNNPACKQuantizer& XNNPACKQuantizer::set_module_name(const std::string& name, std::optional<QuantizationConfig> c) {
  configs_.set_module_name(name, std::move(c));
  return *this;
}
XNNPACKQuantizer& XNNPACKQuantizer::set_module_type(const std::string& type, std::optional<QuantizationConfig> c) {
  configs_.set_module_type(type, std::move(c));
  return *this;
}
XNNPACKQuantizer& XNNPACKQuantizer::set_operator_type(const std::string& op, std::optional<QuantizationConfig> c) {
  configs_.set_operator_type(op, std::move(c));
  return *this;
}

namespace {

using ConfigPass = QuantizerConfigs::Pass;

// The passes of QuantizerConfigs, with one change: a nullopt operator-type override keeps the
// nodes of that op float. ExecuTorch ignores None there (its _annotate_all_patterns returns and
// the global config then takes those nodes, a TODO in its source); we honour it as
// set_module_name / set_module_type do. Its pass selects only nodes of that op (so its skip
// reason lands on them alone), and the global pass leaves them out.
std::vector<ConfigPass> xnnpack_passes(const QuantizerConfigs& configs) {
  std::vector<ConfigPass> passes = configs.passes();
  std::vector<std::string> float_ops;
  for (ConfigPass& p : passes) {
    if (p.operator_type.empty() || p.config) continue;
    float_ops.push_back(p.operator_type);
    p.applies = [applies = p.applies, op = p.operator_type](const Graph& g, int i) {
      return applies(g, i) && operator_matches(g.nodes[static_cast<size_t>(i)].op, op);
    };
  }
  if (float_ops.empty()) return passes;
  ConfigPass& global = passes.back();
  global.applies = [applies = global.applies, float_ops](const Graph& g, int i) {
    const std::string& op = g.nodes[static_cast<size_t>(i)].op;
    return applies(g, i) &&
           std::none_of(float_ops.begin(), float_ops.end(), [&](const std::string& f) { return operator_matches(op, f); });
  };
  return passes;
}

// Whether a nullopt override decides node i (the first pass, in precedence order, that covers
// it; an operator pass covers only its op's nodes). The global config does not count: with no
// global config, propagation still extends an override's quantized region, as ExecuTorch's does.
bool held_float(const std::vector<ConfigPass>& passes, const Graph& g, int i) {
  for (const ConfigPass& p : passes) {
    if (p.what == "global") return false;
    if (!p.applies(g, i)) continue;
    if (!p.operator_type.empty() && !operator_matches(g.nodes[static_cast<size_t>(i)].op, p.operator_type)) continue;
    return !p.config.has_value();
  }
  return false;
}

}  // namespace

void XNNPACKQuantizer::annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const {
  quant::AnnotationContext ctx(g, annotations, skipped);
  const std::vector<ConfigPass> passes = xnnpack_passes(configs_);
  // One run_patterns call per pass: the fusion patterns check their second node against the
  // pass's own filter, as ExecuTorch filters every node of a partition.
  for (const ConfigPass& pass : passes) quant::run_patterns(ctx, {pass}, xnnpack_quant::xnnpack_patterns(pass.applies));
  xnnpack_quant::propagate_annotation(ctx, [&](int i) { return held_float(passes, g, i); });
  ctx.finish("XNNPACKQuantizer has no pattern for ");
}

}  // namespace eq
