// Runs a Graph. For each distinct set of input shapes it plans once: concrete shape inference,
// kernel creation, and a static memory plan that packs every intermediate activation into one
// arena by lifetime (values whose lifetimes do not overlap share bytes).
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/kernel.h"

namespace eq {

struct ExecutorOptions {
  int threads = 2;  // 0: all cores
};

class Executor {
 public:
  explicit Executor(Graph graph, ExecutorOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Inputs in graph-input order. Returned tensors own their storage.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Calls `observe(value_id, tensor)` for every value a node produces, right after the node runs
  // (calibration and per-layer comparison hang off this).
  using Observer = std::function<void(int value_id, const Tensor& t)>;
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, const Observer& observe);

  const Graph& graph() const { return graph_; }
  // Bytes of the activation arena for the last planned shapes (for inspect and tests).
  size_t arena_bytes() const;

 private:
  struct Plan;
  Plan& plan_for(const std::vector<Tensor>& inputs);
  Graph graph_;
  ExecutorOptions options_;
  std::map<std::vector<Shape>, std::unique_ptr<Plan>> plans_;
  Plan* last_plan_ = nullptr;
};

}  // namespace eq
