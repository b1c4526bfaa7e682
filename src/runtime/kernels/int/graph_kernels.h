// Registration of the integer-op kernels (quantized.*), one function per graph_*.cpp file;
// register_quantized_kernels (graph_registry.cpp) calls them all.
#pragma once
#include <string>

#include "edgequant/kernel.h"

namespace eq {
// register_kernel for an int8 integer op: its kernels read int8 only, and an int16 node (the 16x8
// lowering writes the same ops for the TFLite export) is refused at planning with an eq::Error
// naming the node instead of reading int16 data as int8.
void register_int8_kernel(const std::string& op, KernelFactory factory);

void register_quantized_linalg_kernels();       // conv1d/conv2d, linear, matmul
void register_quantized_elementwise_kernels();  // add, mul, lookup_table, requantize
void register_quantized_pooling_kernels();      // max/avg/adaptive pools, mean
void register_quantized_misc_kernels();         // cat, softmax
}  // namespace eq
