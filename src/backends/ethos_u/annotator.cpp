// The Ethos-U annotator: ExecuTorch 1.5.1's composable TOSA quantizer (_TOSAQuantizerV2, the
// default), in two stages as there:
//   1. PatternQuantizer: nodes in graph order, the longest supported pattern of a single-user
//      chain starting at each (TOSA_QUANTIZER_SUPPORT_DICT in quantizer_support.py): conv/linear
//      (+ batch_norm) (+ relu/hardtanh, only when the output spec is affine and hardtanh's min is
//      0), the binary ops (all inputs float), and the single ops of ALL_QPARAM_OP_PATTERNS. Each
//      matched node gets the input spec on every float input from outside the match (weights and
//      biases their own specs) and the output spec on the last node (pools and mean: Shared with
//      their input edge, TOSAQuantizationConfig.get_output_act_qspec).
//   2. SharedQspecQuantizer: each connected cluster of not-yet-annotated data-movement ops
//      (reshape, permute, cat, slice, pad, relu, hardtanh, amax, ...) shares one spec taken from
//      the first annotated neighbour found (breadth first); the cluster's first node's first input
//      edge holds it and every other position is Shared with that edge.
// The graph inputs and outputs (torch's placeholder / output nodes, which our graph does not
// have as nodes) take the io config (set_io, else the global config): the input as an extra
// neighbour spec and on its consumers' edges, the output on the producing node's output.
#include <algorithm>
#include <deque>
#include <set>

#include "edgequant/error.h"
#include "internal.h"
#include "quant/patterns/annotation_context.h"

namespace eq::ethosu {
namespace {

using quant::AnnotationContext;
using quant::op_in;

bool is_conv(const std::string& op) {
  return op_in(op, {"aten.conv1d.default", "aten.conv2d.default", "aten.conv_transpose2d.input"});
}
bool is_param_target(const std::string& op) { return is_conv(op) || op == "aten.linear.default"; }
bool is_fused_activation(const std::string& op) { return op_in(op, {"aten.relu.default", "aten.hardtanh.default"}); }
bool is_batch_norm(const std::string& op) { return op == "aten._native_batch_norm_legit_no_training.default"; }
bool is_binary(const std::string& op) {
  return op_in(op, {"aten.add.Tensor", "aten.sub.Tensor", "aten.mul.Tensor", "aten.matmul.default"});
}
// Ops whose output spec is Shared with their input edge (SHARED_OUTPUT_ACT_QSPEC_PATTERNS).
bool shares_output_with_input(const std::string& op) {
  return op_in(op, {"aten.adaptive_avg_pool2d.default", "aten.avg_pool2d.default", "aten.max_pool2d.default",
                    "aten.mean.dim", "aten.upsample.default"});
}

bool symmetric(QuantizationScheme s) {
  return s == QuantizationScheme::per_tensor_symmetric || s == QuantizationScheme::per_channel_symmetric;
}

class Annotator {
 public:
  Annotator(const Graph& g, const QuantizerConfigs& configs, const std::optional<QuantizationConfig>& io,
            Annotations& a, std::vector<SkipReason>& skipped)
      : g_(g), node_configs_(configs_per_node(configs, g)), ctx_(g, a, skipped), a_(a), consumers_(g.consumers()) {
    const size_t n = g.nodes.size();
    claimed_.assign(n, 0);
    blocked_.assign(n, 0);
    if (io) {
      for (int v : g.inputs)
        if (g.value(v).dtype == DType::f32 && io->output_activation) input_spec_[v] = *io->output_activation;
      for (int v : g.outputs)
        if (g.value(v).dtype == DType::f32 && io->input_activation) output_spec_[v] = *io->input_activation;
    }
  }

  void run() {
    pattern_stage();
    shared_stage();
    // Before io_stage: an observer io_stage puts on a float node's edge does not quantize the node.
    ctx_.finish("the Ethos-U quantizer has no pattern for ");
    io_stage();
  }

 private:
  const Node& node(int i) const { return g_.nodes[static_cast<size_t>(i)]; }
  bool f32(int v) const { return v >= 0 && g_.value(v).dtype == DType::f32; }
  bool is_graph_output(int v) const { return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end(); }
  const std::vector<int>& users(int v) const { return consumers_[static_cast<size_t>(v)]; }
  bool has_users(int i) const {
    const Node& n = node(i);
    return !n.outputs.empty() && (!users(n.outputs[0]).empty() || is_graph_output(n.outputs[0]));
  }

  // ---- stage 1: PatternQuantizer ----

