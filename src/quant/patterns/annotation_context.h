// The pattern library the PT2E quantizers (generic, Neutron, XNNPACK, Ethos-U) share: an
// annotation context over one graph, and the pattern loop with PT2E's config precedence.
//
// A backend quantizer is an ordered table of Patterns (ExecuTorch's OP_TO_ANNOTATOR / NXP's
// pattern classes). run_patterns goes through the QuantizerConfigs passes in precedence order
// (module name > module type > operator > global) and, within a pass, through the patterns in
// table order and the nodes in graph order, as torch does: the first pattern that claims a node
// wins, and a claimed node is never annotated again.
#pragma once
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgequant/quantizer.h"

namespace eq::quant {

bool op_in(const std::string& op, std::initializer_list<const char*> ops);

class AnnotationContext {
 public:
  AnnotationContext(const Graph& g, Annotations& a, std::vector<SkipReason>& skipped);

  const Graph& graph() const { return g_; }
  const Node& node(int i) const { return g_.nodes[static_cast<size_t>(i)]; }
  int num_nodes() const { return static_cast<int>(g_.nodes.size()); }
  bool f32(int v) const { return v >= 0 && g_.value(v).dtype == DType::f32; }
  bool is_constant(int v) const { return g_.is_constant(v); }
  bool is_graph_input(int v) const { return graph_inputs_.count(v) != 0; }
  bool is_graph_output(int v) const { return graph_outputs_.count(v) != 0; }
  const std::vector<int>& users(int v) const { return consumers_[static_cast<size_t>(v)]; }
  // The node producing value v, -1 for graph inputs and constants.
  int producer(int v) const { return v < 0 ? -1 : g_.value(v).producer; }
  // The producer of node i's input `slot`, -1 when it is a graph input or constant.
  int input_producer(int i, int slot) const;

  // Claimed by a pattern (torchao's `_annotated`).
  bool is_annotated(int i) const;
  // Has an output spec (torchao's `_is_annotated` + output_qspec, what propagation checks).
  bool output_annotated(int i) const;
  // The annotation of node i, created on first use and marked claimed.
  QuantizationAnnotation& annotate(int i);
  Annotations& annotations() { return a_; }

  // The only user of node i's output, when it satisfies `pred`, is not claimed yet and node i's
  // output is not a graph output (what conv+relu style fusion needs); -1 otherwise.
  int sole_user(int i, const std::function<bool(const Node&)>& pred) const;

  // Why node i stays float (the first reason given wins; claimed nodes are never reported).
  void skip(int i, std::string reason);
  // Records every unclaimed compute node with its reason (or `fallback` + op) into `skipped`.
  void finish(const std::string& fallback = "no quantization pattern for ");

 private:
  const Graph& g_;
  Annotations& a_;
  std::vector<SkipReason>& skipped_;
  std::vector<std::vector<int>> consumers_;
  std::set<int> graph_inputs_, graph_outputs_;
  std::map<int, std::string> reasons_;
};

// One entry of a backend's pattern table. `annotate` returns true when it claimed the node (and
// maybe nodes after it, for fusion); it may call ctx.skip(i, why) when it declines.
struct Pattern {
  std::string name;
  // The ops this pattern is anchored at (torch's op_overloads; set_operator_type selects by them).
  std::vector<std::string> anchors;
  std::function<bool(AnnotationContext& ctx, int node, const QuantizationConfig& config)> annotate;
};

// Runs `patterns` for each pass (see the file comment). A pass with a nullopt config leaves its
// nodes unannotated, recording the pass as the reason. `extra_filter` (may be empty) must also
// accept a node (ExecuTorch's set_filter_function).
void run_patterns(AnnotationContext& ctx, const std::vector<QuantizerConfigs::Pass>& passes,
                  const std::vector<Pattern>& patterns,
                  const std::function<bool(const Graph&, int)>& extra_filter = {});

// Common annotation pieces.
// Input edge 0 and the output of a single-input op share the input's observer (output =
// Shared(edge)): pools, reshapes, permute, pad, slice...
void annotate_shared_with_input(AnnotationContext& ctx, int i, const QuantizationSpec& act);
// conv / linear: input 0 `config.input_activation`, weight (ch_axis 0), `bias` on input 2 when the
// node has a bias (nullopt = leave the bias edge float), output spec on node `output_node`
// (the node itself, or a fused activation, which is then claimed).
void annotate_weighted(AnnotationContext& ctx, int i, const QuantizationConfig& config,
                       const std::optional<QuantizationSpecBase>& bias, int output_node);

}  // namespace eq::quant
