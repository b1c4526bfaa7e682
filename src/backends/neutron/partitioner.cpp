// NeutronPartitioner: QDQ clusters → node-level rules → partitions → partition-level rules, until
// stable. After ExecuTorch backends/nxp/neutron_partitioner.py (QDQClusterRecognizer,
// NeutronSupportedOperators, CapabilityBasedPartitioner, validate_partitioning_result).
//
// A cluster is one compute node, the activations fused after it (relu/hardtanh/sigmoid/tanh or a
// clone/dropout reading its output directly, the only reader), the dequantize nodes feeding it and
// the quantize nodes reading its output. A cluster is delegable when it is quantized for Neutron,
// no member is excluded by operators_not_to_delegate, and every member passes its op's rule.
// Delegated clusters that touch (a shared dequantize, or a quantize → dequantize edge) merge into
// one partition unless the merge would let a path leave the partition and come back.
#include <algorithm>
#include <map>
#include <set>

#include "edgequant/error.h"
#include "edgequant/neutron.h"
#include "edgequant/ops.h"
#include "backends/partition_util.h"
#include "rules.h"

namespace eq {
namespace {

using neutron::Context;
using neutron::OpRule;
using neutron::PartitionView;

bool fusable_activation(const std::string& op) {
  return op == "aten.relu.default" || op == "aten.hardtanh.default" || op == "aten.sigmoid.default" ||
         op == "aten.tanh.default" || op == "aten.clone.default" || op == "aten.dropout.default";
}

std::string node_label(const Node& n) { return "'" + n.name + "' (" + n.op + ")"; }

struct Cluster {
  std::vector<int> members;  // compute nodes, root first
  std::vector<int> nodes;    // members and the quantize/dequantize nodes around them, sorted
  std::string reason;        // empty while delegable
  int failing = -1;          // the member the reason is about
};

class Run {
 public:
  Run(const Graph& g, const NeutronCompileSpec& spec) : g_(g), spec_(spec), ctx_(g, spec.target) {}

  PartitionResult go() {
    build_clusters();
    for (Cluster& c : clusters_) check_cluster(c);
    std::vector<std::vector<int>> parts;
    // Partition-level rules can reject nodes; each round removes at least one cluster.
    for (size_t round = 0; round <= clusters_.size(); ++round) {
      parts = build_partitions();
      if (!apply_partition_rules(parts)) break;
    }
    return result(parts);
  }

 private:
  bool is_qdq(int n) const { return ctx_.is_qdq(n); }
  const Node& node(int n) const { return g_.nodes[static_cast<size_t>(n)]; }
  int producer(int v) const { return v < 0 ? -1 : g_.value(v).producer; }
  bool is_graph_output(int v) const { return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end(); }

  void build_clusters() {
    const size_t n = g_.nodes.size();
    cluster_of_.assign(n, -1);
    for (size_t i = 0; i < n; ++i) {
      const int ni = static_cast<int>(i);
      if (is_qdq(ni)) continue;
      const Node& nd = node(ni);
      if (fusable_activation(nd.op) && !nd.inputs.empty()) {
        const int v = nd.inputs[0];
        const int p = producer(v);
        if (p >= 0 && !is_qdq(p) && ctx_.consumers(v).size() == 1 && !is_graph_output(v) && cluster_of_[static_cast<size_t>(p)] >= 0) {
          const int c = cluster_of_[static_cast<size_t>(p)];
          if (clusters_[static_cast<size_t>(c)].members.back() == p) {
            clusters_[static_cast<size_t>(c)].members.push_back(ni);
            cluster_of_[i] = c;
            continue;
          }
        }
      }
      cluster_of_[i] = static_cast<int>(clusters_.size());
      clusters_.push_back(Cluster{{ni}, {}, "", -1});
    }
  }

  void fail(Cluster& c, int member, const std::string& reason) {
    if (!c.reason.empty()) return;
    c.reason = reason;
    c.failing = member;
  }

  // Quantized for Neutron: every input a dequantize (int8 per-tensor activations; int8 weights,
  // int32 bias, constant), every output read only by int8 per-tensor quantize nodes.
  void check_quantized(Cluster& c) {
    std::set<int> nodes(c.members.begin(), c.members.end());
    for (size_t k = 0; k < c.members.size(); ++k) {
      const int m = c.members[k];
      const Node& nd = node(m);
      const OpRule* rule = neutron::find_rule(nd.op);
      for (size_t s = 0; s < nd.inputs.size(); ++s) {
        const int v = nd.inputs[s];
        if (v < 0) continue;
        const int p = producer(v);
        if (k > 0 && p == c.members[k - 1]) continue;  // the fused chain
        const std::string in = "input " + std::to_string(s) + " '" + g_.value(v).name + "'";
        if (p < 0 || !is_dequantize_node(node(p))) {
          const std::string what = g_.is_constant(v) ? " is a constant (" + std::string(dtype_name(g_.value(v).dtype)) + ")"
                                                     : " is " + std::string(dtype_name(g_.value(v).dtype));
          fail(c, m, "not quantized: " + in + what + ", not produced by a dequantize node");
          continue;
        }
        const neutron::QdqParams q = Context::params_of(g_, p);
        nodes.insert(p);
        const int slot = static_cast<int>(s);
        if (q.constant_input) {
          const bool bias = rule && slot == rule->bias_slot;
          const DType want = bias ? DType::i32 : DType::i8;
          if (q.dtype != want)
            fail(c, m, in + " is a " + std::string(dtype_name(q.dtype)) + " constant; Neutron takes " +
                           (bias ? "int32 bias" : "int8 weights and constants"));
          if (q.per_channel && !(rule && (slot == rule->weight_slot || bias)))
            fail(c, m, in + " is quantized per channel; only weights and bias may be");
        } else {
          if (q.per_channel) fail(c, m, in + " is quantized per channel; Neutron takes per-tensor activations");
          if (q.dtype != DType::i8)
            fail(c, m, in + " is " + std::string(dtype_name(q.dtype)) + "; Neutron takes int8 activations only");
        }
      }
      const bool last = k + 1 == c.members.size();
      for (int o : nd.outputs) {
        if (is_graph_output(o)) {
          fail(c, m, "not quantized: output '" + g_.value(o).name + "' is a model output without a quantize node");
          continue;
        }
        if (!last) continue;
        const std::vector<int>& cons = ctx_.consumers(o);
        if (cons.empty()) fail(c, m, "not quantized: output '" + g_.value(o).name + "' is read by no quantize node");
        for (int q : cons) {
          if (!is_quantize_node(node(q))) {
            fail(c, m, "not quantized: output '" + g_.value(o).name + "' is read by " + node_label(node(q)) +
                           ", not by a quantize node");
            continue;
          }
          const neutron::QdqParams qp = Context::params_of(g_, q);
          if (qp.per_channel) fail(c, m, "output is quantized per channel; Neutron produces per-tensor int8");
          if (qp.dtype != DType::i8)
            fail(c, m, "output is quantized to " + std::string(dtype_name(qp.dtype)) + "; Neutron produces int8 only");
          nodes.insert(q);
        }
      }
    }
    c.nodes.assign(nodes.begin(), nodes.end());
  }

