// partition_for_xnnpack: groups the supported nodes of a lowered graph into maximal connected,
// convex partitions (greedy in topological order: a node joins the partitions of its producers
// when the union stays convex, i.e. no path leaves it and comes back), drops partitions without an
// XNNPACK operator (views alone), and replaces each by one xnnpack.subgraph node.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "edgequant/kernel.h"
#include "edgequant/ops.h"
#include "edgequant/xnnpack.h"
#include "program.h"
#include "support.h"

namespace eq {
namespace {

using xnn::Role;

struct Partitioning {
  std::vector<int> part;                 // per node: partition id, -1 on the CPU
  std::vector<std::vector<int>> groups;  // per partition id: member nodes (empty once merged away)
};

// Node-level successors (consumers of any output).
std::vector<std::vector<int>> successors(const Graph& g) {
  const std::vector<std::vector<int>> cons = g.consumers();
  std::vector<std::vector<int>> succ(g.nodes.size());
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    std::set<int> s;
    for (int v : g.nodes[n].outputs)
      for (int c : cons[static_cast<size_t>(v)]) s.insert(c);
    succ[n].assign(s.begin(), s.end());
  }
  return succ;
}

std::vector<int> producers(const Graph& g, const Node& n) {
  std::set<int> s;
  for (int v : n.inputs)
    if (v >= 0 && g.value(v).producer >= 0) s.insert(g.value(v).producer);
  return {s.begin(), s.end()};
}

// True when no path leaves `members` and re-enters it.
bool convex(const std::vector<std::vector<int>>& succ, const std::vector<char>& in_set, int max_node) {
  std::vector<char> seen(succ.size(), 0);
  std::vector<int> stack;
  for (size_t n = 0; n < succ.size(); ++n)
    if (in_set[n])
      for (int s : succ[n])
        if (!in_set[static_cast<size_t>(s)] && !seen[static_cast<size_t>(s)]) {
          seen[static_cast<size_t>(s)] = 1;
          stack.push_back(s);
        }
  while (!stack.empty()) {
    const int u = stack.back();
    stack.pop_back();
    if (u > max_node) continue;  // topological order: nothing later leads back
    for (int s : succ[static_cast<size_t>(u)]) {
      if (in_set[static_cast<size_t>(s)]) return false;
      if (!seen[static_cast<size_t>(s)]) {
        seen[static_cast<size_t>(s)] = 1;
        stack.push_back(s);
      }
    }
  }
  return true;
}

Partitioning greedy(const Graph& g, const std::vector<xnn::Support>& sup) {
  const size_t nn = g.nodes.size();
  const std::vector<std::vector<int>> succ = successors(g);
  Partitioning p;
  p.part.assign(nn, -1);
  std::vector<char> in_set(nn, 0);
  auto try_set = [&](const std::vector<int>& parts, int v) {
    std::fill(in_set.begin(), in_set.end(), 0);
    for (int q : parts)
      for (int m : p.groups[static_cast<size_t>(q)]) in_set[static_cast<size_t>(m)] = 1;
    in_set[static_cast<size_t>(v)] = 1;
    return convex(succ, in_set, v);
  };
  for (size_t vi = 0; vi < nn; ++vi) {
    const int v = static_cast<int>(vi);
    if (sup[vi].role == Role::kNone) continue;
    std::vector<int> cands;
    for (int pr : producers(g, g.nodes[vi])) {
      const int q = p.part[static_cast<size_t>(pr)];
      if (q >= 0 && std::find(cands.begin(), cands.end(), q) == cands.end()) cands.push_back(q);
    }
    std::vector<int> join;
    if (!cands.empty() && try_set(cands, v)) {
      join = cands;
    } else {
      // The largest producer partition that stays convex with v.
      std::sort(cands.begin(), cands.end(), [&](int a, int b) {
        return p.groups[static_cast<size_t>(a)].size() > p.groups[static_cast<size_t>(b)].size();
      });
      for (int q : cands)
        if (try_set({q}, v)) {
          join = {q};
          break;
        }
    }
    int target;
    if (join.empty()) {
      target = static_cast<int>(p.groups.size());
      p.groups.emplace_back();
    } else {
      target = join[0];
      for (size_t k = 1; k < join.size(); ++k) {
        for (int m : p.groups[static_cast<size_t>(join[k])]) {
          p.part[static_cast<size_t>(m)] = target;
          p.groups[static_cast<size_t>(target)].push_back(m);
        }
        p.groups[static_cast<size_t>(join[k])].clear();
      }
    }
    p.part[vi] = target;
    p.groups[static_cast<size_t>(target)].push_back(v);
  }
  for (std::vector<int>& grp : p.groups) std::sort(grp.begin(), grp.end());
  return p;
}

}  // namespace

void register_xnnpack_ops() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_builtin_op_schemas();
    register_builtin_kernels();
    xnn::register_subgraph_schema();
    xnn::register_subgraph_kernel();
  });
}

