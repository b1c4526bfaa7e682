// Concrete geometry of a conv / conv_transpose node, 1-D mapped to 2-D with H = 1 so that one code
// path serves both. Shared by the reference loops and the oneDNN kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "edgequant/kernel.h"

namespace eq {

struct ConvGeom {
  int64_t n = 1, ic = 1, oc = 1, groups = 1;
  int64_t ih = 1, iw = 1, oh = 1, ow = 1, kh = 1, kw = 1;
  int64_t sh = 1, sw = 1, dh = 1, dw = 1;  // stride, dilation (1 = dense)
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // padding top/left (begins), bottom/right (ends)
  bool transposed = false;                 // weight [IC, OC/g, kh, kw] instead of [OC, IC/g, kh, kw]
  bool has_bias = false;
};

// Reads the node's attributes and the concrete shapes of a conv{1,2}d or conv_transpose{1,2}d node
// (already validated by its schema).
ConvGeom conv_geom_from(const KernelCreateInfo& info, bool transposed);

// Reference loops (no blocking, no vector tricks): y = conv(x, w) + b. Parallel over (n, oc).
// `b` may be null. Overwrites every element of y.
void conv_reference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);
void conv_transpose_reference(const ConvGeom& g, const float* x, const float* w, const float* b, float* y);

}  // namespace eq
