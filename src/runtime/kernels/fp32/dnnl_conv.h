// oneDNN-backed conv2d / conv1d (as 2-D with H = 1) and conv_transpose kernels. The primitive is
// built once per kernel for the concrete shapes; constant weights are reordered once at creation.
#pragma once
#include <memory>

#include "conv_geom.h"
#include "edgequant/kernel.h"

namespace eq {

// How activations meet the primitive.
//   plain:   src/dst are our NCHW buffers, used in place (oneDNN picks an implementation for nchw).
//   blocked: src/dst are `any` (oneDNN picks, nChw16c on AVX-512); reorders in and out per call.
//   automatic: the choice the fp32 conv kernel makes (see dnnl_conv.cpp for the measurements).
enum class DnnlConvLayout { automatic, plain, blocked };

// Returns nullptr when oneDNN has no implementation for the geometry (the caller falls back to
// the reference loop).
std::unique_ptr<OpKernel> make_dnnl_conv_kernel(const KernelCreateInfo& info, const ConvGeom& g,
                                                DnnlConvLayout layout = DnnlConvLayout::automatic);

// The layout `automatic` resolves to for a geometry.
DnnlConvLayout dnnl_conv_auto_layout(const ConvGeom& g);

}  // namespace eq
