// One registration function per family of kernels (src/runtime/kernels/fp32/<family>.cpp),
// matching the schema families in src/ir/ops/op_families.h.
#pragma once

namespace eq {
void register_linalg_kernels();
void register_elementwise_kernels();
void register_normalization_kernels();
void register_pooling_kernels();
void register_movement_kernels();
void register_quant_kernels();
void register_quantized_kernels();  // integer ops (src/runtime/kernels/int/graph_*.cpp)
void register_dynamic_quant_kernels();  // choose_qparams, dynamic integer conv/linear (int/graph_dynamic.cpp)
}  // namespace eq
