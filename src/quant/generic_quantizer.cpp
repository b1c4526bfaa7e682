// GenericQuantizer: one QuantizationConfig for every op it knows, in the style of the PT2E
// backend quantizers (ExecuTorch's xnnpack_quantizer_utils / NXP patterns): an ordered table of
// patterns, first match wins; a node claimed by a pattern is not annotated again.
#include <algorithm>
#include <set>

#include "edgequant/passes.h"
#include "edgequant/quantize.h"
#include "edgequant/quantizer.h"

namespace eq {
namespace {

bool in(const std::string& op, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

// Ops whose output takes the input's qparams (they move or select values, or average them).
bool is_shared_op(const std::string& op) {
  return in(op, {"aten.max_pool1d.default", "aten.max_pool2d.default", "aten.avg_pool1d.default",
                 "aten.avg_pool2d.default", "aten.adaptive_avg_pool2d.default", "aten.mean.dim",
                 "aten.flatten.using_ints", "aten.reshape.default", "aten.permute.default", "aten.squeeze.dims",
                 "aten.unsqueeze.default", "aten.slice_copy.Tensor", "aten.pad.default", "aten.clone.default",
                 "aten.index_select.default"});
}

bool is_fusable_activation(const Node& n) {
  return in(n.op, {"aten.relu.default", "aten.hardtanh.default", "aten.sigmoid.default", "aten.tanh.default"});
}

// Unary ops quantized with their own output observer (a lookup table in the integer runtime).
bool is_unary_op(const std::string& op) {
  return in(op, {"aten.relu.default", "aten.hardtanh.default", "aten.hardswish.default", "aten.abs.default",
                 "aten.gelu.default", "aten.leaky_relu.default", "aten.hardsigmoid.default"});
}

FixedQParamsQuantizationSpec fixed(float scale, int32_t zp) {
  FixedQParamsQuantizationSpec s;
  s.scale = scale;
  s.zero_point = zp;
  return s;
}

class Annotator {
 public:
  Annotator(const Graph& g, const QuantizationConfig& c, Annotations& a, std::vector<SkipReason>& skipped)
      : g_(g), c_(c), a_(a), skipped_(skipped), consumers_(g.consumers()) {
    for (int o : g.outputs) graph_outputs_.insert(o);
  }

  void run() {
    for (int i = 0; i < static_cast<int>(g_.nodes.size()); ++i) {
      if (claimed_.count(i)) continue;
      const Node& n = g_.nodes[static_cast<size_t>(i)];
      std::string why = annotate(i, n);
      if (!why.empty()) skipped_.push_back({i, why});
    }
  }

 private:
  bool f32(int v) const { return v >= 0 && g_.value(v).dtype == DType::f32; }

  // The single activation that reads node i's output, when it may be fused into it.
  int fused_activation(int i) const {
    const int v = g_.nodes[static_cast<size_t>(i)].outputs.at(0);
    if (graph_outputs_.count(v) || consumers_[static_cast<size_t>(v)].size() != 1) return -1;
    const int c = consumers_[static_cast<size_t>(v)][0];
    return is_fusable_activation(g_.nodes[static_cast<size_t>(c)]) && !claimed_.count(c) ? c : -1;
  }

  // Puts the output spec on node i, or on its fused activation when there is one.
  void annotate_output(int i, const QuantizationSpecBase& spec, bool fuse) {
    const int act = fuse ? fused_activation(i) : -1;
    if (act < 0) {
      a_[i].output_qspec = spec;
      return;
    }
    QuantizationAnnotation& aa = a_[act];
    aa.output_qspec = spec;
    claimed_.insert(act);
  }

  std::string annotate(int i, const Node& n) {
    const std::string& op = n.op;
    if (op.rfind("quantized_decomposed.", 0) == 0) return "already quantized";
    if (n.outputs.empty() || !f32(n.outputs[0])) return "output is not f32";
    if (in(op, {"aten.conv1d.default", "aten.conv2d.default", "aten.linear.default"})) return weighted(i, n);
    if (!c_.input_activation || !c_.output_activation) return "the config quantizes no activations";
    const QuantizationSpec& act_in = *c_.input_activation;
    const QuantizationSpec& act_out = *c_.output_activation;
    if (in(op, {"aten.add.Tensor", "aten.mul.Tensor", "aten.matmul.default"})) {
      if (!f32(n.inputs.at(0)) || !f32(n.inputs.at(1))) return "an input is not f32";
      QuantizationAnnotation& a = a_[i];
      a.input_qspec_map[0] = act_in;
      a.input_qspec_map[1] = act_in;
      annotate_output(i, act_out, op != "aten.matmul.default");
      return {};
    }
    if (op == "aten.cat.default") {
      for (int v : n.inputs)
        if (!f32(v)) return "an input is not f32";
      QuantizationAnnotation& a = a_[i];
      for (size_t s = 0; s < n.inputs.size(); ++s) {
        if (s == 0)
          a.input_qspec_map[0] = act_in;
        else
          a.input_qspec_map[static_cast<int>(s)] = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
      }
      a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
      return {};
    }
    if (is_shared_op(op)) {
      if (!f32(n.inputs.at(0))) return "input is not f32";
      // As torchao's propagate_annotation: only worth it inside a quantized region.
      const int p = g_.value(n.inputs[0]).producer;
      const bool producer_quantized = p >= 0 && a_.count(p) && a_.at(p).output_qspec.has_value();
      if (!producer_quantized && !g_.is_constant(n.inputs[0])) {
        bool input_is_graph_input = std::find(g_.inputs.begin(), g_.inputs.end(), n.inputs[0]) != g_.inputs.end();
        if (!input_is_graph_input) return "its input is not quantized (it would only move float values)";
      }
      QuantizationAnnotation& a = a_[i];
      a.input_qspec_map[0] = act_in;
      a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
      return {};
    }
    if (op == "aten.softmax.int" || op == "aten.sigmoid.default" || op == "aten.tanh.default") {
      if (!f32(n.inputs.at(0))) return "input is not f32";
      QuantizationAnnotation& a = a_[i];
      a.input_qspec_map[0] = act_in;
      // Fixed output qparams covering the op's range exactly (TFLite's and Neutron's choice).
      a.output_qspec = op == "aten.tanh.default" ? fixed(1.0f / 128.0f, 0) : fixed(1.0f / 256.0f, -128);
      return {};
    }
    if (is_unary_op(op)) {
      if (!f32(n.inputs.at(0))) return "input is not f32";
      QuantizationAnnotation& a = a_[i];
      a.input_qspec_map[0] = act_in;
      a.output_qspec = act_out;
      return {};
    }
    return "no quantization pattern for " + op;
  }

  std::string weighted(int i, const Node& n) {
    if (!c_.weight) return "the config quantizes no weights";
    if (!c_.input_activation || !c_.output_activation) return "the config quantizes no activations";
    if (!f32(n.inputs.at(0))) return "input is not f32";
    if (!g_.is_constant(n.inputs.at(1))) return "weight is not a constant";
    if (g_.value(n.inputs[1]).dtype != DType::f32) return "weight is not f32";
    const bool has_bias = n.inputs.size() > 2 && n.inputs[2] != kNoValue;
    if (has_bias && !g_.is_constant(n.inputs[2])) return "bias is not a constant";
    QuantizationAnnotation& a = a_[i];
    a.input_qspec_map[0] = *c_.input_activation;
    QuantizationSpec w = *c_.weight;
    w.ch_axis = 0;  // output channels: conv [Cout, Cin/g, k...], linear [out, in]
    a.input_qspec_map[1] = w;
    if (c_.bias && has_bias) {
      a.input_qspec_map[2] = derived_bias_spec(EdgeOrNode::edge(i, 0), EdgeOrNode::edge(i, 1));
    }
    annotate_output(i, *c_.output_activation, true);
    return {};
  }

  const Graph& g_;
  const QuantizationConfig& c_;
  Annotations& a_;
  std::vector<SkipReason>& skipped_;
  std::vector<std::vector<int>> consumers_;
  std::set<int> graph_outputs_;
  std::set<int> claimed_;
};

}  // namespace

void GenericQuantizer::transform_for_annotation(Graph& g) const {
  fold_batch_norm(g);
  run_default_passes(g);
}

void GenericQuantizer::annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const {
  Annotator(g, config_, annotations, skipped).run();
}

}  // namespace eq
