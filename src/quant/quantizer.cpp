// The quantization spec vocabulary: positions, observers for specs, the derived bias spec, and
// the Quantizer defaults.
#include "edgequant/quantizer.h"

#include "edgequant/error.h"

namespace eq {

int EdgeOrNode::value(const Graph& g) const {
  const Node& n = g.nodes.at(static_cast<size_t>(node));
  if (is_edge()) return n.inputs.at(static_cast<size_t>(input));
  return n.outputs.at(0);
}

std::string EdgeOrNode::describe(const Graph& g) const {
  if (node < 0 || node >= static_cast<int>(g.nodes.size())) return "position of node #" + std::to_string(node);
  const Node& n = g.nodes[static_cast<size_t>(node)];
  if (is_edge()) return "input " + std::to_string(input) + " of " + n.describe();
  return "output of " + n.describe();
}

std::string_view observer_kind_name(ObserverKind k) {
  switch (k) {
    case ObserverKind::minmax: return "minmax";
    case ObserverKind::moving_average_minmax: return "moving_average_minmax";
    case ObserverKind::per_channel_minmax: return "per_channel_minmax";
    case ObserverKind::moving_average_per_channel_minmax: return "moving_average_per_channel_minmax";
    case ObserverKind::histogram: return "histogram";
    case ObserverKind::percentile: return "percentile";
    case ObserverKind::entropy: return "entropy";
    case ObserverKind::placeholder: return "placeholder";
  }
  return "?";
}

std::unique_ptr<Observer> QuantizationSpec::make_observer() const {
  ObserverOptions o;
  o.dtype = dtype;
  o.scheme = qscheme;
  o.reduce_range = reduce_range;
  // PT2E builds observers with the spec's quant_min/quant_max, so torch treats the range as
  // customised (it only matters for the u8 symmetric zero point).
  o.qmin = quant_min;
  o.qmax = quant_max;
  o.eps = eps;
  const bool per_channel = scheme_is_per_channel(qscheme);
  switch (observer.kind) {
    case ObserverKind::minmax:
    case ObserverKind::per_channel_minmax:
      if (per_channel) return std::make_unique<PerChannelMinMaxObserver>(ch_axis, o);
      return std::make_unique<MinMaxObserver>(o);
    case ObserverKind::moving_average_minmax:
    case ObserverKind::moving_average_per_channel_minmax:
      if (per_channel) return std::make_unique<MovingAveragePerChannelMinMaxObserver>(ch_axis, o, observer.averaging_constant);
      return std::make_unique<MovingAverageMinMaxObserver>(o, observer.averaging_constant);
    case ObserverKind::histogram:
      check(!per_channel, "the histogram observer is per tensor; use a per-channel minmax observer for per-channel specs");
      return std::make_unique<HistogramObserver>(o, observer.bins);
    case ObserverKind::percentile:
      check(!per_channel, "the percentile observer is per tensor");
      return std::make_unique<PercentileObserver>(o, observer.percentile, observer.bins);
    case ObserverKind::entropy:
      check(!per_channel, "the entropy observer is per tensor");
      return std::make_unique<EntropyObserver>(o, observer.bins);
    case ObserverKind::placeholder:
      break;
  }
  throw Error("a dynamic (placeholder) spec has no observer");
}

DerivedQuantizationSpec derived_bias_spec(EdgeOrNode input, EdgeOrNode weight) {
  DerivedQuantizationSpec s;
  s.derived_from = {input, weight};
  s.derive_qparams_fn = [](const std::vector<QParams>& qp) {
    const QParams& in = qp.at(0);
    const QParams& w = qp.at(1);
    check(!in.per_channel() && in.scale.size() == 1, "bias: the input activation must be quantized per tensor");
    QParams b;
    b.dtype = DType::i32;
    b.qmin = std::numeric_limits<int32_t>::min();
    b.qmax = std::numeric_limits<int32_t>::max();
    b.axis = w.per_channel() ? 0 : -1;
    // float32 product, as torch's derive_qparams_fn multiplies two float32 tensors.
    for (float ws : w.scale) b.scale.push_back(in.scale[0] * ws);
    b.zero_point.assign(b.scale.size(), 0);
    return b;
  };
  s.qscheme = QuantizationScheme::per_channel_symmetric;
  return s;
}

void Quantizer::transform_for_annotation(Graph&) const {}
void Quantizer::validate(const Graph&, const Annotations&) const {}

QuantizationConfig symmetric_int8_config(bool per_channel, ObserverSpec activation_observer, float eps) {
  QuantizationConfig c;
  QuantizationSpec act;
  act.dtype = DType::i8;
  act.quant_min = -128;
  act.quant_max = 127;
  act.qscheme = QuantizationScheme::per_tensor_affine;
  act.eps = eps;
  act.observer = activation_observer;
  c.input_activation = act;
  c.output_activation = act;
  QuantizationSpec w;
  w.dtype = DType::i8;
  w.quant_min = -127;
  w.quant_max = 127;
  w.qscheme = per_channel ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_symmetric;
  w.ch_axis = 0;
  w.eps = eps;
  w.observer = ObserverSpec{per_channel ? ObserverKind::per_channel_minmax : ObserverKind::minmax};
  c.weight = w;
  return c;
}

}  // namespace eq
