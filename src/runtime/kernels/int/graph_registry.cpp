// register_quantized_kernels: the integer ops' kernels (src/runtime/kernels/int/graph_*.cpp).
#include <memory>

#include "../kernel_families.h"
#include "edgequant/error.h"
#include "graph_kernels.h"

namespace eq {
namespace {

bool any_int16(const KernelCreateInfo& info) {
  for (const ValueInfo& v : info.inputs)
    if (v.dtype == DType::i16) return true;
  for (const OutputInfo& o : info.outputs)
    if (o.first == DType::i16) return true;
  return false;
}

[[noreturn]] void refuse_int16(const Node& node) {
  throw Error(node.describe() + ": int16 integer kernels are not implemented; run the QDQ graph (fake-quant)");
}

}  // namespace

void register_int8_kernel(const std::string& op, KernelFactory factory) {
  register_kernel(op, [factory = std::move(factory)](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    if (any_int16(info)) refuse_int16(info.node);
    return factory(info);
  });
}

void register_quantized_kernels() {
  register_quantized_linalg_kernels();
  register_quantized_elementwise_kernels();
  register_quantized_pooling_kernels();
  register_quantized_misc_kernels();
  // quantized.unary only exists on int16 (int8 functions are lookup tables): always refused.
  register_kernel("quantized.unary", [](const KernelCreateInfo& info) -> std::unique_ptr<OpKernel> {
    refuse_int16(info.node);
  });
}

}  // namespace eq
