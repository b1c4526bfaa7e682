// Float islands (ExportOptions::float_fallback): ops the lowering left in float between
// dequantize and quantize nodes become float TFLite builtins, with DEQUANTIZE before and QUANTIZE
// after. Float activations are laid out like int8 ones (NHWC / [N, 1, L, C] for conv and pool
// tensors), so islands inside a conv network cost no TRANSPOSE.
//
// Constants read by float ops (f32 initializers and dequantized int8/int32 weights) are written
// in the order their reader needs (OHWI weights, [1, H, W, O] depthwise weights, broadcast
// operands permuted like the activation) when the reader asks, so each is stored once: a
// dequantize of a constant adds no operator, only the float values it stands for.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include "edgequant/error.h"
#include "emitters.h"

namespace eq::tflite_export {
namespace {

using Op = fb::BuiltinOperator;

constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kQuantizeChannel = "quantized_decomposed.quantize_per_channel.default";
constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";
constexpr const char* kDequantizeChannel = "quantized_decomposed.dequantize_per_channel.default";

template <class T>
fb::BuiltinOptionsUnion opts(T o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Names of the float ops this file emits (filled by register_float_emitters): a dequantized
// constant read only by them is written by its readers, in the layout each needs.
std::set<std::string>& float_op_names() {
  static std::set<std::string> names;
  return names;
}

// ---- constants ----

// The float values of `v` when it is a constant: an f32 initializer, or a dequantize (per tensor
// or per channel) of a constant, computed as the fp32 dequantize kernel does so that the island
// reads exactly the weights our executor uses.
std::optional<Tensor> float_constant(const Context& c, int v) {
  if (v == kNoValue) return std::nullopt;
  const Value& val = c.g.value(v);
  if (val.constant) {
    if (val.constant->dtype() == DType::f32) return *val.constant;
    return std::nullopt;
  }
  if (val.producer < 0) return std::nullopt;
  const Node& n = c.g.nodes.at(static_cast<size_t>(val.producer));
  if (n.op != kDequantize && n.op != kDequantizeChannel) return std::nullopt;
  const int q = n.inputs.at(0), s = n.inputs.at(1), z = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  if (!c.g.is_constant(q) || !c.g.is_constant(s) || (z != kNoValue && !c.g.is_constant(z))) return std::nullopt;
  const Tensor& qt = *c.g.value(q).constant;
  const std::vector<double> qv = qt.to_double_vector();
  const Tensor& st = *c.g.value(s).constant;
  const float* scale = st.data<float>();
  const std::vector<int64_t> zp = z == kNoValue ? std::vector<int64_t>(static_cast<size_t>(st.numel()), 0)
                                                : c.g.value(z).constant->to_int64_vector();
  // Channel index of flat element i: (i / inner) % channels.
  int64_t channels = 1, inner = 1;
  if (n.op == kDequantizeChannel) {
    const int axis = normalize_axis(n.attrs.i("axis", 1), qt.rank(), n.describe());
    channels = qt.dim(axis);
    for (int64_t d = axis + 1; d < qt.rank(); ++d) inner *= qt.dim(d);
  }
  Tensor out(DType::f32, qt.shape());
  float* o = out.data<float>();
  for (int64_t i = 0; i < qt.numel(); ++i) {
    const size_t ch = static_cast<size_t>((i / inner) % channels);
    const float sc = scale[ch];
    if (qt.dtype() == DType::i32) {  // numpy promotes the int32 zero point: f64 arithmetic
      o[i] = static_cast<float>((static_cast<double>(static_cast<float>(qv[static_cast<size_t>(i)])) -
                                 static_cast<double>(zp[ch])) * static_cast<double>(sc));
    } else {
      o[i] = (static_cast<float>(qv[static_cast<size_t>(i)]) - static_cast<float>(zp[ch])) * sc;
    }
  }
  return out;
}

bool is_constant_like(const Context& c, int v) { return float_constant(c, v).has_value(); }

// `t` (IR order) rearranged for a TFLite tensor of layout `l` (dim k holds IR dim l[k]; -1: unit).
Tensor to_layout(const Tensor& t, const Layout& l) {
  const Shape& s = t.shape();
  const Shape ts = apply_layout(s, l);
  std::vector<int64_t> ir_stride(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) ir_stride[d - 1] = ir_stride[d] * s[d];
  std::vector<int64_t> src_stride(ts.size(), 0);  // IR stride of each TFLite dim
  for (size_t k = 0; k < l.size(); ++k)
    if (l[k] >= 0) src_stride[k] = ir_stride[static_cast<size_t>(l[k])];
  Tensor out(DType::f32, ts);
  const float* from = t.data<float>();
  float* to = out.data<float>();
  std::vector<int64_t> idx(ts.size(), 0);
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < ts.size(); ++k) off += idx[k] * src_stride[k];
    to[i] = from[off];
    for (size_t k = ts.size(); k-- > 0;) {
      if (++idx[k] < ts[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

// Constant value `v` as a tensor of layout `l` (same rank as v). The first request places the
// value (a dequantized constant exists nowhere else); later requests in the same layout reuse it.
int const_in(Context& c, int v, const Layout& l) {
  if (c.is_placed(v)) {
    const Placed& p = c.placed(v);
    if (p.src == l && p.column_perm.empty()) return p.tensor;
  }
  const std::optional<Tensor> t = float_constant(c, v);
  check(t.has_value(), "internal: TFLite export: value '" + c.g.value(v).name + "' is not a float constant");
  const int out = c.add_constant(c.g.value(v).name, to_layout(*t, l));
  if (!c.is_placed(v)) c.place(v, Placed{out, l, {}});
  return out;
}

// Constant `v` broadcast against an IR output of rank `rank` placed with layout `l`: numpy
// alignment (leading unit dims), then permuted like the output.
int broadcast_const(Context& c, int v, size_t rank, const Layout& l) {
  const std::optional<Tensor> t = float_constant(c, v);
  check(t.has_value(), "internal: TFLite export: value '" + c.g.value(v).name + "' is not a float constant");
  if (t->shape().size() == rank) return const_in(c, v, l);
  Shape s(rank - t->shape().size(), 1);
  s.insert(s.end(), t->shape().begin(), t->shape().end());
  return c.add_constant(c.g.value(v).name, to_layout(t->reshaped(s), l));
}

int scalar_const(Context& c, const std::string& nm, float v) {
  return c.add_constant(nm, fb::TensorType::FLOAT32, {1}, &v, sizeof v);
}

int float_tensor(Context& c, const std::string& nm, const Shape& s) { return c.add_tensor(nm, fb::TensorType::FLOAT32, s); }

// ---- activations ----

struct Act {
  int t;
  Layout l;
};

// An input as placed (canonical when it carries a column permutation, which only FC readers
// undo). A dequantized constant read as data is placed in IR order.
Act input(Context& c, int v) {
  if (!c.is_placed(v) && !c.g.is_constant(v) && is_constant_like(c, v))
    return {const_in(c, v, identity_layout(c.g.value(v).shape.size())), identity_layout(c.g.value(v).shape.size())};
  const Placed& p = c.placed(v);
  if (!p.column_perm.empty()) {
    const size_t r = c.g.value(v).shape.size();
    return {c.canonical(v), identity_layout(r)};
  }
  return {p.tensor, p.src};
}

// Input `v` in layout `l`: constants written so, activations moved by the context.
int input_in(Context& c, int v, const Layout& l) {
  if (!c.is_placed(v) && is_constant_like(c, v)) return const_in(c, v, l);
  return c.in_layout(v, l);
}

size_t rank_of(const Context& c, int v) { return c.g.value(v).shape.size(); }

void require_f32(Context& c, const Node& n) {
  for (int v : n.inputs)
    if (v != kNoValue && c.g.value(v).dtype != DType::f32 && !is_constant_like(c, v))
      c.fail(n, "float TFLite op with a " + std::string(dtype_name(c.g.value(v).dtype)) + " input '" +
                    c.g.value(v).name + "'");
  for (int v : n.outputs)
    if (c.g.value(v).dtype != DType::f32)
      c.fail(n, "float TFLite op with a " + std::string(dtype_name(c.g.value(v).dtype)) + " output");
}

void float_op(Context& c, Op op, std::vector<int> in, std::vector<int> out, fb::BuiltinOptionsUnion o = {}) {
  c.add_op(op, std::move(in), std::move(out), std::move(o), true);
}

// ---- quantize / dequantize ----

void emit_quantize(Context& c, const Node& n) {
  const int y = n.outputs.at(0);
  if (!c.qparams(y))
    c.fail(n, "a quantize whose scale is not a constant (dynamic quantization) has no TFLite QUANTIZE form");
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(y, a.l);
  c.add_op(Op::QUANTIZE, {a.t}, {out}, opts(fb::QuantizeOptionsT{}), true);
}

// Every reader of `v` is a float op of this file (so it writes the constant itself) and `v` is
// no model output.
bool read_only_by_float_ops(const Context& c, int v) {
  if (std::find(c.g.outputs.begin(), c.g.outputs.end(), v) != c.g.outputs.end()) return false;
  for (int r : c.consumers().at(static_cast<size_t>(v)))
    if (!float_op_names().count(c.g.nodes.at(static_cast<size_t>(r)).op)) return false;
  return true;
}

void emit_dequantize(Context& c, const Node& n) {
  const int q = n.inputs.at(0), y = n.outputs.at(0);
  if (is_constant_like(c, y)) {
    // Weights, bias or a constant operand: no operator. Float readers write the values in the
    // layout they need; anything else reads them in IR order.
    if (!read_only_by_float_ops(c, y)) const_in(c, y, identity_layout(rank_of(c, y)));
    return;
  }
  if (n.op == kDequantizeChannel) c.fail(n, "a per-channel dequantize of an activation has no TFLite equivalent");
  const Act a = input(c, q);
  const fb::TensorT& qt = c.tensor(a.t);
  // The IR dequantizes with the node's qparams; TFLite's DEQUANTIZE with the tensor's.
  const Value& sv = c.g.value(n.inputs.at(1));
  if (!sv.constant) c.fail(n, "a dequantize whose scale is not a constant (dynamic quantization) has no TFLite form");
  const float scale = sv.constant->data<float>()[0];
  const int64_t zp = n.inputs.size() > 2 && n.inputs[2] != kNoValue && c.g.is_constant(n.inputs[2])
                         ? c.g.value(n.inputs[2]).constant->to_int64_vector().at(0)
                         : 0;
  if (!qt.quantization || qt.quantization->scale.size() != 1 || qt.quantization->scale[0] != scale ||
      qt.quantization->zero_point.at(0) != zp)
    c.fail(n, "dequantizes '" + c.g.value(q).name + "' with qparams other than the ones it was written with");
  const int out = c.new_output(y, a.l);
  c.add_op(Op::DEQUANTIZE, {a.t}, {out}, opts(fb::DequantizeOptionsT{}), true);
}

// ---- elementwise ----

using OptionsFn = fb::BuiltinOptionsUnion (*)();

void emit_unary(Context& c, const Node& n, Op op, OptionsFn o = nullptr) {
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  float_op(c, op, {a.t}, {out}, o ? o() : fb::BuiltinOptionsUnion{});
}

// Layout of a binary op's output: that of its first full-rank activation operand (an island in
// an NHWC network stays NHWC), or IR order when an activation needs numpy broadcasting.
Layout binary_layout(Context& c, const Node& n, const std::vector<int>& operands) {
  const size_t rank = rank_of(c, n.outputs.at(0));
  std::optional<Layout> l;
  for (int v : operands) {
    if (is_constant_like(c, v)) continue;
    if (rank_of(c, v) != rank) return identity_layout(rank);
    if (!l) l = input(c, v).l;
  }
  return l ? *l : identity_layout(rank);
}

int operand(Context& c, int v, size_t rank, const Layout& l) {
  if (is_constant_like(c, v)) return broadcast_const(c, v, rank, l);
  if (rank_of(c, v) == rank) return c.in_layout(v, l);
  return c.canonical(v);  // l is IR order: TFLite broadcasts like numpy
}

void emit_binary(Context& c, const Node& n, Op op, OptionsFn o) {
  const size_t rank = rank_of(c, n.outputs.at(0));
  const std::vector<int> ops{n.inputs.at(0), n.inputs.at(1)};
  const Layout l = binary_layout(c, n, ops);
  const int a = operand(c, ops[0], rank, l), b = operand(c, ops[1], rank, l);
  const int out = c.new_output(n.outputs.at(0), l);
  float_op(c, op, {a, b}, {out}, o());
}

fb::BuiltinOptionsUnion add_opts() { return opts(fb::AddOptionsT{}); }
fb::BuiltinOptionsUnion sub_opts() { return opts(fb::SubOptionsT{}); }
fb::BuiltinOptionsUnion mul_opts() { return opts(fb::MulOptionsT{}); }
fb::BuiltinOptionsUnion div_opts() { return opts(fb::DivOptionsT{}); }
fb::BuiltinOptionsUnion pow_opts() { return opts(fb::PowOptionsT{}); }
fb::BuiltinOptionsUnion minmax_opts() { return opts(fb::MaximumMinimumOptionsT{}); }

// y = op(x, constant scalar) into tensor `out` (a new tensor like x when -1).
int with_scalar(Context& c, int x, Op op, OptionsFn o, float k, const std::string& nm, int out = -1) {
  if (out < 0) out = float_tensor(c, nm, c.tensor_shape(x));
  float_op(c, op, {x, scalar_const(c, nm + "_k", k)}, {out}, o());
  return out;
}

void emit_hardtanh(Context& c, const Node& n) {
  const double lo = n.attrs.f("min_val", -1.0), hi = n.attrs.f("max_val", 1.0);
  if (lo == 0 && hi == 6) return emit_unary(c, n, Op::RELU6);
  if (lo == 0 && std::isinf(hi) && hi > 0) return emit_unary(c, n, Op::RELU);
  if (lo == -1 && hi == 1) return emit_unary(c, n, Op::RELU_N1_TO_1);
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  const bool has_lo = std::isfinite(lo) || !std::isfinite(hi);  // at least one op
  int t = a.t;
  if (has_lo) t = with_scalar(c, t, Op::MAXIMUM, minmax_opts, static_cast<float>(lo), n.name + "_min",
                              std::isfinite(hi) ? -1 : out);
  if (std::isfinite(hi)) with_scalar(c, t, Op::MINIMUM, minmax_opts, static_cast<float>(hi), n.name + "_max", out);
}

// hardsigmoid = clamp(alpha x + beta, 0, 1).
void emit_hardsigmoid(Context& c, const Node& n) {
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  int t = with_scalar(c, a.t, Op::MUL, mul_opts, static_cast<float>(n.attrs.f("alpha", 1.0 / 6)), n.name + "_alpha");
  t = with_scalar(c, t, Op::ADD, add_opts, static_cast<float>(n.attrs.f("beta", 0.5)), n.name + "_beta");
  t = with_scalar(c, t, Op::MAXIMUM, minmax_opts, 0.f, n.name + "_lo");
  with_scalar(c, t, Op::MINIMUM, minmax_opts, 1.f, n.name + "_hi", out);
}

void emit_reciprocal(Context& c, const Node& n) {
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  float_op(c, Op::DIV, {scalar_const(c, n.name + "_one", 1.f), a.t}, {out}, div_opts());
}

void emit_gelu(Context& c, const Node& n) {
  const std::string approx = n.attrs.s("approximate", "none");
  if (approx != "none" && approx != "tanh") c.fail(n, "gelu approximation '" + approx + "' has no TFLite equivalent");
  fb::GeluOptionsT o;
  o.approximate = approx == "tanh";
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  float_op(c, Op::GELU, {a.t}, {out}, opts(o));
}

void emit_leaky_relu(Context& c, const Node& n) {
  fb::LeakyReluOptionsT o;
  o.alpha = static_cast<float>(n.attrs.f("negative_slope", 0.01));
  const Act a = input(c, n.inputs.at(0));
  const int out = c.new_output(n.outputs.at(0), a.l);
  float_op(c, Op::LEAKY_RELU, {a.t}, {out}, opts(o));
}

void emit_prelu(Context& c, const Node& n) {
  const size_t rank = rank_of(c, n.outputs.at(0));
  const int x = n.inputs.at(0), slope = n.inputs.at(1);
  const Act a = input(c, x);
  int s = -1;
  if (is_constant_like(c, slope)) s = broadcast_const(c, slope, rank, a.l);
  else if (rank_of(c, slope) == rank) s = c.in_layout(slope, a.l);
  else c.fail(n, "a non-constant slope of lower rank than x has no TFLite PRELU form");
  const int out = c.new_output(n.outputs.at(0), a.l);
  float_op(c, Op::PRELU, {a.t, s}, {out});
}

// Softmax / log-softmax over `dim`: TFLite's run over the last dimension, so the input is laid
// out with `dim` last (a TRANSPOSE only when it is not already).
void emit_softmax(Context& c, const Node& n, bool log) {
  const int x = n.inputs.at(0);
  const int dim = normalize_axis(n.attrs.i("dim"), static_cast<int64_t>(rank_of(c, x)), n.describe());
  Layout l = input(c, x).l;
  if (l.empty() || l.back() != dim) {
    l.erase(std::remove(l.begin(), l.end(), dim), l.end());
    l.push_back(dim);
  }
  const int t = c.in_layout(x, l);
  const int out = c.new_output(n.outputs.at(0), l);
  if (log) {
    float_op(c, Op::LOG_SOFTMAX, {t}, {out}, opts(fb::LogSoftmaxOptionsT{}));
  } else {
    fb::SoftmaxOptionsT o;
    o.beta = 1.f;
    float_op(c, Op::SOFTMAX, {t}, {out}, opts(o));
  }
}

// ---- reductions and normalisation ----

// TFLite axes of IR dims `dims` in layout l.
std::vector<int32_t> axes_of(const Layout& l, const std::vector<int>& dims) {
  std::vector<int32_t> axes;
  for (int d : dims) axes.push_back(tflite_axis(l, d));
  std::sort(axes.begin(), axes.end());
  return axes;
}

// `shape` with the given TFLite axes set to 1 (a keep-dims reduction's output).
Shape reduced_shape(Shape shape, const std::vector<int32_t>& axes) {
  for (int32_t a : axes) shape[static_cast<size_t>(a)] = 1;
  return shape;
}

int reduce(Context& c, Op op, int x, const std::vector<int32_t>& axes, bool keep, int out, const std::string& nm) {
  fb::ReducerOptionsT o;
  o.keep_dims = keep;
  float_op(c, op, {x, c.const_i32(nm + "_axes", axes)}, {out}, opts(o));
  return out;
}

void emit_reduction(Context& c, const Node& n, Op op) {
  const int x = n.inputs.at(0);
  const int64_t rank = static_cast<int64_t>(rank_of(c, x));
  std::vector<int> dims;
  for (int64_t d : n.attrs.ints("dim", {})) dims.push_back(normalize_axis(d, rank, n.describe()));
  if (dims.empty())
    for (int d = 0; d < rank; ++d) dims.push_back(d);
  std::sort(dims.begin(), dims.end());
  dims.erase(std::unique(dims.begin(), dims.end()), dims.end());
  const bool keep = n.attrs.i("keepdim", 0) != 0;
  const Act a = input(c, x);
  std::vector<int32_t> axes = axes_of(a.l, dims);
  Layout out_l;
  if (keep) {
    out_l = a.l;
  } else {
    // Inserted unit dims go with the reduced ones; the remaining IR dims are renumbered.
    axes.clear();
    for (size_t k = 0; k < a.l.size(); ++k) {
      const int src = a.l[k];
      if (src < 0 || std::find(dims.begin(), dims.end(), src) != dims.end()) {
        axes.push_back(static_cast<int32_t>(k));
        continue;
      }
      out_l.push_back(src - static_cast<int>(std::count_if(dims.begin(), dims.end(), [&](int d) { return d < src; })));
    }
  }
  const int out = c.new_output(n.outputs.at(0), out_l);
  reduce(c, op, a.t, axes, keep, out, n.name);
}

// layer_norm over IR dims axis..rank-1: mean, variance as the mean squared difference, then
// (x - mean) * rsqrt(var + eps) * weight + bias; each step a float builtin.
void emit_layer_norm(Context& c, const Node& n) {
  const int x = n.inputs.at(0);
  const int rank = static_cast<int>(rank_of(c, x));
  const int axis = normalize_axis(n.attrs.i("axis", rank - 1), rank, n.describe());
  const int w = n.inputs.size() > 1 ? n.inputs[1] : kNoValue, b = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  const Act a = input(c, x);
  std::vector<int> dims;
  for (int d = axis; d < rank; ++d) dims.push_back(d);
  const std::vector<int32_t> axes = axes_of(a.l, dims);
  const Shape xs = c.tensor_shape(a.t), rs = reduced_shape(xs, axes);
  const std::string nm = n.name;
  const int out = c.new_output(n.outputs.at(0), a.l);

  const int mean = reduce(c, Op::MEAN, a.t, axes, true, float_tensor(c, nm + "_mean", rs), nm + "_mean");
  const int sqd = float_tensor(c, nm + "_sqdiff", xs);
  float_op(c, Op::SQUARED_DIFFERENCE, {a.t, mean}, {sqd}, opts(fb::SquaredDifferenceOptionsT{}));
  const int var = reduce(c, Op::MEAN, sqd, axes, true, float_tensor(c, nm + "_var", rs), nm + "_var");
  const int ve = with_scalar(c, var, Op::ADD, add_opts, static_cast<float>(n.attrs.f("eps", 1e-5)), nm + "_var_eps");
  const int inv = float_tensor(c, nm + "_rstd", rs);
  float_op(c, Op::RSQRT, {ve}, {inv});
  const int centered = float_tensor(c, nm + "_centered", xs);
  float_op(c, Op::SUB, {a.t, mean}, {centered}, sub_opts());
  const bool has_w = w != kNoValue, has_b = b != kNoValue;
  auto param = [&](int v) {
    if (is_constant_like(c, v)) return broadcast_const(c, v, static_cast<size_t>(rank), a.l);
    if (rank_of(c, v) == static_cast<size_t>(rank)) return c.in_layout(v, a.l);
    c.fail(n, "a non-constant weight/bias of lower rank than x has no TFLite form here");
  };
  int t = float_tensor(c, nm + "_normed", xs);
  if (!has_w && !has_b) t = out;
  float_op(c, Op::MUL, {centered, inv}, {t}, mul_opts());
  if (has_w) {
    const int tw = has_b ? float_tensor(c, nm + "_scaled", xs) : out;
    float_op(c, Op::MUL, {t, param(w)}, {tw}, mul_opts());
    t = tw;
  }
  if (has_b) float_op(c, Op::ADD, {t, param(b)}, {out}, add_opts());
}

// Inference batch norm: x * scale[c] + shift[c] with the constants folded as the fp32 kernel does.
void emit_batch_norm(Context& c, const Node& n) {
  const int x = n.inputs.at(0);
  std::vector<Tensor> p;
  for (size_t i = 1; i <= 4; ++i) {
    std::optional<Tensor> t = float_constant(c, n.inputs.at(i));
    if (!t) c.fail(n, "batch norm with non-constant parameters has no TFLite form");
    p.push_back(*t);
  }
  const size_t rank = rank_of(c, x);
  if (rank < 2) c.fail(n, "batch norm of a rank < 2 input");
  const int64_t ch = c.g.value(x).shape[1];
  const double eps = n.attrs.f("eps", 1e-5);
  Shape cs(rank, 1);
  cs[1] = ch;
  Tensor scale(DType::f32, cs), shift(DType::f32, cs);
  for (int64_t k = 0; k < ch; ++k) {
    const double s = static_cast<double>(p[0].data<float>()[k]) / std::sqrt(static_cast<double>(p[3].data<float>()[k]) + eps);
    scale.data<float>()[k] = static_cast<float>(s);
    shift.data<float>()[k] =
        static_cast<float>(static_cast<double>(p[1].data<float>()[k]) - static_cast<double>(p[2].data<float>()[k]) * s);
  }
  const Act a = input(c, x);
  const int out = c.new_output(n.outputs.at(0), a.l);
  const int st = c.add_constant(n.name + "_scale", to_layout(scale, a.l));
  const int sh = c.add_constant(n.name + "_shift", to_layout(shift, a.l));
  const int t = float_tensor(c, n.name + "_scaled", c.tensor_shape(a.t));
  float_op(c, Op::MUL, {a.t, st}, {t}, mul_opts());
  float_op(c, Op::ADD, {t, sh}, {out}, add_opts());
}

// ---- conv / linear / matmul ----

// Spatial geometry over TFLite's (H, W): conv1d/pool1d run with a unit height.
struct Geometry {
  std::vector<int64_t> in, k, stride, dil, out;
  std::vector<Pad1d> pad;
};

Geometry geometry(const Node& n, const Shape& xs, const Shape& ys, const std::vector<int64_t>& kernel, bool one_d) {
  const size_t sp = one_d ? 1 : 2;
  std::vector<int64_t> stride = n.attrs.ints("stride", std::vector<int64_t>(sp, 1));
  if (stride.empty()) stride = kernel;  // ATen pools: an empty stride is the kernel size
  const std::vector<int64_t> dil = n.attrs.ints("dilation", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> pad = n.attrs.ints("padding", std::vector<int64_t>(2 * sp, 0));
  if (pad.size() == sp) pad.insert(pad.end(), pad.begin(), pad.end());
  Geometry g;
  if (one_d) {
    g = Geometry{{1}, {1}, {1}, {1}, {1}, {Pad1d{0, 0}}};
  }
  const size_t r = xs.size();
  for (size_t d = 0; d < sp; ++d) {
    g.in.push_back(xs.at(r - sp + d));
    g.k.push_back(kernel.at(d));
    g.stride.push_back(stride.at(d));
    g.dil.push_back(dil.at(d));
    g.out.push_back(ys.at(r - sp + d));
    g.pad.push_back(Pad1d{pad.at(d), pad.at(sp + d)});
  }
  return g;
}

std::vector<int64_t> effective_kernel(const Geometry& g) {
  std::vector<int64_t> ek;
  for (size_t d = 0; d < g.k.size(); ++d) ek.push_back((g.k[d] - 1) * g.dil[d] + 1);
  return ek;
}

// The input padded explicitly (PAD, zeros) unless SAME/VALID expresses the geometry.
std::pair<int, fb::Padding> padded_input(Context& c, int x, const Geometry& g) {
  if (const auto mode = tflite_padding(g.in, effective_kernel(g), g.stride, g.pad, g.out)) return {x, *mode};
  return {pad_tensor(c, x, {{0, 0}, {g.pad[0].begin, g.pad[0].end}, {g.pad[1].begin, g.pad[1].end}, {0, 0}}),
          fb::Padding::VALID};
}

int bias_or_zeros(Context& c, const Node& n, int64_t channels) {
  const int b = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  if (b != kNoValue) {
    if (!is_constant_like(c, b)) c.fail(n, "a non-constant bias has no TFLite form");
    return const_in(c, b, identity_layout(1));
  }
  const std::vector<float> zeros(static_cast<size_t>(channels), 0.f);
  return c.add_constant(n.name + "_bias", fb::TensorType::FLOAT32, {channels}, zeros.data(), zeros.size() * sizeof(float));
}

void emit_conv(Context& c, const Node& n, bool one_d) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  const std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a conv with non-constant weights has no TFLite form");
  const Shape& xs = c.g.value(x).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a conv without a batch dimension");
  const int64_t cin = xs[1], cout = wt->dim(0), cin_g = wt->dim(1), groups = n.attrs.i("groups", 1);
  const std::vector<int64_t> kernel(wt->shape().begin() + 2, wt->shape().end());
  const Geometry g = geometry(n, xs, c.g.value(y).shape, kernel, one_d);
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  const bool depthwise = groups > 1 && groups == cin && cin_g == 1;
  if (groups != 1 && !depthwise)
    c.fail(n, "a grouped conv (groups " + std::to_string(groups) + ", not depthwise) has no TFLite builtin");
  // OHWI weights ([O, I, kh, kw] placed like an NHWC activation); depthwise [1, kh, kw, O].
  const Layout wl = depthwise ? (one_d ? Layout{1, -1, 2, 0} : Layout{1, 2, 3, 0}) : l;
  const int wtensor = const_in(c, w, wl);
  const int bt = bias_or_zeros(c, n, cout);
  const auto [xin, padding] = padded_input(c, c.in_layout(x, l), g);
  const int out = c.new_output(y, l);
  if (depthwise) {
    fb::DepthwiseConv2DOptionsT o;
    o.padding = padding;
    o.stride_h = static_cast<int32_t>(g.stride[0]);
    o.stride_w = static_cast<int32_t>(g.stride[1]);
    o.depth_multiplier = static_cast<int32_t>(cout / cin);
    o.dilation_h_factor = static_cast<int32_t>(g.dil[0]);
    o.dilation_w_factor = static_cast<int32_t>(g.dil[1]);
    float_op(c, Op::DEPTHWISE_CONV_2D, {xin, wtensor, bt}, {out}, opts(o));
  } else {
    fb::Conv2DOptionsT o;
    o.padding = padding;
    o.stride_h = static_cast<int32_t>(g.stride[0]);
    o.stride_w = static_cast<int32_t>(g.stride[1]);
    o.dilation_h_factor = static_cast<int32_t>(g.dil[0]);
    o.dilation_w_factor = static_cast<int32_t>(g.dil[1]);
    float_op(c, Op::CONV_2D, {xin, wtensor, bt}, {out}, opts(o));
  }
}

// conv_transpose -> TRANSPOSE_CONV (groups 1, no dilation). TFLite scatters input row i to output
// rows i * stride - pad + k, pad from SAME/VALID over the output size it is given; a padding
// SAME does not give is a VALID result (pad 0) over a larger output, cropped with a SLICE. The
// output size is a constant: the batch is fixed at 1 (a symbolic batch cannot be resized).
void emit_conv_transpose(Context& c, const Node& n, bool one_d) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  const std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a transposed conv with non-constant weights has no TFLite form");
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a transposed conv without a batch dimension");
  if (n.attrs.i("groups", 1) != 1) c.fail(n, "a grouped transposed conv has no TFLite builtin");
  const size_t sp = one_d ? 1 : 2;
  for (int64_t d : n.attrs.ints("dilation", std::vector<int64_t>(sp, 1)))
    if (d != 1) c.fail(n, "a dilated transposed conv has no TFLite builtin");
  const int64_t cout = wt->dim(1);
  const std::vector<int64_t> kernel(wt->shape().begin() + 2, wt->shape().end());
  // Geometry over (H, W) of the output: TFLite's padding is computed from the output size.
  Geometry g = geometry(n, xs, ys, kernel, one_d);
  // TFLite checks that its padding maps the output size back to the input size: SAME needs
  // ceil(out / stride) == in, VALID (out - k) / stride + 1 == in.
  bool same = true;
  std::vector<int64_t> full(2), begin(2);
  bool crop = false;
  for (size_t d = 0; d < 2; ++d) {
    const int64_t out = g.out[d], s = g.stride[d], k = g.k[d], pb = g.pad[d].begin, in = g.in[d];
    const int64_t total = std::max<int64_t>(((out + s - 1) / s - 1) * s + k - out, 0);
    same = same && pb == total / 2 && (out + s - 1) / s == in;
    full[d] = std::max(out + pb, (in - 1) * s + k);
    begin[d] = pb;
    crop = crop || full[d] != out || pb != 0;
  }
  if (same) crop = false;
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  const int xt = c.in_layout(x, l);
  const int wtensor = const_in(c, w, one_d ? Layout{1, -1, 2, 0} : Layout{1, 2, 3, 0});  // [O, kh, kw, I]
  const int bt = bias_or_zeros(c, n, cout);
  const Shape out_shape = apply_layout(ys, l);
  Shape conv_shape = out_shape;
  if (crop) {
    conv_shape[1] = full[0];
    conv_shape[2] = full[1];
  }
  std::vector<int32_t> dims;
  for (int64_t d : conv_shape) dims.push_back(d == kBatch ? 1 : static_cast<int32_t>(d));
  const int shape_t = c.const_i32(n.name + "_output_shape", dims);
  const int out = c.new_output(y, l);
  const int conv_out = crop ? float_tensor(c, n.name + "_uncropped", conv_shape) : out;
  fb::TransposeConvOptionsT o;
  o.padding = same ? fb::Padding::SAME : fb::Padding::VALID;
  o.stride_h = static_cast<int32_t>(g.stride[0]);
  o.stride_w = static_cast<int32_t>(g.stride[1]);
  float_op(c, Op::TRANSPOSE_CONV, {shape_t, wtensor, xt, bt}, {conv_out}, opts(o));
  if (crop) {
    std::vector<int32_t> size;
    for (int64_t d : out_shape) size.push_back(d == kBatch ? -1 : static_cast<int32_t>(d));
    const int b = c.const_i32(n.name + "_crop_begin", {0, static_cast<int32_t>(begin[0]), static_cast<int32_t>(begin[1]), 0});
    float_op(c, Op::SLICE, {conv_out, b, c.const_i32(n.name + "_crop_size", size)}, {out}, opts(fb::SliceOptionsT{}));
  }
}

void emit_linear(Context& c, const Node& n) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a linear with non-constant weights has no TFLite FULLY_CONNECTED form");
  const size_t rank = rank_of(c, x);
  const int64_t out_f = wt->dim(0), in_f = wt->dim(1);
  int xt;
  Layout l;
  const Placed& p = c.placed(x);
  int wtensor;
  if (!p.column_perm.empty() && is_identity(p.src) && rank == 2) {
    // Flattened from NHWC without a TRANSPOSE: permute the weight columns instead.
    xt = p.tensor;
    l = p.src;
    Tensor pw(DType::f32, wt->shape());
    for (int64_t o = 0; o < out_f; ++o)
      for (int64_t j = 0; j < in_f; ++j)
        pw.data<float>()[o * in_f + j] = wt->data<float>()[o * in_f + p.column_perm.at(static_cast<size_t>(j))];
    wtensor = c.add_constant(c.g.value(w).name, pw);
  } else {
    // FULLY_CONNECTED reduces the last TFLite dim: any layout keeping the IR's last dim last.
    l = input(c, x).l;
    if (l.empty() || l.back() != static_cast<int>(rank) - 1) l = identity_layout(rank);
    xt = c.in_layout(x, l);
    wtensor = const_in(c, w, identity_layout(2));
  }
  const int bt = bias_or_zeros(c, n, out_f);
  const int out = c.new_output(y, l);
  fb::FullyConnectedOptionsT o;
  o.keep_num_dims = rank != 2;
  float_op(c, Op::FULLY_CONNECTED, {xt, wtensor, bt}, {out}, opts(o));
}

void emit_matmul(Context& c, const Node& n) {
  const int a = n.inputs.at(0), b = n.inputs.at(1);
  if (rank_of(c, a) < 2 || rank_of(c, b) < 2) c.fail(n, "BATCH_MATMUL needs operands of rank >= 2 (a 1-D matmul operand)");
  const int at = input_in(c, a, identity_layout(rank_of(c, a)));
  const int bt = input_in(c, b, identity_layout(rank_of(c, b)));
  const int out = c.new_output(n.outputs.at(0), identity_layout(rank_of(c, n.outputs.at(0))));
  float_op(c, Op::BATCH_MATMUL, {at, bt}, {out}, opts(fb::BatchMatMulOptionsT{}));
}

// ---- pools ----

void emit_pool(Context& c, const Node& n, bool one_d, bool is_max) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a pool without a batch dimension");
  Geometry g = geometry(n, xs, c.g.value(y).shape, n.attrs.ints("kernel_size"), one_d);
  for (int64_t d : g.dil)
    if (d != 1) c.fail(n, "a dilated pool has no TFLite equivalent");
  // ceil_mode: the last window may overhang the end padding; widen it to cover that window.
  bool overhang = false;
  for (size_t d = 0; d < g.in.size(); ++d) {
    const int64_t need = (g.out[d] - 1) * g.stride[d] + g.k[d] - g.in[d] - g.pad[d].begin;
    if (need > g.pad[d].end) {
      overhang = true;
      g.pad[d].end = need;
    }
  }
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  int xin = c.in_layout(x, l);
  bool padded = false;
  for (const Pad1d& p : g.pad) padded = padded || p.begin != 0 || p.end != 0;
  std::optional<fb::Padding> mode = tflite_padding(g.in, g.k, g.stride, g.pad, g.out);
  const bool count_pad = !is_max && padded && n.attrs.i("count_include_pad", 1) != 0;
  if (count_pad && overhang)
    c.fail(n, "an average pool counting padding with ceil_mode overhang has no TFLite equivalent");
  if (!is_max && !count_pad && padded && mode != fb::Padding::SAME)
    c.fail(n, "an average pool excluding padding that TFLite's SAME padding does not express");
  if (!mode || count_pad) {
    // Explicit padding, then VALID: zeros for an average that counts them, -inf for max.
    const std::vector<std::pair<int64_t, int64_t>> pads{
        {0, 0}, {g.pad[0].begin, g.pad[0].end}, {g.pad[1].begin, g.pad[1].end}, {0, 0}};
    if (is_max) {
      Shape s = c.tensor_shape(xin);
      std::vector<int32_t> pv;
      for (size_t i = 0; i < pads.size(); ++i) {
        pv.push_back(static_cast<int32_t>(pads[i].first));
        pv.push_back(static_cast<int32_t>(pads[i].second));
        if (s[i] != kBatch) s[i] += pads[i].first + pads[i].second;
      }
      const int padded_t = float_tensor(c, n.name + "_padded", s);
      const float lowest = -std::numeric_limits<float>::infinity();
      const int fill = c.add_constant(n.name + "_pad_value", fb::TensorType::FLOAT32, {1}, &lowest, sizeof lowest);
      float_op(c, Op::PADV2, {xin, c.const_i32_2d(n.name + "_paddings", pv, 4, 2), fill}, {padded_t},
               opts(fb::PadV2OptionsT{}));
      xin = padded_t;
    } else {
      xin = pad_tensor(c, xin, pads);
    }
    mode = fb::Padding::VALID;
  }
  const int out = c.new_output(y, l);
  fb::Pool2DOptionsT o;
  o.padding = *mode;
  o.stride_h = static_cast<int32_t>(g.stride[0]);
  o.stride_w = static_cast<int32_t>(g.stride[1]);
  o.filter_height = static_cast<int32_t>(g.k[0]);
  o.filter_width = static_cast<int32_t>(g.k[1]);
  float_op(c, is_max ? Op::MAX_POOL_2D : Op::AVERAGE_POOL_2D, {xin}, {out}, opts(o));
}

void emit_adaptive_avg_pool(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != 4) c.fail(n, "an adaptive average pool without a batch dimension");
  const Layout l = nhwc_layout();
  const int xt = c.in_layout(x, l);
  if (ys[2] == 1 && ys[3] == 1) {
    const int out = c.new_output(y, l);
    reduce(c, Op::MEAN, xt, {1, 2}, true, out, n.name);
    return;
  }
  if (xs[2] % ys[2] != 0 || xs[3] % ys[3] != 0)
    c.fail(n, "an adaptive average pool with uneven bins has no TFLite equivalent");
  fb::Pool2DOptionsT o;
  o.padding = fb::Padding::VALID;
  o.stride_h = o.filter_height = static_cast<int32_t>(xs[2] / ys[2]);
  o.stride_w = o.filter_width = static_cast<int32_t>(xs[3] / ys[3]);
  const int out = c.new_output(y, l);
  float_op(c, Op::AVERAGE_POOL_2D, {xt}, {out}, opts(o));
}

// ---- upsample ----

// Source index of each output index along one axis, as the IR's nearest resize computes it
// (ONNX Resize: coordinate transform, then the nearest mode's rounding, clamped).
std::vector<int64_t> ir_nearest(const Node& n, int64_t in, int64_t out, double scale) {
  const std::string ctm = n.attrs.s("coordinate_transformation_mode", "half_pixel");
  const std::string nm = n.attrs.s("nearest_mode", "round_prefer_floor");
  std::vector<int64_t> idx;
  const double out_w = scale * static_cast<double>(in);
  for (int64_t j = 0; j < out; ++j) {
    const double jd = static_cast<double>(j);
    double x;
    if (ctm == "align_corners") x = out_w == 1 ? 0.0 : jd * static_cast<double>(in - 1) / (out_w - 1);
    else if (ctm == "asymmetric") x = jd / scale;
    else if (ctm == "pytorch_half_pixel") x = out_w == 1 ? -0.5 : (jd + 0.5) / scale - 0.5;
    else if (ctm == "tf_half_pixel_for_nn") x = (jd + 0.5) / scale;
    else if (ctm == "half_pixel") x = (jd + 0.5) / scale - 0.5;
    else return {};  // half_pixel_symmetric and the like: not matched
    const double f = std::floor(x), r = x - f;
    bool up;
    if (r == 0) up = false;
    else if (nm == "round_prefer_ceil") up = r >= 0.5;
    else if (nm == "floor") up = false;
    else if (nm == "ceil") up = true;
    else up = r > 0.5;
    idx.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) + (up ? 1 : 0), 0, in - 1));
  }
  return idx;
}

