#include "edgequant/ops.h"
#include "op_families.h"

namespace eq {
void register_movement_schemas() {}
}  // namespace eq
