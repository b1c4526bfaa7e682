// lower_to_integer's machinery: reading the QDQ pattern around one float op and emitting the
// integer op that replaces it. The pass (src/quant/lower_to_integer.cpp) walks the original nodes;
// each family file (lower_*.cpp) lowers its ops with a `Lowerer` and returns whether it did.
//
// Rewriting rule: the integer op reads the int8 values the dequantize nodes read and produces the
// int8 value the quantize node produced (same value id and name), so downstream dequantize nodes
// keep working and per-layer tools still find the value. The replaced quantize node keeps no
// output; it, the float op and any dequantize left without readers are removed at the end.
//
// int16 mode (LowerOptions::int16_activations, for the TFLite 16x8 export): activations may also
// be int16 per tensor with zero point 0; each rule then requires all activation operands of its
// op (inputs and output) to have one dtype, so an op is int8 or 16x8 (int16 activations, int8
// weights, int64 bias), never mixed; only quantized.requantize converts between the two.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgequant/graph.h"

namespace eq::lowering {

inline constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
inline constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";
inline constexpr const char* kDequantizePerChannel = "quantized_decomposed.dequantize_per_channel.default";

struct QParam {
  float scale = 1.f;
  int32_t zp = 0;
  bool operator==(const QParam& o) const { return scale == o.scale && zp == o.zp; }
};

// An activation input read through a per-tensor int8 (int16 in int16 mode) dequantize.
struct ActIn {
  int q = -1;  // the int8 / int16 value the dequantize reads
  QParam qp;
  DType dtype = DType::i8;
};

// The quantize nodes reading an op output: every reader is a per-tensor int8 (int16 in int16 mode)
// quantize with the same qparams and dtype.
struct QOut {
  std::vector<int> q_nodes;  // the first one's output is taken over; the others are merged into it
  int value = -1;            // the first quantize's output value
  QParam qp;
  DType dtype = DType::i8;   // of the quantized value: i8, or i16 in int16 mode
};

// A weight read through an int8 dequantize, per tensor or per channel along axis 0, symmetric.
struct WeightIn {
  int value = -1;             // the constant int8 tensor
  std::vector<float> scales;  // 1 (per tensor) or one per output channel
};

// A float activation fused into the producing conv/linear/add (conv → act → Q).
struct FusedAct {
  int node = -1;     // the activation node, -1 for none
  std::string kind;  // "relu", "hardtanh", "sigmoid", "tanh" ("" for none)
  QOut out;          // the quantize after the activation (or after the op itself)
};

class Lowerer {
 public:
  Lowerer(Graph& g, bool int16_activations);

  Graph& g;
  bool int16 = false;                       // int16 activations are lowered too (LowerOptions)
  bool fuse_float_activations = true;       // conv/linear + sigmoid/tanh (LowerOptions)
  int original_nodes = 0;                   // nodes before lowering; only these are matched
  std::vector<std::vector<int>> consumers;  // readers of each original value (original nodes)
  std::vector<char> done;                   // original nodes already absorbed by a lowering

  const Node& node(int i) const { return g.nodes.at(static_cast<size_t>(i)); }
  bool is_graph_output(int v) const;

