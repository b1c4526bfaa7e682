// AnnotationContext, the pattern loop and the annotation pieces every quantizer uses.
#include "annotation_context.h"

#include <algorithm>

namespace eq::quant {

bool op_in(const std::string& op, std::initializer_list<const char*> ops) {
  return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

AnnotationContext::AnnotationContext(const Graph& g, Annotations& a, std::vector<SkipReason>& skipped)
    : g_(g), a_(a), skipped_(skipped), consumers_(g.consumers()) {
  graph_inputs_.insert(g.inputs.begin(), g.inputs.end());
  graph_outputs_.insert(g.outputs.begin(), g.outputs.end());
}

int AnnotationContext::input_producer(int i, int slot) const {
  const Node& n = node(i);
  if (slot < 0 || slot >= static_cast<int>(n.inputs.size())) return -1;
  return producer(n.inputs[static_cast<size_t>(slot)]);
}

bool AnnotationContext::is_annotated(int i) const {
  auto it = a_.find(i);
  return it != a_.end() && it->second.annotated;
}

bool AnnotationContext::output_annotated(int i) const {
  auto it = a_.find(i);
  return it != a_.end() && it->second.output_qspec.has_value();
}

QuantizationAnnotation& AnnotationContext::annotate(int i) {
  QuantizationAnnotation& a = a_[i];
  a.annotated = true;
  return a;
}

int AnnotationContext::sole_user(int i, const std::function<bool(const Node&)>& pred) const {
  const Node& n = node(i);
  if (n.outputs.empty()) return -1;
  const int v = n.outputs[0];
  if (is_graph_output(v) || users(v).size() != 1) return -1;
  const int c = users(v)[0];
  return pred(node(c)) && !is_annotated(c) ? c : -1;
}

void AnnotationContext::skip(int i, std::string reason) { reasons_.emplace(i, std::move(reason)); }

void AnnotationContext::finish(const std::string& fallback) {
  for (int i = 0; i < num_nodes(); ++i) {
    if (is_annotated(i)) continue;
    const Node& n = node(i);
    if (n.op.rfind("quantized_decomposed.", 0) == 0) continue;
    // Nodes covered as a fused activation carry an annotation without claiming a pattern.
    if (a_.count(i)) continue;
    auto it = reasons_.find(i);
    skipped_.push_back({i, it != reasons_.end() ? it->second : fallback + n.op});
  }
}

void run_patterns(AnnotationContext& ctx, const std::vector<QuantizerConfigs::Pass>& passes,
                  const std::vector<Pattern>& patterns, const std::function<bool(const Graph&, int)>& extra_filter) {
  const Graph& g = ctx.graph();
  for (const QuantizerConfigs::Pass& pass : passes) {
    auto selected = [&](int i) {
      return pass.applies(g, i) && (!extra_filter || extra_filter(g, i));
    };
    if (!pass.config) {
      for (int i = 0; i < ctx.num_nodes(); ++i)
        if (!ctx.is_annotated(i) && selected(i) && pass.what != "global")
          ctx.skip(i, "left float by the config for " + pass.what);
      continue;
    }
    for (const Pattern& p : patterns) {
      if (!pass.operator_type.empty() &&
          std::none_of(p.anchors.begin(), p.anchors.end(),
                       [&](const std::string& a) { return operator_matches(a, pass.operator_type); }))
        continue;
      for (int i = 0; i < ctx.num_nodes(); ++i) {
        if (ctx.is_annotated(i) || !selected(i)) continue;
        if (std::find(p.anchors.begin(), p.anchors.end(), ctx.node(i).op) == p.anchors.end()) continue;
        p.annotate(ctx, i, *pass.config);
      }
    }
  }
}

void annotate_shared_with_input(AnnotationContext& ctx, int i, const QuantizationSpec& act) {
  QuantizationAnnotation& a = ctx.annotate(i);
  a.input_qspec_map[0] = act;
  a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
}

void annotate_weighted(AnnotationContext& ctx, int i, const QuantizationConfig& config,
                       const std::optional<QuantizationSpecBase>& bias, int output_node) {
  const Node& n = ctx.node(i);
  QuantizationAnnotation& a = ctx.annotate(i);
  if (config.input_activation) a.input_qspec_map[0] = *config.input_activation;
  QuantizationSpec w = *config.weight;
  w.ch_axis = 0;  // output channels: conv [Cout, Cin/g, k...], linear [out, in]
  a.input_qspec_map[1] = w;
  if (bias && n.inputs.size() > 2 && n.inputs[2] != kNoValue) a.input_qspec_map[2] = *bias;
  if (!config.output_activation) return;
  if (output_node == i) {
    a.output_qspec = *config.output_activation;
  } else {
    ctx.annotate(output_node).output_qspec = *config.output_activation;
  }
}

}  // namespace eq::quant
