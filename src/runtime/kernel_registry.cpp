#include <map>
#include <mutex>

#include "edgequant/kernel.h"
#include "kernels/kernel_families.h"

namespace eq {
namespace {

std::map<std::string, KernelFactory>& kernels() {
  static std::map<std::string, KernelFactory> table;
  return table;
}

}  // namespace

KernelFactory stateless(std::function<void(KernelContext&)> fn) {
  return [fn = std::move(fn)](const KernelCreateInfo&) { return std::make_unique<FunctionKernel>(fn); };
}

void register_kernel(const std::string& op, KernelFactory factory) { kernels()[op] = std::move(factory); }

const KernelFactory* find_kernel(const std::string& op) {
  register_builtin_kernels();
  auto it = kernels().find(op);
  return it == kernels().end() ? nullptr : &it->second;
}

void register_builtin_kernels() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_linalg_kernels();
    register_elementwise_kernels();
    register_normalization_kernels();
    register_pooling_kernels();
    register_movement_kernels();
    register_quant_kernels();
    register_quantized_kernels();
    register_dynamic_quant_kernels();
  });
}

}  // namespace eq
