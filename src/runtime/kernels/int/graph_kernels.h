// Registration of the integer-op kernels (quantized.*), one function per graph_*.cpp file;
// register_quantized_kernels (graph_registry.cpp) calls them all.
#pragma once

namespace eq {
void register_quantized_linalg_kernels();       // conv1d/conv2d, linear, matmul
void register_quantized_elementwise_kernels();  // add, mul, lookup_table, requantize
void register_quantized_pooling_kernels();      // max/avg/adaptive pools, mean
void register_quantized_misc_kernels();         // cat, softmax
}  // namespace eq
