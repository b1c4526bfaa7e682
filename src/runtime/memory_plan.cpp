#include "memory_plan.h"

#include <algorithm>
#include <numeric>

namespace eq {

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(requests.size(), 0);
  std::vector<size_t> order(requests.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return requests[a].bytes > requests[b].bytes; });
  auto align = [&](size_t x) { return (x + alignment - 1) / alignment * alignment; };
  std::vector<size_t> placed;
  for (size_t r : order) {
    const BufferRequest& req = requests[r];
    // Intervals taken by placed buffers whose lifetimes overlap this one, sorted by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed) {
      const BufferRequest& o = requests[p];
      if (o.last < req.first || req.last < o.first) continue;
      busy.emplace_back(plan.offsets[p], plan.offsets[p] + align(o.bytes));
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [b, e] : busy) {
      if (offset + align(req.bytes) <= b) break;
      offset = std::max(offset, e);
    }
    plan.offsets[r] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + align(req.bytes));
    placed.push_back(r);
  }
  return plan;
}

}  // namespace eq
