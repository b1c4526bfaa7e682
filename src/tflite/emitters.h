// One emitter per IR op of the lowered graph: it writes the TFLite operators computing the node's
// outputs and places them (Context::place / new_output). Each family file registers its ops.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "export_context.h"

namespace eq::tflite_export {

using Emitter = std::function<void(Context&, const Node&)>;
using EmitterTable = std::map<std::string, Emitter>;

void register_conv_emitters(EmitterTable& t);         // quantized.conv1d/conv2d/linear/matmul (emit_conv.cpp)
void register_elementwise_emitters(EmitterTable& t);  // quantized.add/mul/lookup_table/requantize/softmax (emit_elementwise.cpp)
void register_pool_emitters(EmitterTable& t);         // quantized pools, adaptive pool, mean (emit_pool.cpp)
void register_movement_emitters(EmitterTable& t);     // reshape family, permute, slice, split, pad, gather, cat, quantized.cat (emit_movement.cpp)
void register_float_emitters(EmitterTable& t);        // float ops of islands (options.float_fallback) (emit_float_*.cpp)

// ---- helpers shared by the emitters (emit_util.cpp) ----

// TFLite's fused activation for a clamp [act_min, act_max] of an output quantized with `q` (int8:
// [-128, 127]): the function whose CalculateActivationRangeQuantized range equals the clamp, or
// nullopt if none does (the caller adds MAXIMUM / MINIMUM).
std::optional<fb::ActivationFunctionType> fused_activation(int64_t act_min, int64_t act_max, const Quant& q,
                                                           int64_t qmin, int64_t qmax);
// Applies a clamp [lo, hi] (quantized units) that no fused activation expresses: MAXIMUM and/or
// MINIMUM against constant scalars of the tensor's own quantization. Returns the clamped tensor.
int clamp_tensor(Context& c, int t, int64_t lo, int64_t hi, int64_t qmin, int64_t qmax);

// Spatial padding of a conv / pool over one spatial dimension (input size `in`, effective kernel
// `k` = (kernel - 1) * dilation + 1, stride, IR padding begin/end, IR output size).
struct Pad1d {
  int64_t begin = 0, end = 0;
};
// SAME when TFLite's SAME padding gives exactly this padding and output size, VALID when the
// output is what VALID gives with no padding; nullopt otherwise (explicit PAD needed).
std::optional<fb::Padding> tflite_padding(const std::vector<int64_t>& in, const std::vector<int64_t>& k,
                                          const std::vector<int64_t>& stride, const std::vector<Pad1d>& pad,
                                          const std::vector<int64_t>& out);

// The value of a [N, H, W, C]-like tensor padded explicitly by PAD (pad value: the zero point,
// which is what TFLite's quantized PAD writes) or PADV2 with `fill` (quantized units), for the
// given TFLite dimensions. Returns the padded tensor.
int pad_tensor(Context& c, int t, const std::vector<std::pair<int64_t, int64_t>>& pads_per_dim,
               std::optional<int64_t> fill = std::nullopt);

// The value range of an int8 / int16 activation tensor type ([-128, 127] / [-32768, 32767]).
struct IntRange {
  int64_t lo, hi;
};
IntRange int_range(fb::TensorType t);

// The quantization of a (per-tensor or per-channel) quantized tensor.
Quant quant_of(const Context& c, int t);

// `op` writing tensor `out` when its own output must carry quantization `op_quant` (TFLite's fixed
// output scales, pools that keep the input's): straight into `out` when that is `out`'s, else into
// a temporary with `op_quant` and a QUANTIZE into `out` (a second rounding).
void op_into_output(Context& c, fb::BuiltinOperator op, std::vector<int> inputs, int out, const Quant& op_quant,
                    fb::BuiltinOptionsUnion options, const std::string& temp_suffix);

// A QUANTIZE (requantize) of tensor `t` to quantization `q`, into a new tensor (or into `out`
// when given). Returns the output tensor.
int requantize(Context& c, int t, const Quant& q, int out = -1);

}  // namespace eq::tflite_export