  void check_cluster(Cluster& c) {
    const auto& ex = spec_.operators_not_to_delegate;
    for (int m : c.members)
      if (std::find(ex.begin(), ex.end(), node(m).op) != ex.end())
        fail(c, m, "excluded by operators_not_to_delegate (" + node(m).op + ")");
    for (int m : c.members)
      if (!neutron::find_rule(node(m).op))
        fail(c, m, "no Neutron support for " + node(m).op + " (not among the operators the NXP backend converts)");
    if (!c.reason.empty()) {
      c.nodes = c.members;
      return;
    }
    check_quantized(c);
    if (!c.reason.empty()) return;
    for (int m : c.members) {
      const std::string r = neutron::find_rule(node(m).op)->check(ctx_, m);
      if (!r.empty()) {
        fail(c, m, r);
        return;
      }
    }
  }

  std::vector<std::vector<int>> build_partitions() const {
    std::vector<std::vector<int>> groups;
    for (const Cluster& c : clusters_)
      if (c.reason.empty()) groups.push_back(c.nodes);
    return partition::merge_groups(g_, groups);
  }

  PartitionView view(const std::vector<std::vector<int>>& parts) const {
    PartitionView v;
    v.partition_of.assign(g_.nodes.size(), -1);
    v.compute_nodes.resize(parts.size());
    for (size_t p = 0; p < parts.size(); ++p)
      for (int x : parts[p]) {
        if (v.partition_of[static_cast<size_t>(x)] < 0) v.partition_of[static_cast<size_t>(x)] = static_cast<int>(p);
        if (!is_qdq(x)) v.compute_nodes[p].push_back(x);
      }
    return v;
  }

  // Returns whether any cluster was rejected.
  bool apply_partition_rules(const std::vector<std::vector<int>>& parts) {
    const PartitionView pv = view(parts);
    bool changed = false;
    for (size_t p = 0; p < parts.size(); ++p) {
      bool only_no_ops = true;
      for (int x : pv.compute_nodes[p]) {
        const OpRule* r = neutron::find_rule(node(x).op);
        only_no_ops &= r && r->no_op;
      }
      if (!only_no_ops) continue;
      for (int x : pv.compute_nodes[p]) {
        Cluster& c = clusters_[static_cast<size_t>(cluster_of_[static_cast<size_t>(x)])];
        if (!c.reason.empty()) continue;
        fail(c, x, "partition-level: its partition would hold only no-op ops (reshape/flatten/view/clone/dropout); "
                   "Neutron would get an empty graph");
        changed = true;
      }
    }
    if (changed) return true;
    for (Cluster& c : clusters_) {
      if (!c.reason.empty()) continue;
      for (int m : c.members) {
        const OpRule* r = neutron::find_rule(node(m).op);
        if (!r || !r->partition_check) continue;
        const std::string why = r->partition_check(ctx_, m, pv);
        if (!why.empty()) {
          fail(c, m, "partition-level: " + why);
          changed = true;
          break;
        }
      }
    }
    return changed;
  }

  PartitionResult result(const std::vector<std::vector<int>>& parts) const {
    PartitionResult r;
    r.partitions = parts;
    const PartitionView pv = view(parts);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const int ni = static_cast<int>(i);
      if (is_qdq(ni)) continue;
      const Cluster& c = clusters_[static_cast<size_t>(cluster_of_[i])];
      NodeDecision d;
      d.node = ni;
      d.delegated = c.reason.empty();
      if (d.delegated) {
        d.partition = pv.partition_of[i];
      } else if (c.failing == ni || c.failing < 0) {
        d.reason = c.reason;
      } else {
        d.reason = "fused with " + node_label(node(c.failing)) + ", which stays on the CPU: " + c.reason;
      }
      r.decisions.push_back(std::move(d));
    }
    return r;
  }

  const Graph& g_;
  const NeutronCompileSpec& spec_;
  Context ctx_;
  std::vector<Cluster> clusters_;
  std::vector<int> cluster_of_;  // per node, -1 for quantize/dequantize nodes
};

}  // namespace

PartitionResult NeutronPartitioner::partition(const Graph& qdq_graph) const {
  return Run(qdq_graph, spec_).go();
}

}  // namespace eq