  bool supported(const std::vector<int>& chain) const {
    const std::string& a = node(chain[0]).op;
    if (chain.size() == 1) return is_param_target(a) || is_binary(a) || is_batch_norm(a) || is_single_op_pattern(a);
    if (!is_param_target(a)) return false;
    const std::string& b = node(chain[1]).op;
    if (chain.size() == 2) return is_fused_activation(b) || is_batch_norm(b);
    return is_batch_norm(b) && is_fused_activation(node(chain[2]).op);
  }

  // The PatternCheck of the pattern ("" when accepted).
  std::string check(const std::vector<int>& chain, const QuantizationConfig& c) const {
    const Node& first = node(chain[0]);
    if (chain.size() == 1 && is_binary(first.op)) {
      for (int v : first.inputs)
        if (v >= 0 && !f32(v)) return "an input of " + first.op + " is not float (ArithmeticFloatInputsCheck)";
      return "";
    }
    const Node& last = node(chain.back());
    if (chain.size() > 1 && is_fused_activation(last.op)) {
      if (last.op == "aten.hardtanh.default" && last.attrs.f("min_val", -1.0) != 0.0)
        return "hardtanh with min_val != 0 does not fuse";
      if (!c.output_activation) return "no output activation spec to fuse into";
      if (symmetric(c.output_activation->qscheme)) return "a symmetric output spec does not fuse (ReluFusedPatternCheck)";
    }
    return "";
  }

  bool is_weight_or_bias(int v, int slot) const {
    if (!g_.is_constant(v)) return false;
    for (int u : users(v)) {
      if (!is_param_target(node(u).op)) return false;
      const auto& in = node(u).inputs;
      if (!(static_cast<int>(in.size()) > slot && in[static_cast<size_t>(slot)] == v)) return false;
    }
    return true;
  }

  QuantizationSpec weight_spec(int i, const QuantizationConfig& c) const {
    QuantizationSpec w = *c.weight;
    // TOSA keeps ConvTranspose2d weights IOHW: per-channel on axis 1 unless grouped.
    if (node(i).op == "aten.conv_transpose2d.input" && w.qscheme == QuantizationScheme::per_channel_symmetric &&
        node(i).attrs.i("groups", 1) == 1)
      w.ch_axis = 1;
    return w;
  }

  // QuantizationConfig.get_bias_qspec for conv/linear: int32, scale = input × weight scale,
  // zero point 0, [-(2^31 - 1), 2^31 - 1], per channel on axis 0 when the weights are.
  DerivedQuantizationSpec bias_spec(int i, const QuantizationConfig& c) const {
    DerivedQuantizationSpec b = derived_bias_spec(EdgeOrNode::edge(i, 0), EdgeOrNode::edge(i, 1));
    b.quant_min = -std::numeric_limits<int32_t>::max();
    b.quant_max = std::numeric_limits<int32_t>::max();
    b.qscheme = c.weight->qscheme;
    b.ch_axis = 0;
    const auto derive = b.derive_qparams_fn;
    b.derive_qparams_fn = [derive](const std::vector<QParams>& qp) {
      QParams r = derive(qp);
      r.qmin = -std::numeric_limits<int32_t>::max();
      r.qmax = std::numeric_limits<int32_t>::max();
      return r;
    };
    return b;
  }

  void annotate_match(const std::vector<int>& chain, const QuantizationConfig& c) {
    const std::set<int> in_match(chain.begin(), chain.end());
    for (int i : chain) {
      const Node& n = node(i);
      QuantizationAnnotation& a = ctx_.annotate(i);
      claimed_[static_cast<size_t>(i)] = 1;
      for (size_t s = 0; s < n.inputs.size(); ++s) {
        const int v = n.inputs[s];
        const int slot = static_cast<int>(s);
        if (!f32(v)) continue;
        if (is_batch_norm(n.op) && slot >= 1) continue;  // UNOBSERVED_INPUT_INDICES: the statistics
        if (is_param_target(n.op) && slot == 1 && is_weight_or_bias(v, 1)) {
          if (c.weight) a.input_qspec_map[slot] = weight_spec(i, c);
        } else if (is_param_target(n.op) && slot == 2 && is_weight_or_bias(v, 2)) {
          if (c.bias && c.weight && c.input_activation) a.input_qspec_map[slot] = bias_spec(i, c);
        } else if (!in_match.count(g_.value(v).producer)) {
          if (c.input_activation) a.input_qspec_map[slot] = *c.input_activation;
        }
      }
      if (i != chain.back() || n.outputs.empty() || !f32(n.outputs[0])) continue;
      if (shares_output_with_input(n.op) && !n.inputs.empty())
        a.output_qspec = SharedQuantizationSpec{EdgeOrNode::edge(i, 0)};
      else if (c.output_activation)
        a.output_qspec = *c.output_activation;
    }
  }

