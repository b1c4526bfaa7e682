// Partition forming shared by the backend partitioners: delegated node groups (a compute node with
// the quantize/dequantize nodes around it) merge into partitions where they touch, as long as the
// union stays convex (no path leaves it and comes back: it must run as one delegate call).
#pragma once
#include <vector>

#include "edgequant/graph.h"

namespace eq::partition {

// Whether the node set `in` (per node: 0/1) is convex. Nodes are in topological order, so one
// forward pass suffices.
bool convex(const Graph& g, const std::vector<char>& in);

// Merges `groups` (node index lists) in order: a group joins every partition it touches (a shared
// node, or an edge either way) when the union stays convex. Returns the partitions, each sorted,
// ordered by first node.
std::vector<std::vector<int>> merge_groups(const Graph& g, const std::vector<std::vector<int>>& groups);

}  // namespace eq::partition
