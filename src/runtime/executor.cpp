#include "edgequant/executor.h"

#include <omp.h>

#include <cstdlib>

#include "memory_plan.h"
#include "threading.h"

namespace eq {

struct Executor::Plan {
  std::vector<std::unique_ptr<OpKernel>> kernels;  // one per node
  std::vector<Tensor> tensors;                     // one per value: constants, arena views; inputs set per run
  std::vector<std::vector<const Tensor*>> node_inputs;
  std::vector<std::vector<Tensor*>> node_outputs;
  std::shared_ptr<void> arena;
  size_t arena_bytes = 0;
};

Executor::Executor(Graph graph, ExecutorOptions options) : graph_(std::move(graph)), options_(options) {
  register_builtin_kernels();
  if (options_.threads <= 0) options_.threads = omp_get_num_procs();
  graph_.validate();
}

Executor::~Executor() = default;

size_t Executor::arena_bytes() const { return last_plan_ ? last_plan_->arena_bytes : 0; }

Executor::Plan& Executor::plan_for(const std::vector<Tensor>& inputs) {
  if (inputs.size() != graph_.inputs.size())
    throw Error("model takes " + std::to_string(graph_.inputs.size()) + " inputs, got " + std::to_string(inputs.size()));
  std::vector<Shape> key;
  for (const Tensor& t : inputs) key.push_back(t.shape());
  if (auto it = plans_.find(key); it != plans_.end()) return *it->second;

  // The batch is whatever the inputs put where the graph has its symbolic dimension.
  int64_t batch = kBatch;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value& v = graph_.value(graph_.inputs[i]);
    const Shape& got = inputs[i].shape();
    const std::string what = "input '" + v.name + "'";
    check(inputs[i].dtype() == v.dtype, what + ": expected dtype " + std::string(dtype_name(v.dtype)) + ", got " +
                                            std::string(dtype_name(inputs[i].dtype())));
    check(got.size() == v.shape.size(), what + ": expected shape " + shape_str(v.shape) + ", got " + shape_str(got));
    for (size_t d = 0; d < got.size(); ++d) {
      if (v.shape[d] == kBatch) {
        check(batch == kBatch || batch == got[d], what + ": batch " + std::to_string(got[d]) + " differs from another input's " +
                                                      std::to_string(batch));
        batch = got[d];
      } else {
        check(v.shape[d] == got[d], what + ": expected shape " + shape_str(v.shape) + ", got " + shape_str(got));
      }
    }
  }
  if (batch == kBatch) batch = 1;

  auto plan = std::make_unique<Plan>();
  const size_t nv = graph_.values.size(), nn = graph_.nodes.size();
  std::vector<DType> dtypes(nv);
  std::vector<Shape> shapes(nv);
  std::vector<char> known(nv, 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const int v = graph_.inputs[i];
    dtypes[static_cast<size_t>(v)] = inputs[i].dtype();
    shapes[static_cast<size_t>(v)] = inputs[i].shape();
    known[static_cast<size_t>(v)] = 1;
  }
  plan->tensors.resize(nv);
  for (size_t v = 0; v < nv; ++v)
    if (graph_.values[v].constant) {
      plan->tensors[v] = *graph_.values[v].constant;
      dtypes[v] = plan->tensors[v].dtype();
      shapes[v] = plan->tensors[v].shape();
      known[v] = 1;
    }

