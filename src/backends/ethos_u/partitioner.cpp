// EthosUPartitioner: per compute node, quantized → TOSA INT op → target restrictions (support.h);
// supported nodes with their quantize/dequantize nodes merge into convex partitions
// (partition_util.h), and partitions that would only hold ops the TOSA lowering removes are
// rejected, as ExecuTorch's TOSAPartitioner does ("Partition contained only ops which are removed
// in the TOSA lowering"). Rejections repeat until stable.
#include <set>

#include "backends/partition_util.h"
#include "edgequant/ethos_u.h"
#include "edgequant/partition.h"
#include "support.h"

namespace eq {

PartitionResult EthosUPartitioner::partition(const Graph& g) const {
  const size_t n = g.nodes.size();
  const std::vector<std::vector<int>> consumers = g.consumers();
  std::vector<std::string> reason(n);
  std::vector<char> compute(n, 0);
  std::vector<int> fused_into(n, -1), fused_from(n, -1);
  for (size_t i = 0; i < n; ++i) {
    const int a = ethosu::fused_activation(g, static_cast<int>(i), consumers);
    if (a < 0) continue;
    fused_into[i] = a;
    fused_from[static_cast<size_t>(a)] = static_cast<int>(i);
  }
  for (size_t i = 0; i < n; ++i) {
    const Node& nd = g.nodes[i];
    if (is_quantize_node(nd) || is_dequantize_node(nd)) continue;
    compute[i] = 1;
    const int ni = static_cast<int>(i);
    std::string r = ethosu::check_quantized(g, ni, fused_into[i] >= 0, fused_from[i] >= 0 ? 0 : -1);
    if (r.empty()) r = ethosu::check_tosa_op(g, ni);
    if (r.empty()) r = ethosu::check_target(g, ni, spec_);
    reason[i] = r;
  }
  // A fused pair goes to the NPU together or not at all.
  auto label = [&](size_t i) { return "'" + g.nodes[i].name + "' (" + g.nodes[i].op + ")"; };
  for (size_t i = 0; i < n; ++i) {
    const int a = fused_into[i];
    if (a < 0) continue;
    const size_t ai = static_cast<size_t>(a);
    if (!reason[i].empty() && reason[ai].empty()) reason[ai] = "fused with " + label(i) + ", which stays on the CPU: " + reason[i];
    else if (reason[i].empty() && !reason[ai].empty())
      reason[i] = "fused with " + label(ai) + ", which stays on the CPU: " + reason[ai];
  }
  // A delegated node's group: itself, the dequantize nodes feeding it, the quantize nodes after it.
  auto group_of = [&](size_t i) {
    std::set<int> s{static_cast<int>(i)};
    for (int v : g.nodes[i].inputs) {
      const int p = v < 0 ? -1 : g.value(v).producer;
      if (p >= 0 && is_dequantize_node(g.nodes[static_cast<size_t>(p)])) s.insert(p);
    }
    for (int o : g.nodes[i].outputs)
      for (int u : consumers[static_cast<size_t>(o)])
        if (is_quantize_node(g.nodes[static_cast<size_t>(u)])) s.insert(u);
    return s;
  };
  std::vector<std::vector<int>> parts;
  for (size_t round = 0; round <= n; ++round) {
    std::vector<std::vector<int>> groups;
    for (size_t i = 0; i < n; ++i)
      if (compute[i] && reason[i].empty() && fused_from[i] < 0) {
        std::set<int> s = group_of(i);
        if (fused_into[i] >= 0) {
          const std::set<int> a = group_of(static_cast<size_t>(fused_into[i]));
          s.insert(a.begin(), a.end());
        }
        groups.emplace_back(s.begin(), s.end());
      }
    parts = partition::merge_groups(g, groups);
    bool changed = false;
    for (const auto& p : parts) {
      bool all_no_compute = true;
      for (int x : p)
        if (compute[static_cast<size_t>(x)] && !ethosu::is_no_compute(g, x)) all_no_compute = false;
      if (!all_no_compute) continue;
      for (int x : p)
        if (compute[static_cast<size_t>(x)]) {
          reason[static_cast<size_t>(x)] =
              "partition-level: its partition holds only ops the TOSA lowering removes (reshape, flatten, clone, "
              "no-op squeeze/permute), so it would be empty";
          changed = true;
        }
    }
    if (!changed) break;
  }
  PartitionResult r;
  r.partitions = parts;
  std::vector<int> part_of(n, -1);
  for (size_t p = 0; p < parts.size(); ++p)
    for (int x : parts[p])
      if (part_of[static_cast<size_t>(x)] < 0) part_of[static_cast<size_t>(x)] = static_cast<int>(p);
  for (size_t i = 0; i < n; ++i) {
    if (!compute[i]) continue;
    NodeDecision d;
    d.node = static_cast<int>(i);
    d.delegated = reason[i].empty();
    d.partition = d.delegated ? part_of[i] : -1;
    d.reason = reason[i];
    r.decisions.push_back(std::move(d));
  }
  return r;
}

}  // namespace eq