  // Per-tensor qparams of a quantize/dequantize node whose scale (and zero point, when given) are
  // constant scalars; the zero point's dtype must be `dtype`.
  std::optional<QParam> per_tensor_params(const Node& n, DType dtype) const;
  // The qparams of a per-tensor quantize/dequantize node whose quantized side has `dtype`, when
  // that is an activation dtype this pass lowers: i8, or in int16 mode i16 with zero point 0.
  std::optional<QParam> act_params(const Node& n, DType dtype) const;
  // `v` produced by a per-tensor int8 (int16 mode: or int16) dequantize.
  std::optional<ActIn> act_input(int v) const;
  // Every reader of `v` is a per-tensor int8 (int16 mode: or int16) quantize, all with one qparams
  // and dtype; `v` is no graph output.
  std::optional<QOut> quantized_output(int v) const;
  // `v` produced by a dequantize (per tensor, or per channel on axis 0) of a constant int8 tensor
  // with zero points 0, the scales having 1 or `channels` entries.
  std::optional<WeightIn> weight_input(int v, int64_t channels) const;
  // The int32 bias (`dtype` i32; i64 for a 16x8 op) for x_scale * w_scales: the dequantized int32
  // constant as it is (widened for i64) when its scale matches within 1e-6 relative (TFLite's
  // rule) and its zero point is 0, else re-quantized from its float value (round half to even).
  // A plain f32 constant bias (XNNPACK's static config) is quantized as ExecuTorch's XNNPACK
  // delegate does: scale f32(w_scale * x_scale), zero point 0, round_half_even(b * f32(1 / scale)).
  // Values saturate to the dtype. kNoValue for no bias; nullopt if the bias is not constant.
  std::optional<int> bias_input(int v, float x_scale, const std::vector<float>& w_scales, int64_t channels,
                                const Node& origin, DType dtype = DType::i32);
  // The output of `v` through an optional fused activation (`allowed`: relu, hardtanh, sigmoid,
  // tanh) and its quantize nodes.
  std::optional<FusedAct> fused_output(int v, const std::vector<std::string>& allowed) const;

  // Emits `op` (named after `origin`; pass a copy of the node, not a reference into g.nodes, which
  // this grows) producing `outputs` (value ids from take_over or new_value);
  // sets those values' producer and infers their dtype and shape. Returns the node index.
  int emit(const std::string& op, const Node& origin, std::vector<int> inputs, Attrs attrs, std::vector<int> outputs);
  // Detaches the quantize nodes of `out` (merging the extra ones into the first) and returns the
  // value the integer op is to produce.
  int take_over(const QOut& out);
  // A new int8 (or `dtype`) value named after `base`.
  int new_value(const std::string& base, DType dtype = DType::i8);
  // A new constant.
  int add_constant(const std::string& base, Tensor t);
  // Replaces every read of `from` (node inputs, graph outputs) by `to`.
  void replace_uses(int from, int to);
  // Emits quantized.requantize from the int8 / int16 value `v` (qparams `from`) into `out` (an
  // out_dtype attribute when its dtype differs from v's).
  void requantize_into(int v, const QParam& from, const QOut& out, const Node& origin);
};

// Qparams as attributes: <prefix>_scale (double, the f32 value) and <prefix>_zero_point (int).
void set_qparams(Attrs& a, const std::string& prefix, const QParam& q);
// TFLite CalculateActivationRangeQuantized for a fused relu / hardtanh (act_min, act_max attrs,
// within the output dtype's range: [-128, 127] or [-32768, 32767]); false if the range is empty.
bool set_act_range(Attrs& a, const FusedAct& f, const Graph& g);

// Family lowerings: each returns true when it replaced the node.
bool lower_conv_linear(Lowerer& L, int n);  // aten.conv1d/conv2d/linear
bool lower_dynamic_conv_linear(Lowerer& L, int n);  // same, activation quantized at run time (lower_dynamic.cpp)
bool lower_matmul(Lowerer& L, int n);       // aten.matmul
bool lower_add_mul(Lowerer& L, int n);      // aten.add.Tensor / aten.mul.Tensor
bool lower_lookup_table(Lowerer& L, int n); // unary elementwise (and binary with a scalar constant)
bool lower_unary_int16(Lowerer& L, int n);  // unary elementwise on int16 → quantized.unary
bool lower_pool_mean(Lowerer& L, int n);    // max/avg/adaptive pools, mean
bool lower_softmax(Lowerer& L, int n);      // aten.softmax.int
bool lower_cat(Lowerer& L, int n);          // aten.cat
bool lower_movement(Lowerer& L, int n);     // reshape family, slice, pad, split, index_select, clone
// Leftover dequantize → quantize pairs: requantize, or a rewire when the qparams are equal.
int lower_requantize_pairs(Lowerer& L);

}  // namespace eq::lowering
