#include "edgequant/kernel.h"
#include "../kernel_families.h"

namespace eq {
void register_movement_kernels() {}
}  // namespace eq
