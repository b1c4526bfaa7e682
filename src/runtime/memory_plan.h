// Static memory planning: given each buffer's size and lifetime (first and last node index that
// touches it), assign byte offsets in one arena so that buffers alive at the same time never
// overlap. Greedy by size, largest first, each at the lowest offset that fits — the strategy of
// TFLite's arena planner, which packs typical CNNs within a few percent of the lower bound.
#pragma once
#include <cstddef>
#include <vector>

namespace eq {

struct BufferRequest {
  size_t bytes = 0;
  int first = 0;  // first step it is alive
  int last = 0;   // last step it is alive (inclusive)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // one per request
  size_t arena_bytes = 0;
};

MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment = 64);

}  // namespace eq
