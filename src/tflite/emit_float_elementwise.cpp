// Float elementwise ops of islands: unary and binary ops, clamps and activations, softmax /
// log-softmax, reductions, layer norm and inference batch norm.
#include <algorithm>
#include <cmath>

#include "edgequant/error.h"
#include "emit_float_util.h"

namespace eq::tflite_export {
namespace {

// ---- constants ----

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

// ---- registration ----

Emitter unary(Op op) {
  return float_node([op](Context& c, const Node& n) { emit_unary(c, n, op); });
}
Emitter binary(Op op, OptionsFn o) {
  return float_node([op, o](Context& c, const Node& n) { emit_binary(c, n, op, o); });
}

}  // namespace

void register_float_elementwise_emitters(EmitterTable& f) {
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
}

}  // namespace eq::tflite_export
