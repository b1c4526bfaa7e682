// Kernels: one factory per op name creates an OpKernel for a node once its concrete input shapes
// are known (the executor does this when it plans a batch size). A kernel may prepare state at
// creation: pack constant weights, build a oneDNN primitive, precompute tables.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgequant/ops.h"

namespace eq {

struct KernelContext {
  const Node& node;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input
  std::vector<Tensor*> outputs;       // allocated by the executor with the inferred shapes
  const Tensor& in(size_t i) const { return *inputs.at(i); }
  bool has(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  Tensor& out(size_t i) const { return *outputs.at(i); }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual void run(KernelContext& ctx) = 0;
};

struct KernelCreateInfo {
  const Node& node;
  std::vector<ValueInfo> inputs;  // concrete shapes; constant set for constant inputs
  std::vector<bool> present;
  std::vector<OutputInfo> outputs;
  int threads = 1;
};

using KernelFactory = std::function<std::unique_ptr<OpKernel>(const KernelCreateInfo&)>;

// A kernel that is a plain function of the context.
class FunctionKernel : public OpKernel {
 public:
  explicit FunctionKernel(std::function<void(KernelContext&)> fn) : fn_(std::move(fn)) {}
  void run(KernelContext& ctx) override { fn_(ctx); }
 private:
  std::function<void(KernelContext&)> fn_;
};
// Factory for a stateless kernel.
KernelFactory stateless(std::function<void(KernelContext&)> fn);

void register_kernel(const std::string& op, KernelFactory factory);
const KernelFactory* find_kernel(const std::string& op);  // nullptr if none
// Registers every built-in fp32 (and Q/DQ) kernel once (idempotent).
void register_builtin_kernels();

}  // namespace eq
