// Reference loops of the integer conv / depthwise conv / fully connected kernels (TFLite
// reference_integer_ops ConvPerChannel / DepthwiseConvPerChannel / FullyConnected arithmetic,
// direct loops, single-threaded). The public eq::intk::Conv2D / DepthwiseConv2D / FullyConnected
// are the fast paths (conv_fast.cpp, linear.cpp) and must produce the same bytes; these stay as the
// oracle for tests and as the fallback for parameters outside the fast paths' domain.
#pragma once

#include <cstdint>

#include "edgequant/int_kernels.h"

namespace eq::intk {

// Grouped convolution (p.groups; filter [Cout, Cin/groups, KH, KW]).
void Conv2DReference(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                     const int32_t* bias, int8_t* output);
// Depthwise with depth multiplier out_channels / in_channels (p.groups is ignored): output channel
// oc reads input channel oc / multiplier (TFLite's oc = ic * multiplier + m), filter [Cout,1,KH,KW].
void DepthwiseConv2DReference(const Conv2DParams& p, const int8_t* input, const int8_t* filter,
                              const int32_t* bias, int8_t* output);
void FullyConnectedReference(const FullyConnectedParams& p, const int8_t* input,
                             const int8_t* weights, const int32_t* bias, int8_t* output);

}  // namespace eq::intk