  void pattern_stage() {
    const int n = static_cast<int>(g_.nodes.size());
    for (int i = 0; i < n; ++i) {
      const NodeConfig& nc = node_configs_[static_cast<size_t>(i)];
      if (!nc.has) continue;
      if (!nc.config) {
        blocked_[static_cast<size_t>(i)] = 1;
        ctx_.skip(i, "left float by its quantization config (None)");
      }
    }
    for (int i = 0; i < n; ++i) {
      if (claimed_[static_cast<size_t>(i)] || blocked_[static_cast<size_t>(i)]) continue;
      const NodeConfig& nc = node_configs_[static_cast<size_t>(i)];
      if (!nc.has || !nc.config) continue;
      // The single-user chain from i through the next nodes in order, up to the longest pattern.
      std::vector<int> chain{i};
      while (chain.size() < 3) {
        const int last = chain.back();
        const int next = last + 1;
        if (next >= n || node(last).outputs.empty()) break;
        const int v = node(last).outputs[0];
        if (users(v).size() != 1 || users(v)[0] != next || is_graph_output(v)) break;
        // torch's node finder hands the pattern matcher only the nodes of one config.
        if (claimed_[static_cast<size_t>(next)] || node_configs_[static_cast<size_t>(next)].pass != nc.pass) break;
        chain.push_back(next);
      }
      std::string why;
      for (size_t len = chain.size(); len >= 1; --len) {
        std::vector<int> m(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(len));
        if (!supported(m)) continue;
        const std::string r = check(m, *nc.config);
        if (!r.empty()) {
          if (why.empty()) why = r;
          continue;
        }
        annotate_match(m, *nc.config);
        why.clear();
        break;
      }
      if (!why.empty()) ctx_.skip(i, why);
    }
  }

  // ---- stage 2: SharedQspecQuantizer ----

  const QuantizationAnnotation* annotation(int i) const {
    auto it = a_.find(i);
    return it == a_.end() ? nullptr : &it->second;
  }

  void cluster(int root_node) {
    std::vector<int> members;
    std::set<int> seen{root_node};
    std::deque<int> queue{root_node};
    std::vector<QuantizationSpecBase> adjacent;
    auto enqueue = [&](int p) {
      if (p < 0 || seen.count(p) || !is_shared_qspec_op(node(p).op) || claimed_[static_cast<size_t>(p)] ||
          blocked_[static_cast<size_t>(p)])
        return;
      seen.insert(p);
      queue.push_back(p);
    };
    while (!queue.empty()) {
      const int x = queue.front();
      queue.pop_front();
      members.push_back(x);
      const Node& n = node(x);
      std::set<int> inputs_seen;
      for (int v : n.inputs) {
        if (v < 0 || !inputs_seen.insert(v).second) continue;
        const int p = g_.value(v).producer;
        enqueue(p);
        if (p < 0) {
          if (auto it = input_spec_.find(v); it != input_spec_.end()) adjacent.push_back(it->second);
        } else if (const auto* a = annotation(p); a && a->output_qspec && g_.nodes[static_cast<size_t>(p)].outputs[0] == v) {
          adjacent.push_back(*a->output_qspec);
        }
      }
      if (n.outputs.empty()) continue;
      const int out = n.outputs[0];
      for (int u : users(out)) {
        enqueue(u);
        if (const auto* a = annotation(u)) {
          const auto& ins = node(u).inputs;
          for (const auto& [slot, spec] : a->input_qspec_map)
            if (ins[static_cast<size_t>(slot)] == out) {
              adjacent.push_back(spec);
              break;
            }
        }
      }
      if (auto it = output_spec_.find(out); it != output_spec_.end()) adjacent.push_back(it->second);
    }
    std::sort(members.begin(), members.end());
    const int root = members.front();
    int first_slot = -1;
    for (size_t s = 0; s < node(root).inputs.size() && first_slot < 0; ++s)
      if (f32(node(root).inputs[s])) first_slot = static_cast<int>(s);
    if (adjacent.empty() || first_slot < 0) {
      for (int m : members) ctx_.skip(m, "shares its neighbours' qparams, and none of them is quantized");
      return;
    }
    const SharedQuantizationSpec shared{EdgeOrNode::edge(root, first_slot)};
    for (int m : members) {
      QuantizationAnnotation& a = ctx_.annotate(m);
      claimed_[static_cast<size_t>(m)] = 1;
      const Node& n = node(m);
      for (size_t s = 0; s < n.inputs.size(); ++s)
        if (f32(n.inputs[s])) a.input_qspec_map[static_cast<int>(s)] = shared;
      if (has_users(m) && f32(n.outputs[0])) a.output_qspec = shared;
    }
    a_[root].input_qspec_map[first_slot] = adjacent.front();
  }

