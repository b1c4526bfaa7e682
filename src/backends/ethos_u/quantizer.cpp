// EthosUQuantizer: the set_* configuration, transform_for_annotation (ArmPassManager's
// transform_for_annotation_pipeline, the parts that change these graphs), annotate (annotator.cpp),
// validate and quantize_with_submodules.
#include "edgequant/error.h"
#include "edgequant/ethos_u.h"
#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "internal.h"

namespace eq {

EthosUQuantizer::EthosUQuantizer(EthosUCompileSpec spec) : spec_(std::move(spec)) {}

EthosUQuantizer& EthosUQuantizer::set_global(std::optional<QuantizationConfig> c) {
  configs_.set_global(std::move(c));
  return *this;
}

EthosUQuantizer& EthosUQuantizer::set_io(std::optional<QuantizationConfig> c) {
  io_set_ = true;
  io_config_ = std::move(c);
  return *this;
}

EthosUQuantizer& EthosUQuantizer::set_module_name(const std::string& name, std::optional<QuantizationConfig> c) {
  configs_.set_module_name(name, std::move(c));
  return *this;
}

EthosUQuantizer& EthosUQuantizer::set_module_type(const std::string& type, std::optional<QuantizationConfig> c) {
  configs_.set_module_type(type, std::move(c));
  return *this;
}

EthosUQuantizer& EthosUQuantizer::set_operator_type(const std::string& op, std::optional<QuantizationConfig> c) {
  configs_.set_operator_type(op, std::move(c));
  return *this;
}

void EthosUQuantizer::transform_for_annotation(Graph& g) const {
  // prepare_pt2e folds BatchNorm before the quantizer sees the graph; ReplaceScalarWithTensor and
  // ScalarsToAttribute have nothing to do here (scalar operands are constants already).
  fold_batch_norm(g);
  run_default_passes(g);
  // DISALLOW_TFA: a node its config leaves float is not decomposed.
  const ethosu::AllowFn allowed = [this](const Graph& graph, int i) {
    const std::vector<QuantizerConfigs::Pass> passes = configs_.passes();
    for (const auto& p : passes) {
      if (!p.operator_type.empty() && !operator_matches(graph.nodes[static_cast<size_t>(i)].op, p.operator_type)) continue;
      if (p.applies(graph, i)) return p.config.has_value();
    }
    return false;
  };
  // The pipeline's order: mean.dim and adaptive_avg_pool2d first, then div and softmax.
  ethosu::decompose_mean_dim(g, allowed);
  ethosu::decompose_adaptive_avg_pool2d(g, allowed);
  ethosu::decompose_div(g, allowed);
  ethosu::decompose_softmax(g, allowed);
}

void EthosUQuantizer::annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const {
  // The graph inputs and outputs: set_io's config, else the global one (torch's global node
  // finder also finds the placeholder and output nodes).
  const std::optional<QuantizationConfig>& io = io_set_ ? io_config_ : configs_.global();
  ethosu::annotate_graph(g, configs_, io, annotations, skipped);
}

void EthosUQuantizer::validate(const Graph& g, const Annotations& annotations) const {
  // ExecuTorch's validate only checks that an op's inputs share one device (always true here).
  // What the TOSA INT profile can take instead: int8 / int16 per-tensor activations, int8 weights.
  for (const auto& [i, a] : annotations) {
    const Node& n = g.nodes.at(static_cast<size_t>(i));
    auto act_ok = [&](const QuantizationSpecBase& s, const std::string& where) {
      const auto* q = std::get_if<QuantizationSpec>(&s);
      if (!q) return;
      check(q->dtype == DType::i8 || q->dtype == DType::i16 || q->dtype == DType::i4,
            n.describe() + ": " + where + " is quantized to " + std::string(dtype_name(q->dtype)) +
                "; the Ethos-U TOSA INT profile takes int8 or int16 activations");
    };
    for (const auto& [slot, s] : a.input_qspec_map) act_ok(s, "input " + std::to_string(slot));
    if (a.output_qspec) act_ok(*a.output_qspec, "the output");
  }
}

Graph EthosUQuantizer::quantize_with_submodules(const Graph& g, const std::vector<std::vector<Tensor>>& calibration_samples,
                                                bool is_qat) const {
  // ExecuTorch: prepare (prepare_qat_pt2e when is_qat), prepare the cond/while submodules, run the
  // samples, convert submodules and the top graph with fold_quantize. Our graphs have no control
  // flow submodules and no QAT training, so is_qat only documents intent: the same observers run.
  (void)is_qat;
  check(!calibration_samples.empty(), "ethos-u quantize_with_submodules: no calibration samples");
  Prepared p = prepare_pt2e(g, *this);
  for (const auto& sample : calibration_samples) p.run(sample);
  return convert_pt2e(p);
}

}  // namespace eq
