#include <gtest/gtest.h>

#include "runtime/memory_plan.h"

namespace eq {

// Buffers alive at the same step must not overlap.
static void expect_no_overlap(const std::vector<BufferRequest>& reqs, const MemoryPlan& plan) {
  for (size_t a = 0; a < reqs.size(); ++a)
    for (size_t b = a + 1; b < reqs.size(); ++b) {
      const bool live_together = !(reqs[a].last < reqs[b].first || reqs[b].last < reqs[a].first);
      if (!live_together) continue;
      const bool disjoint = plan.offsets[a] + reqs[a].bytes <= plan.offsets[b] || plan.offsets[b] + reqs[b].bytes <= plan.offsets[a];
      EXPECT_TRUE(disjoint) << "buffers " << a << " and " << b << " overlap";
    }
}

TEST(MemoryPlan, ChainReusesMemory) {
  // A chain a -> b -> c -> d: each buffer dies when the next is made, so two slots suffice.
  std::vector<BufferRequest> reqs = {{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}, {1000, 3, 4}};
  MemoryPlan plan = plan_memory(reqs);
  expect_no_overlap(reqs, plan);
  EXPECT_EQ(plan.arena_bytes, 2 * 1024u);  // two 64-byte-aligned slots
}

TEST(MemoryPlan, AllLiveNeedsSum) {
  std::vector<BufferRequest> reqs = {{100, 0, 9}, {200, 0, 9}, {300, 0, 9}};
  MemoryPlan plan = plan_memory(reqs);
  expect_no_overlap(reqs, plan);
  EXPECT_EQ(plan.arena_bytes, 128u + 256u + 320u);
}

TEST(MemoryPlan, RandomLifetimesNeverOverlap) {
  std::vector<BufferRequest> reqs;
  unsigned seed = 12345;
  auto next = [&] { seed = seed * 1103515245u + 12345u; return (seed >> 8) % 1000; };
  for (int i = 0; i < 200; ++i) {
    const int first = static_cast<int>(next() % 100);
    reqs.push_back({next() * 8 + 1, first, first + static_cast<int>(next() % 20)});
  }
  MemoryPlan plan = plan_memory(reqs);
  expect_no_overlap(reqs, plan);
  size_t sum = 0;
  for (const auto& r : reqs) sum += r.bytes;
  EXPECT_LT(plan.arena_bytes, sum);
}

}  // namespace eq