  void shared_stage() {
    for (int i = 0; i < static_cast<int>(g_.nodes.size()); ++i)
      if (is_shared_qspec_op(node(i).op) && !claimed_[static_cast<size_t>(i)] && !blocked_[static_cast<size_t>(i)])
        cluster(i);
  }

  // ---- graph inputs and outputs ----

  void io_stage() {
    for (const auto& [v, spec] : input_spec_)
      for (int u : users(v)) {
        const Node& n = node(u);
        for (size_t s = 0; s < n.inputs.size(); ++s) {
          if (n.inputs[s] != v) continue;
          auto it = a_.find(u);
          if (it == a_.end()) {
            it = a_.emplace(u, QuantizationAnnotation{}).first;
            it->second.annotated = false;  // an observer on the input, the node itself stays float
          }
          it->second.input_qspec_map.emplace(static_cast<int>(s), spec);
        }
      }
    for (const auto& [v, spec] : output_spec_) {
      const int p = g_.value(v).producer;
      if (p < 0 || node(p).outputs[0] != v) continue;
      auto it = a_.find(p);
      if (it == a_.end()) {
        it = a_.emplace(p, QuantizationAnnotation{}).first;
        it->second.annotated = false;
      }
      if (!it->second.output_qspec) it->second.output_qspec = spec;
    }
  }

  const Graph& g_;
  std::vector<NodeConfig> node_configs_;
  AnnotationContext ctx_;
  Annotations& a_;
  std::vector<std::vector<int>> consumers_;
  std::vector<char> claimed_, blocked_;
  std::map<int, QuantizationSpec> input_spec_, output_spec_;
};

}  // namespace

bool is_shared_qspec_op(const std::string& op) {
  // SharedQspecQuantizer.SHARED_QSPEC_OPS_DEFAULT, as our IR names them.
  return op_in(op, {"aten.clone.default", "aten.amax.default", "aten.permute.default", "aten.slice_copy.Tensor",
                    "aten.index_select.default", "aten.cat.default", "aten.squeeze.dims", "aten.unsqueeze.default",
                    "aten.reshape.default", "aten.flatten.using_ints", "aten.pad.default", "aten.hardtanh.default",
                    "aten.relu.default"});
}

bool is_single_op_pattern(const std::string& op) {
  // The single-op entries of ALL_QPARAM_OP_PATTERNS that exist in our IR (_one_to_one, the
  // activation functions, and the listed extras). Softmax, mean, adaptive pool and div are here
  // for graphs where transform_for_annotation left them (a float config stopped the rewrite).
  return op_in(op, {"aten.abs.default", "aten.exp.default", "aten.reciprocal.default", "aten.sigmoid.default",
                    "aten.tanh.default", "aten.sum.dim_IntList", "aten.hardsigmoid.default", "aten.hardswish.default",
                    "aten.leaky_relu.default", "aten.gelu.default", "aten.erf.default", "aten.softmax.int",
                    "aten.log_softmax.int", "aten.div.Tensor", "aten.layer_norm.default", "aten.sqrt.default",
                    "aten.prelu.default", "aten.adaptive_avg_pool2d.default", "aten.upsample.default",
                    "aten.avg_pool2d.default", "aten.max_pool2d.default", "aten.mean.dim", "aten.neg.default"});
}

std::vector<NodeConfig> configs_per_node(const QuantizerConfigs& configs, const Graph& g) {
  const std::vector<QuantizerConfigs::Pass> passes = configs.passes();
  std::vector<NodeConfig> out(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (size_t k = 0; k < passes.size(); ++k) {
      const QuantizerConfigs::Pass& p = passes[k];
      if (!p.operator_type.empty() && !operator_matches(g.nodes[i].op, p.operator_type)) continue;
      if (p.applies(g, static_cast<int>(i))) {
        out[i] = {true, static_cast<int>(k), p.config};
        break;
      }
    }
  return out;
}

void annotate_graph(const Graph& g, const QuantizerConfigs& configs, const std::optional<QuantizationConfig>& io,
                    Annotations& annotations, std::vector<SkipReason>& skipped) {
  Annotator(g, configs, io, annotations, skipped).run();
}

}  // namespace eq::ethosu