  // Concrete shapes and kernels, node by node.
  std::vector<int> first_use(nv, -1), last_use(nv, -1);
  for (size_t n = 0; n < nn; ++n) {
    const Node& node = graph_.nodes[n];
    std::vector<ValueInfo> ins;
    std::vector<bool> present;
    for (int v : node.inputs) {
      if (v < 0) {
        ins.push_back({});
        present.push_back(false);
        continue;
      }
      const size_t u = static_cast<size_t>(v);
      check(known[u], node.describe() + ": input '" + graph_.values[u].name + "' is not computed before it");
      ins.push_back({dtypes[u], shapes[u], graph_.values[u].constant ? &*graph_.values[u].constant : nullptr});
      present.push_back(true);
      last_use[u] = static_cast<int>(n);
    }
    std::vector<OutputInfo> outs = infer_outputs(node, ins, present, batch);
    for (size_t k = 0; k < outs.size(); ++k) {
      const size_t u = static_cast<size_t>(node.outputs[k]);
      dtypes[u] = outs[k].first;
      shapes[u] = outs[k].second;
      known[u] = 1;
      first_use[u] = static_cast<int>(n);
      last_use[u] = std::max(last_use[u], static_cast<int>(n));
      check(shape_is_static(shapes[u]), node.describe() + ": output shape " + shape_str(shapes[u]) + " is not static");
    }
    const KernelFactory* factory = find_kernel(node.op);
    check(factory != nullptr, node.describe() + ": no kernel for this op");
    KernelCreateInfo info{node, ins, present, outs, options_.threads};
    plan->kernels.push_back((*factory)(info));
  }
  for (int v : graph_.outputs) last_use[static_cast<size_t>(v)] = static_cast<int>(nn);

  // Arena for every value a node produces.
  std::vector<size_t> produced;
  std::vector<BufferRequest> requests;
  for (size_t v = 0; v < nv; ++v)
    if (first_use[v] >= 0) {
      produced.push_back(v);
      requests.push_back({dtype_storage_bytes(dtypes[v], shape_numel(shapes[v])), first_use[v], std::max(first_use[v], last_use[v])});
    }
  MemoryPlan mp = plan_memory(requests);
  plan->arena_bytes = mp.arena_bytes;
  void* arena = std::aligned_alloc(64, std::max<size_t>(64, mp.arena_bytes));
  check(arena != nullptr, "out of memory allocating a " + std::to_string(mp.arena_bytes) + "-byte activation arena");
  plan->arena = std::shared_ptr<void>(arena, [](void* p) { std::free(p); });
  for (size_t k = 0; k < produced.size(); ++k)
    plan->tensors[produced[k]] = Tensor::view(dtypes[produced[k]], shapes[produced[k]], static_cast<char*>(arena) + mp.offsets[k]);

  for (size_t n = 0; n < nn; ++n) {
    const Node& node = graph_.nodes[n];
    std::vector<const Tensor*> in;
    for (int v : node.inputs) in.push_back(v < 0 ? nullptr : &plan->tensors[static_cast<size_t>(v)]);
    std::vector<Tensor*> out;
    for (int v : node.outputs) out.push_back(&plan->tensors[static_cast<size_t>(v)]);
    plan->node_inputs.push_back(std::move(in));
    plan->node_outputs.push_back(std::move(out));
  }
  Plan& ref = *plan;
  plans_[key] = std::move(plan);
  return ref;
}

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs) { return run(inputs, nullptr); }

std::vector<Tensor> Executor::run(const std::vector<Tensor>& inputs, const Observer& observe) {
  ScopedThreads threads(options_.threads);
  Plan& plan = plan_for(inputs);
  last_plan_ = &plan;
  for (size_t i = 0; i < inputs.size(); ++i) plan.tensors[static_cast<size_t>(graph_.inputs[i])] = inputs[i];
  for (size_t n = 0; n < graph_.nodes.size(); ++n) {
    KernelContext ctx{graph_.nodes[n], plan.node_inputs[n], plan.node_outputs[n]};
    plan.kernels[n]->run(ctx);
    if (observe)
      for (int v : graph_.nodes[n].outputs) observe(v, plan.tensors[static_cast<size_t>(v)]);
  }
  std::vector<Tensor> out;
  for (int v : graph_.outputs) out.push_back(plan.tensors[static_cast<size_t>(v)].clone());
  for (size_t i = 0; i < inputs.size(); ++i) plan.tensors[static_cast<size_t>(graph_.inputs[i])] = Tensor();
  return out;
}

}  // namespace eq