XnnpackPartitionReport partition_for_xnnpack(Graph& g) {
  register_xnnpack_ops();
  xnn::ensure_initialized();
  g.validate();
  const size_t nn = g.nodes.size();
  std::vector<xnn::Support> sup(nn);
  for (size_t n = 0; n < nn; ++n) sup[n] = xnn::classify(g, g.nodes[n]);
  Partitioning p = greedy(g, sup);

  // A partition must run at least one XNNPACK operator: views alone stay where they are.
  for (std::vector<int>& grp : p.groups) {
    const bool compute = std::any_of(grp.begin(), grp.end(), [&](int m) { return sup[static_cast<size_t>(m)].role == Role::kCompute; });
    if (compute) continue;
    for (int m : grp) {
      p.part[static_cast<size_t>(m)] = -1;
      sup[static_cast<size_t>(m)].reason = "a view joins a partition only next to a delegated operator";
    }
    grp.clear();
  }

  XnnpackPartitionReport report;
  for (size_t n = 0; n < nn; ++n) {
    if (p.part[n] >= 0) {
      report.delegated_nodes.push_back(static_cast<int>(n));
    } else {
      std::string why = sup[n].reason;
      if (why.empty()) why = "supported, but joining a neighbouring partition would create a cycle through the CPU";
      report.cpu_nodes_with_reason.emplace_back(static_cast<int>(n), why);
    }
  }

  // Rewrite: one xnnpack.subgraph node per partition, placed where its last member was; values
  // keep their ids (the node produces the partition's outputs under their old names).
  const std::vector<std::vector<int>> cons = g.consumers();
  std::set<int> graph_outputs(g.outputs.begin(), g.outputs.end());
  std::vector<int> last_member(p.groups.size(), -1);
  std::vector<Node> made(p.groups.size());
  int index = 0;
  for (size_t q = 0; q < p.groups.size(); ++q) {
    const std::vector<int>& grp = p.groups[q];
    if (grp.empty()) continue;
    std::vector<char> member(nn, 0);
    for (int m : grp) member[static_cast<size_t>(m)] = 1;
    std::vector<int> acts, consts;
    for (int m : grp)
      for (int v : g.nodes[static_cast<size_t>(m)].inputs) {
        if (v < 0) continue;
        const int pr = g.value(v).producer;
        if (pr >= 0 && member[static_cast<size_t>(pr)]) continue;
        std::vector<int>& list = g.is_constant(v) ? consts : acts;
        if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
      }
    xnn::Program prog;
    std::map<int, int> local;
    std::vector<int> inputs = acts;
    inputs.insert(inputs.end(), consts.begin(), consts.end());
    for (size_t i = 0; i < inputs.size(); ++i) local[inputs[i]] = static_cast<int>(i);
    prog.num_inputs = static_cast<int>(inputs.size());
    int next = prog.num_inputs;
    std::vector<int> outputs;
    for (int m : grp) {
      const Node& src = g.nodes[static_cast<size_t>(m)];
      Node inner;
      inner.op = src.op;
      inner.name = src.name;
      inner.attrs = src.attrs;
      for (int v : src.inputs) inner.inputs.push_back(v < 0 ? kNoValue : local.at(v));
      for (int v : src.outputs) {
        local[v] = next;
        inner.outputs.push_back(next++);
        bool outside = graph_outputs.count(v) != 0;
        for (int c : cons[static_cast<size_t>(v)]) outside = outside || !member[static_cast<size_t>(c)];
        if (outside) {
          outputs.push_back(v);
          prog.outputs.push_back(local[v]);
        }
      }
      prog.nodes.push_back(std::move(inner));
    }
    prog.num_values = next;
    for (size_t i = 0; i < acts.size() && prog.batch_input < 0; ++i) {
      const Shape& s = g.value(acts[i]).shape;
      for (size_t d = 0; d < s.size(); ++d)
        if (s[d] == kBatch) {
          prog.batch_input = static_cast<int>(i);
          prog.batch_axis = static_cast<int>(d);
          break;
        }
    }
    Node node;
    node.op = xnn::kSubgraphOp;
    node.name = "xnnpack_partition_" + std::to_string(index++);
    node.inputs = inputs;
    node.outputs = outputs;
    node.attrs = xnn::encode(prog);
    made[q] = std::move(node);
    last_member[q] = grp.back();
  }
  report.partitions = index;
  if (index == 0) return report;

  std::vector<Node> nodes;
  for (size_t n = 0; n < nn; ++n) {
    const int q = p.part[n];
    if (q < 0) {
      nodes.push_back(std::move(g.nodes[n]));
    } else if (last_member[static_cast<size_t>(q)] == static_cast<int>(n)) {
      nodes.push_back(std::move(made[static_cast<size_t>(q)]));
    }
  }
  g.nodes = std::move(nodes);
  for (Value& v : g.values) v.producer = -1;
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (int v : g.nodes[n].outputs) g.value(v).producer = static_cast<int>(n);
  g.sort();
  g.remove_dead();
  g.validate();
  return report;
}

}  // namespace eq
