// Float islands (ExportOptions::float_fallback): ops the lowering left in float between
// dequantize and quantize nodes become float TFLite builtins, with DEQUANTIZE before and QUANTIZE
// after. Float activations are laid out like int8 ones (NHWC / [N, 1, L, C] for conv and pool
// tensors), so islands inside a conv network cost no TRANSPOSE.
//
// Constants read by float ops (f32 initializers and dequantized int8/int32 weights) are written
// in the order their reader needs (OHWI weights, [1, H, W, O] depthwise weights, broadcast
// operands permuted like the activation) when the reader asks, so each is stored once: a
// dequantize of a constant adds no operator, only the float values it stands for.
//
// This header holds what the float emitter files share (emit_float_util.cpp) and their
// registration functions, which register_float_emitters (emitters.h) calls:
//   emit_float_qdq.cpp          quantize / dequantize (island boundaries, dequantized constants)
//   emit_float_elementwise.cpp  unary, binary, activations, softmax, reductions, norms
//   emit_float_spatial.cpp      conv, conv_transpose, linear, matmul, pools, upsample
#pragma once
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "emitters.h"

namespace eq::tflite_export {

using Op = fb::BuiltinOperator;

inline constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";
inline constexpr const char* kDequantizeChannel = "quantized_decomposed.dequantize_per_channel.default";

template <class T>
fb::BuiltinOptionsUnion opts(T o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Names of the float ops the float emitter files emit (filled by register_float_emitters): a
// dequantized constant read only by them is written by its readers, in the layout each needs.
std::set<std::string>& float_op_names();

// ---- constants ----

// The float values of `v` when it is a constant: an f32 initializer, or a dequantize (per tensor
// or per channel) of a constant, computed as the fp32 dequantize kernel does so that the island
// reads exactly the weights our executor uses.
std::optional<Tensor> float_constant(const Context& c, int v);
bool is_constant_like(const Context& c, int v);
// `t` (IR order) rearranged for a TFLite tensor of layout `l` (dim k holds IR dim l[k]; -1: unit).
Tensor to_layout(const Tensor& t, const Layout& l);
// Constant value `v` as a tensor of layout `l` (same rank as v). The first request places the
// value (a dequantized constant exists nowhere else); later requests in the same layout reuse it.
int const_in(Context& c, int v, const Layout& l);
int float_tensor(Context& c, const std::string& nm, const Shape& s);

// ---- activations ----

struct Act {
  int t;
  Layout l;
};

// An input as placed (canonical when it carries a column permutation, which only FC readers
// undo). A dequantized constant read as data is placed in IR order.
Act input(Context& c, int v);

inline size_t rank_of(const Context& c, int v) { return c.g.value(v).shape.size(); }

void require_f32(Context& c, const Node& n);

void float_op(Context& c, Op op, std::vector<int> in, std::vector<int> out, fb::BuiltinOptionsUnion o = {});

// Reduction `op` of `x` over the TFLite `axes` (keep_dims = keep) into tensor `out`; returns out.
int reduce(Context& c, Op op, int x, const std::vector<int32_t>& axes, bool keep, int out, const std::string& nm);

// ---- registration ----

// Wraps a float op's emitter: checks its dtypes and reports the node as kept in float.
template <class F>
Emitter float_node(F f) {
  return [f](Context& c, const Node& n) {
    require_f32(c, n);
    c.report.float_nodes.push_back(n.name + " (" + n.op + ")");
    f(c, n);
  };
}

// The float ops of each family, into `f` (register_float_emitters records their names in
// float_op_names and moves them into the emitter table).
void register_float_elementwise_emitters(EmitterTable& f);  // emit_float_elementwise.cpp
void register_float_spatial_emitters(EmitterTable& f);      // emit_float_spatial.cpp
// Quantize / dequantize nodes, into the emitter table itself (emit_float_qdq.cpp).
void register_float_qdq_emitters(EmitterTable& t);

}  // namespace eq::tflite_export
