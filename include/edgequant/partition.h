// What a backend partitioner returns: the delegated subgraphs of a QDQ graph and, for every
// compute node, whether it was delegated and why not. Shared by the backend partitioners
// (Neutron now; XNNPACK, Ethos-U later).
//
// Node indices refer to the graph that was partitioned. A "compute node" is any node that is not a
// quantize/dequantize (quantized_decomposed.*) node.
#pragma once
#include <string>
#include <vector>

#include "edgequant/graph.h"

namespace eq {

struct NodeDecision {
  int node = -1;           // compute node index
  bool delegated = false;  // runs in a delegated partition
  int partition = -1;      // index into PartitionResult::partitions, -1 when on the CPU
  std::string reason;      // why it stays on the CPU (the rule that failed, naming the parameter and
                           // the limit); empty when delegated
};

struct PartitionResult {
  // Each partition: node indices in topological order, forming a connected subgraph with no path
  // that leaves it and comes back (it can run as one delegate call). A partition holds its compute
  // nodes and the quantize/dequantize nodes around them; a dequantize read by two partitions that
  // cannot merge is listed in both (the lowering duplicates it).
  std::vector<std::vector<int>> partitions;
  // One per compute node, in node order.
  std::vector<NodeDecision> decisions;

  int64_t compute_nodes() const { return static_cast<int64_t>(decisions.size()); }
  int64_t delegated_nodes() const;
  // delegated / compute nodes, in [0, 1] (0 for a graph without compute nodes).
  double delegated_share() const;
  // The decision for compute node `node`, nullptr for quantize/dequantize nodes.
  const NodeDecision* decision_for(int node) const;
};

// quantized_decomposed.quantize_per_tensor / _per_channel (any overload).
bool is_quantize_node(const Node& n);
// quantized_decomposed.dequantize_per_tensor / _per_channel (any overload).
bool is_dequantize_node(const Node& n);

}  // namespace eq
