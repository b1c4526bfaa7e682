// Internal pieces of eq::NeutronQuantizer (src/backends/neutron/quantizer*.cpp,
// transform_conv1d.cpp): the pattern table after NXP's patterns.py, the annotation loop in
// NXP's order, and the conv1d → conv2d rewrite.
#pragma once
#include <functional>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/quantizer.h"
#include "quant/patterns/annotation_context.h"

namespace eq::neutron {

// What the patterns need besides the config of the node.
struct PatternEnv {
  bool per_channel_conv = false;
  // True when node j is covered by the same config pass as the node being annotated: a conv only
  // fuses an activation its own config covers (an activation under another override keeps its own).
  std::function<bool(int j)> same_pass;
  // Activation spec of the graph input (NXP annotates every placeholder with act_qspec).
  QuantizationSpec graph_input_spec;
};

struct NeutronPattern {
  quant::Pattern pattern;
  // NXP SharedSpecPattern: its quantizer is tried again at every node of its op (its nodes wait
  // for their producer to be annotated); every other pattern runs once, at the first node of one
  // of its ops, over all nodes of those ops.
  bool shared_spec = false;
};

// The table (one entry per NXP pattern class that has an op in our IR). `env` is captured by
// reference and must outlive the table.
std::vector<NeutronPattern> neutron_patterns(const PatternEnv& env);

// NeutronQuantizer.annotate's loop, per config pass (module name > type > operator > global):
// nodes in graph order; at a node whose pattern has not run yet in this pass, that pattern
// annotates every node of its ops the pass covers. Sets env.same_pass while a pass runs.
void run_neutron_patterns(quant::AnnotationContext& ctx, const std::vector<QuantizerConfigs::Pass>& passes,
                          const std::vector<NeutronPattern>& patterns, PatternEnv& env);

// NXP's _annotate_inputs: the graph input (a placeholder with an output spec in torch) has no
// producer node here, so each annotated consumer's edge from a graph input that has no spec yet
// gets `spec`. The edges then share one observer through implicit sharing (equal specs).
void annotate_graph_inputs(quant::AnnotationContext& ctx, const QuantizationSpec& spec);

// NXP is_supported_fused_activation__aten: relu, sigmoid, tanh, hardtanh(0, 6), hardtanh(0, inf).
bool is_fusable_activation(const Node& n);

// ConvertConv1dToConv2dPass: conv1d(x, w[O,I/g,k], b) → squeeze(conv2d(unsqueeze(x, 2),
// w[O,I/g,1,k], b), 2); a fusable activation that is the conv's only reader moves before the
// squeeze (so it still fuses). Convs whose weight or bias is not constant are left alone, as NXP
// does. Returns the number rewritten.
int convert_conv1d_to_conv2d(Graph& g);

}  // namespace eq::neutron