// TFLite's RESIZE_NEAREST_NEIGHBOR source index (reference kernel's GetNearestNeighbor).
std::vector<int64_t> tflite_nearest(int64_t in, int64_t out, bool align_corners, bool half_pixel) {
  const float scale = (align_corners && out > 1) ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                                 : static_cast<float>(in) / static_cast<float>(out);
  const float offset = half_pixel ? 0.5f : 0.f;
  std::vector<int64_t> idx;
  for (int64_t j = 0; j < out; ++j) {
    const float v = (static_cast<float>(j) + offset) * scale;
    int64_t i = std::min<int64_t>(align_corners ? static_cast<int64_t>(std::round(v)) : static_cast<int64_t>(std::floor(v)), in - 1);
    if (half_pixel) i = std::max<int64_t>(i, 0);
    idx.push_back(i);
  }
  return idx;
}

void emit_upsample(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != 4 || xs[0] != ys[0] || xs[1] != ys[1])
    c.fail(n, "only a resize of H and W of a rank-4 tensor has a TFLite equivalent");
  const std::string mode = n.attrs.s("mode", "nearest");
  const bool has_scales = n.attrs.has("scales");
  const std::vector<double> scales = n.attrs.floats("scales", {});
  auto scale_of = [&](size_t d) {
    return has_scales ? scales.at(d) : static_cast<double>(ys[d]) / static_cast<double>(xs[d]);
  };
  bool align = false, half = false;
  if (mode == "nearest") {
    const std::vector<int64_t> h = ir_nearest(n, xs[2], ys[2], scale_of(2)), w = ir_nearest(n, xs[3], ys[3], scale_of(3));
    bool found = false;
    for (const auto& [ac, hp] : {std::pair{false, false}, std::pair{false, true}, std::pair{true, false}}) {
      if (tflite_nearest(xs[2], ys[2], ac, hp) == h && tflite_nearest(xs[3], ys[3], ac, hp) == w) {
        align = ac;
        half = hp;
        found = true;
        break;
      }
    }
    if (!found) c.fail(n, "this nearest resize (coordinate transform and rounding) has no TFLite equivalent");
  } else if (mode == "linear") {
    const std::string ctm = n.attrs.s("coordinate_transformation_mode", "half_pixel");
    for (size_t d = 2; d < 4; ++d)
      if (std::fabs(scale_of(d) - static_cast<double>(ys[d]) / static_cast<double>(xs[d])) > 1e-6 * scale_of(d))
        c.fail(n, "a linear resize whose scale is not output/input size has no TFLite equivalent");
    if (ctm == "half_pixel" || (ctm == "pytorch_half_pixel" && ys[2] > 1 && ys[3] > 1)) half = true;
    else if (ctm == "align_corners") align = true;
    else if (ctm != "asymmetric") c.fail(n, "linear resize with coordinate transform '" + ctm + "' has no TFLite equivalent");
  } else {
    c.fail(n, "resize mode '" + mode + "' has no TFLite equivalent");
  }
  const Layout l = nhwc_layout();
  const int xt = c.in_layout(x, l);
  const int size = c.const_i32(n.name + "_size", {static_cast<int32_t>(ys[2]), static_cast<int32_t>(ys[3])});
  const int out = c.new_output(y, l);
  if (mode == "nearest") {
    fb::ResizeNearestNeighborOptionsT o;
    o.align_corners = align;
    o.half_pixel_centers = half;
    float_op(c, Op::RESIZE_NEAREST_NEIGHBOR, {xt, size}, {out}, opts(o));
  } else {
    fb::ResizeBilinearOptionsT o;
    o.align_corners = align;
    o.half_pixel_centers = half;
    float_op(c, Op::RESIZE_BILINEAR, {xt, size}, {out}, opts(o));
  }
}

