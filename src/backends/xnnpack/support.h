// Which nodes of a lowered graph libxnnpack 0.0~git20220216 can run, and the limits its operator
// API enforces (measured against the installed library: each bound below is the first value its
// xnn_create_* rejects). Everything here is checked on the graph before any operator is created,
// so that a partition never fails at kernel creation.
#pragma once
#include <cstdint>
#include <string>

#include "edgequant/graph.h"

namespace eq::xnn {

// Requantization scale of conv / fully connected (x_scale * w_scale / out_scale, computed in float
// as XNNPACK does): [2^-32, 2^8). Below 2^-32 XNNPACK asserts (aborts) instead of failing.
inline constexpr float kConvScaleMin = 0x1.0p-32f, kConvScaleMax = 0x1.0p+8f;
// add: each input scale / output scale in [2^-10, 2^8).
inline constexpr float kAddRatioMin = 0x1.0p-10f, kAddRatioMax = 0x1.0p+8f;
// multiply: a_scale * b_scale / out_scale in [2^-16, 2^8).
inline constexpr float kMulRatioMin = 0x1.0p-16f, kMulRatioMax = 0x1.0p+8f;
// global / qu8 average pooling: x_scale / out_scale in [2^-8, 2^8).
inline constexpr float kPoolRatioMin = 0x1.0p-8f, kPoolRatioMax = 0x1.0p+8f;
inline constexpr int kMaxDims = 6;  // XNN_MAX_TENSOR_DIMS

enum class Role {
  kNone,     // stays on the CPU
  kCompute,  // runs as one or more XNNPACK operators
  kView,     // int8 reshape / flatten / squeeze / unsqueeze / clone: no work inside a partition
};

struct Support {
  Role role = Role::kNone;
  std::string reason;  // why not, for kNone
};

Support classify(const Graph& g, const Node& n);

// When a quantized.lookup_table's 256-entry table is a clamp of its input (table[q] =
// min(max(q, lo), hi): relu / relu6 / hardtanh sharing its input's qparams, as XNNPACK's
// quantizer annotates them), its bounds; libxnnpack runs that as clamp_nc_s8.
struct ClampBounds {
  bool is_clamp = false;
  int8_t lo = -128, hi = 127;
};
ClampBounds clamp_bounds(const Tensor& table);

}  // namespace eq::xnn
