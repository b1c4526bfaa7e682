// The TFLite exporter's working state: the model being built (FlatBuffers object API over our
// schema subset), where each IR value lives in it (tensor + layout), and the helpers every op
// emitter uses. The driver (exporter.cpp) walks the lowered graph in topological order and calls
// one emitter per node (emitters.h); an emitter reads its inputs with `input()` / `in_layout()`,
// adds operators with `add_op()` and places its outputs with `place()`.
//
// Layout: TFLite dimension k of a placed value holds IR dimension src[k] (-1: an inserted unit
// dimension). NCHW activations of conv2d/pools are placed NHWC (src {0,2,3,1}); conv1d's [N,C,L]
// is placed [N,1,L,C] (src {0,-1,2,1}); everything else starts in the IR's own order (identity).
// Consumers that need another layout ask in_layout(), which adds a RESHAPE (when only unit
// dimensions move: same bytes) or a TRANSPOSE and caches the result per value and layout.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/tflite.h"
#include "tflite_subset_generated.h"

namespace eq::tflite_export {

namespace fb = ::tflite;
using Layout = std::vector<int>;

// Per-tensor or per-channel affine quantization of one TFLite tensor.
struct Quant {
  std::vector<float> scales;
  std::vector<int64_t> zero_points;
  int axis = 0;  // quantized_dimension (TFLite dimension) when per channel
  bool operator==(const Quant& o) const { return scales == o.scales && zero_points == o.zero_points && axis == o.axis; }
};
Quant per_tensor(float scale, int64_t zero_point);

// Where an IR value lives in the subgraph.
struct Placed {
  int tensor = -1;
  Layout src;  // TFLite dim k holds IR dim src[k]; -1 = inserted unit dim
  // Set only for a [N, K] value made by flattening an NHWC tensor without a TRANSPOSE, for
  // FULLY_CONNECTED readers: TFLite column j holds IR column column_perm[j] (the FC permutes its
  // weight columns to match). Other readers get the canonical order through in_layout().
  std::vector<int64_t> column_perm;
};

Layout identity_layout(size_t rank);
Layout nhwc_layout();            // {0, 2, 3, 1}: NCHW -> NHWC
Layout conv1d_layout();          // {0, -1, 2, 1}: [N, C, L] -> [N, 1, L, C]
bool is_identity(const Layout& l);
// TFLite shape of an IR shape placed with layout `l` (IR kBatch kept as kBatch).
Shape apply_layout(const Shape& ir, const Layout& l);
// The TFLite dimension holding IR dimension `ir_axis` (which must be present in `l`).
int tflite_axis(const Layout& l, int ir_axis);

fb::TensorType tensor_type(DType t);  // throws eq::Error for a dtype TFLite has no type for

class Context {
 public:
  Context(const Graph& g, const tflite::ExportOptions& options);

  const Graph& g;
  const tflite::ExportOptions& options;
  fb::ModelT model;  // operator_codes, buffers, subgraphs[0]
  fb::SubGraphT& sub() { return *model.subgraphs[0]; }
  tflite::ExportReport report;

  // ---- tensors ----
  // A tensor with TFLite shape `shape` (kBatch allowed: written as 1, with -1 in shape_signature).
  int add_tensor(const std::string& name, fb::TensorType type, const Shape& shape, const Quant* q = nullptr);
  // A constant tensor holding `bytes` (little-endian element data, already in TFLite order).
  int add_constant(const std::string& name, fb::TensorType type, const Shape& shape, const void* bytes, size_t n,
                   const Quant* q = nullptr);
  int add_constant(const std::string& name, const Tensor& t, const Quant* q = nullptr);  // t in TFLite order
  int const_i32(const std::string& name, const std::vector<int32_t>& v);  // 1-D int32 (axes, shapes, pads)
  int const_i32_2d(const std::string& name, const std::vector<int32_t>& v, int64_t rows, int64_t cols);
  const fb::TensorT& tensor(int t) const { return *model.subgraphs[0]->tensors.at(static_cast<size_t>(t)); }
  fb::TensorT& tensor(int t) { return *model.subgraphs[0]->tensors.at(static_cast<size_t>(t)); }
  Shape tensor_shape(int t) const;  // with kBatch where the signature has -1
  // Tensor t's quantization, nullopt for an unquantized tensor.
  std::optional<Quant> tensor_quant(int t) const;

  // ---- operators ----
  // `float_op`: counts the operator as float compute in the report (islands).
  void add_op(fb::BuiltinOperator op, std::vector<int> inputs, std::vector<int> outputs,
              fb::BuiltinOptionsUnion options = {}, bool float_op = false);
  // RESHAPE of tensor `from` into tensor `to` (new_shape: `to`'s shape, -1 for the batch).
  void add_reshape(int from, int to, bool float_op = false);

  // ---- values ----
  bool is_placed(int v) const { return placed_.count(v) != 0; }
  // The placement of IR value `v`. Constants are placed on first use in the IR order (f32 stays
  // f32; an int8/int16 constant behind no dequantize is written as it is). Throws if `v` is an
  // activation no emitter has produced yet.
  const Placed& placed(int v);
  void place(int v, Placed p);
  // Creates the output tensor of IR value `v` in `layout`, typed and quantized as the value is
  // (qparams(v) for int8/int16), places it and returns the tensor index.
  int new_output(int v, const Layout& layout, const std::string& suffix = "");
  // `v`'s data in `layout`: the placed tensor when it already is, else a cached RESHAPE (only unit
  // dimensions move) or TRANSPOSE (+ RESHAPE for inserted unit dims).
  int in_layout(int v, const Layout& layout);
  int canonical(int v) { return in_layout(v, identity_layout(g.value(v).shape.size())); }
  // A fresh tensor like tensor `t` (same shape/type) but with quantization `q`.
  int like(int t, const std::string& name, const Quant* q);

  // Quantization of an int8/int16 IR value (from the op that produced it, or the quantize node
  // that made it, or the op that reads it); nullopt for float values.
  std::optional<Quant> qparams(int v) const;
  void set_qparams(int v, const Quant& q) { qparams_[v] = q; }

  // Unique tensor name derived from `base`.
  std::string name(const std::string& base);

  // Readers of each IR value, and whether all readers are one of `ops`.
  const std::vector<std::vector<int>>& consumers() const { return consumers_; }
  bool only_read_by(int v, const std::vector<std::string>& ops) const;

  // Errors: "node 'X' (op): <what> has no TFLite equivalent" and the like.
  [[noreturn]] void fail(const Node& n, const std::string& what) const;

 private:
  std::map<int, Placed> placed_;
  std::map<std::pair<int, Layout>, int> layout_cache_;
  std::map<int, Quant> qparams_;
  std::map<fb::BuiltinOperator, uint32_t> opcode_index_;
  std::map<std::string, int> names_;
  std::vector<std::vector<int>> consumers_;
};

}  // namespace eq::tflite_export