// ---- registration ----

template <class F>
Emitter float_node(F f) {
  return [f](Context& c, const Node& n) {
    require_f32(c, n);
    c.report.float_nodes.push_back(n.name + " (" + n.op + ")");
    f(c, n);
  };
}

Emitter unary(Op op) {
  return float_node([op](Context& c, const Node& n) { emit_unary(c, n, op); });
}
Emitter binary(Op op, OptionsFn o) {
  return float_node([op, o](Context& c, const Node& n) { emit_binary(c, n, op, o); });
}

}  // namespace

void register_float_emitters(EmitterTable& t) {
  std::map<std::string, Emitter> f;
  f["aten.conv2d.default"] = float_node([](Context& c, const Node& n) { emit_conv(c, n, false); });
  f["aten.conv1d.default"] = float_node([](Context& c, const Node& n) { emit_conv(c, n, true); });
  f["aten.conv_transpose2d.input"] = float_node([](Context& c, const Node& n) { emit_conv_transpose(c, n, false); });
  f["aten.conv_transpose1d.default"] = float_node([](Context& c, const Node& n) { emit_conv_transpose(c, n, true); });
  f["aten.linear.default"] = float_node(emit_linear);
  f["aten.matmul.default"] = float_node(emit_matmul);
  f["aten.add.Tensor"] = binary(Op::ADD, add_opts);
  f["aten.sub.Tensor"] = binary(Op::SUB, sub_opts);
  f["aten.mul.Tensor"] = binary(Op::MUL, mul_opts);
  f["aten.div.Tensor"] = binary(Op::DIV, div_opts);
  f["aten.pow.Tensor_Tensor"] = binary(Op::POW, pow_opts);
  f["aten.relu.default"] = unary(Op::RELU);
  f["aten.sigmoid.default"] = unary(Op::LOGISTIC);
  f["aten.tanh.default"] = unary(Op::TANH);
  f["aten.abs.default"] = float_node([](Context& c, const Node& n) { emit_unary(c, n, Op::ABS, [] { return opts(fb::AbsOptionsT{}); }); });
  f["aten.neg.default"] = float_node([](Context& c, const Node& n) { emit_unary(c, n, Op::NEG, [] { return opts(fb::NegOptionsT{}); }); });
  f["aten.exp.default"] = float_node([](Context& c, const Node& n) { emit_unary(c, n, Op::EXP, [] { return opts(fb::ExpOptionsT{}); }); });
  f["aten.sqrt.default"] = unary(Op::SQRT);
  f["aten.hardswish.default"] =
      float_node([](Context& c, const Node& n) { emit_unary(c, n, Op::HARD_SWISH, [] { return opts(fb::HardSwishOptionsT{}); }); });
  f["aten.reciprocal.default"] = float_node(emit_reciprocal);
  f["aten.hardtanh.default"] = float_node(emit_hardtanh);
  f["aten.hardsigmoid.default"] = float_node(emit_hardsigmoid);
  f["aten.gelu.default"] = float_node(emit_gelu);
  f["aten.leaky_relu.default"] = float_node(emit_leaky_relu);
  f["aten.prelu.default"] = float_node(emit_prelu);
  f["aten.erf.default"] = [](Context& c, const Node& n) {
    c.fail(n, "erf has no TFLite builtin (a gelu written with erf is imported as aten.gelu.default)");
  };
  f["aten.softmax.int"] = float_node([](Context& c, const Node& n) { emit_softmax(c, n, false); });
  f["aten.log_softmax.int"] = float_node([](Context& c, const Node& n) { emit_softmax(c, n, true); });
  f["aten.mean.dim"] = float_node([](Context& c, const Node& n) { emit_reduction(c, n, Op::MEAN); });
  f["aten.sum.dim_IntList"] = float_node([](Context& c, const Node& n) { emit_reduction(c, n, Op::SUM); });
  f["aten.amax.default"] = float_node([](Context& c, const Node& n) { emit_reduction(c, n, Op::REDUCE_MAX); });
  f["aten.layer_norm.default"] = float_node(emit_layer_norm);
  f["aten._native_batch_norm_legit_no_training.default"] = float_node(emit_batch_norm);
  f["aten.max_pool2d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, false, true); });
  f["aten.max_pool1d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, true, true); });
  f["aten.avg_pool2d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, false, false); });
  f["aten.avg_pool1d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, true, false); });
  f["aten.adaptive_avg_pool2d.default"] = float_node(emit_adaptive_avg_pool);
  f["aten.upsample.default"] = float_node(emit_upsample);
  for (auto& [name, e] : f) {
    float_op_names().insert(name);
    t[name] = std::move(e);
  }
  t[kQuantize] = emit_quantize;
  t[kDequantize] = emit_dequantize;
  t[kDequantizeChannel] = emit_dequantize;
  t[kQuantizeChannel] = [](Context& c, const Node& n) {
    c.fail(n, "a per-channel quantize of an activation has no TFLite equivalent");
  };
}

}  // namespace eq::tflite_export
