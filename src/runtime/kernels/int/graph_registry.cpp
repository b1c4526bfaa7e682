// register_quantized_kernels: the integer ops' kernels (src/runtime/kernels/int/graph_*.cpp).
#include "../kernel_families.h"
#include "graph_kernels.h"

namespace eq {

void register_quantized_kernels() {
  register_quantized_linalg_kernels();
  register_quantized_elementwise_kernels();
  register_quantized_pooling_kernels();
  register_quantized_misc_kernels();
}

}  // namespace eq
