// Partition forming shared by the backend partitioners (see partition_util.h).
#include "partition_util.h"

#include <algorithm>
#include <set>

namespace eq::partition {

bool convex(const Graph& g, const std::vector<char>& in) {
  std::vector<char> reach(g.nodes.size(), 0);  // reachable from the set through outside nodes
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    bool from_set = false, from_outside_path = false;
    for (int v : g.nodes[i].inputs) {
      const int p = v < 0 ? -1 : g.value(v).producer;
      if (p < 0) continue;
      from_set |= in[static_cast<size_t>(p)] != 0;
      from_outside_path |= reach[static_cast<size_t>(p)] != 0;
    }
    if (in[i]) {
      if (from_outside_path) return false;
    } else {
      reach[i] = (from_set || from_outside_path) ? 1 : 0;
    }
  }
  return true;
}

std::vector<std::vector<int>> merge_groups(const Graph& g, const std::vector<std::vector<int>>& groups) {
  const size_t n = g.nodes.size();
  const std::vector<std::vector<int>> consumers = g.consumers();
  std::vector<std::vector<char>> member;
  for (const std::vector<int>& grp : groups) {
    std::vector<char> cur(n, 0);
    for (int x : grp) cur[static_cast<size_t>(x)] = 1;
    std::vector<size_t> merged;
    for (size_t p = 0; p < member.size(); ++p) {
      bool touches = false;
      for (int x : grp) {
        if (member[p][static_cast<size_t>(x)]) touches = true;
        for (int v : g.nodes[static_cast<size_t>(x)].inputs) {
          const int pr = v < 0 ? -1 : g.value(v).producer;
          if (pr >= 0 && member[p][static_cast<size_t>(pr)]) touches = true;
        }
        for (int o : g.nodes[static_cast<size_t>(x)].outputs)
          for (int u : consumers[static_cast<size_t>(o)])
            if (member[p][static_cast<size_t>(u)]) touches = true;
        if (touches) break;
      }
      if (!touches) continue;
      std::vector<char> trial = cur;
      for (size_t i = 0; i < n; ++i) trial[i] |= member[p][i];
      if (convex(g, trial)) {
        cur = std::move(trial);
        merged.push_back(p);
      }
    }
    for (auto it = merged.rbegin(); it != merged.rend(); ++it) member.erase(member.begin() + static_cast<std::ptrdiff_t>(*it));
    member.push_back(std::move(cur));
  }
  std::vector<std::vector<int>> parts;
  for (const auto& m : member) {
    std::vector<int> p;
    for (size_t i = 0; i < n; ++i)
      if (m[i]) p.push_back(static_cast<int>(i));
    parts.push_back(std::move(p));
  }
  std::sort(parts.begin(), parts.end());
  return parts;
}

}  // namespace eq::partition
