// Context: the tensor/buffer/operator tables of the model being written, and value placement.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "edgequant/error.h"
#include "edgequant/shape.h"
#include "export_context.h"

namespace eq::tflite_export {
namespace {

constexpr const char* kQuantize = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kDequantize = "quantized_decomposed.dequantize_per_tensor.default";

bool is_int_activation(DType t) { return t == DType::i8 || t == DType::i16; }

// TFLite's kernels divide by the scales and take int16 as symmetric (zero point 0): a model that
// breaks either loads, then fails in Prepare or computes garbage, so the exporter refuses it.
// `what` names the value or tensor ("value 'x'").
void check_quant(const std::string& what, bool int16, const Quant& q) {
  for (float s : q.scales) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(s));
    check(std::isfinite(s) && s > 0,
          "TFLite export: " + what + " has quantization scale " + buf + "; TFLite needs positive, finite scales");
  }
  if (int16)
    for (int64_t z : q.zero_points)
      check(z == 0, "TFLite export: int16 " + what + " has zero point " + std::to_string(z) +
                        "; TFLite's int16 (16x8) kernels need zero point 0");
}

// A scalar constant input of a quantize/dequantize node (scale or zero point).
std::optional<double> scalar_const(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue || !g.is_constant(n.inputs[i])) return std::nullopt;
  const Tensor& t = *g.value(n.inputs[i]).constant;
  if (t.numel() != 1) return std::nullopt;
  return t.to_double_vector()[0];
}

// Qparams a quantized.* node states for its inputs: <prefix>_scale / <prefix>_zero_point.
std::optional<Quant> attr_quant(const Attrs& a, const std::string& prefix) {
  if (!a.has(prefix + "_scale") || !a.has(prefix + "_zero_point")) return std::nullopt;
  return per_tensor(static_cast<float>(a.f(prefix + "_scale")), a.i(prefix + "_zero_point"));
}

}  // namespace

Quant per_tensor(float scale, int64_t zero_point) { return Quant{{scale}, {zero_point}, 0}; }

Layout identity_layout(size_t rank) {
  Layout l(rank);
  for (size_t i = 0; i < rank; ++i) l[i] = static_cast<int>(i);
  return l;
}
Layout nhwc_layout() { return {0, 2, 3, 1}; }
Layout conv1d_layout() { return {0, -1, 2, 1}; }
bool is_identity(const Layout& l) { return l == identity_layout(l.size()); }

Shape apply_layout(const Shape& ir, const Layout& l) {
  Shape s;
  s.reserve(l.size());
  for (int a : l) s.push_back(a < 0 ? 1 : ir.at(static_cast<size_t>(a)));
  return s;
}

int tflite_axis(const Layout& l, int ir_axis) {
  for (size_t k = 0; k < l.size(); ++k)
    if (l[k] == ir_axis) return static_cast<int>(k);
  throw Error("internal: IR axis " + std::to_string(ir_axis) + " missing from a TFLite layout");
}

fb::TensorType tensor_type(DType t) {
  switch (t) {
    case DType::f32: return fb::TensorType::FLOAT32;
    case DType::f16: return fb::TensorType::FLOAT16;
    case DType::i8: return fb::TensorType::INT8;
    case DType::u8: return fb::TensorType::UINT8;
    case DType::i16: return fb::TensorType::INT16;
    case DType::i32: return fb::TensorType::INT32;
    case DType::i64: return fb::TensorType::INT64;
    case DType::boolean: return fb::TensorType::BOOL;
    default: break;
  }
  throw Error("TFLite export: dtype " + std::string(dtype_name(t)) + " has no TFLite tensor type");
}

Context::Context(const Graph& graph, const tflite::ExportOptions& opts) : g(graph), options(opts) {
  model.version = 3;
  model.description = options.description;
  model.buffers.push_back(std::make_unique<fb::BufferT>());  // buffer 0: the empty sentinel
  model.subgraphs.push_back(std::make_unique<fb::SubGraphT>());
  sub().name = "main";
  consumers_ = g.consumers();

  // Qparams of every int8/int16 activation, in one forward pass: what the op producing it states
  // (out_*), what a quantize node writes, what readers state (x_/a_/b_, cat's per-input lists);
  // movement ops (no qparams of their own) carry their input's.
  for (const Node& n : g.nodes) {
    const Attrs& a = n.attrs;
    if (n.op == kQuantize && !n.outputs.empty()) {
      const std::optional<double> s = scalar_const(g, n, 1);
      if (s) qparams_[n.outputs[0]] = per_tensor(static_cast<float>(*s), static_cast<int64_t>(scalar_const(g, n, 2).value_or(0)));
      continue;
    }
    if (n.op == kDequantize && !n.inputs.empty() && !g.is_constant(n.inputs[0])) {
      const std::optional<double> s = scalar_const(g, n, 1);
      if (s && !qparams_.count(n.inputs[0]))
        qparams_[n.inputs[0]] = per_tensor(static_cast<float>(*s), static_cast<int64_t>(scalar_const(g, n, 2).value_or(0)));
      continue;
    }
    if (n.op.rfind("quantized.", 0) == 0) {
      if (const auto x = attr_quant(a, "x"); x && !n.inputs.empty() && !qparams_.count(n.inputs[0])) qparams_[n.inputs[0]] = *x;
      if (const auto qa = attr_quant(a, "a"); qa && !qparams_.count(n.inputs[0])) qparams_[n.inputs[0]] = *qa;
      if (const auto qb = attr_quant(a, "b"); qb && n.inputs.size() > 1 && !qparams_.count(n.inputs[1])) qparams_[n.inputs[1]] = *qb;
      if (n.op == "quantized.cat") {
        const std::vector<double> s = a.floats("scales", {});
        const std::vector<int64_t> z = a.ints("zero_points", {});
        for (size_t i = 0; i < n.inputs.size() && i < s.size() && i < z.size(); ++i)
          if (!qparams_.count(n.inputs[i])) qparams_[n.inputs[i]] = per_tensor(static_cast<float>(s[i]), z[i]);
      }
      if (const auto o = attr_quant(a, "out"); o)
        for (int v : n.outputs) qparams_[v] = *o;
      continue;
    }
    // Movement on integer activations: same qparams as the first input.
    if (!n.inputs.empty() && n.inputs[0] != kNoValue && qparams_.count(n.inputs[0]))
      for (int v : n.outputs)
        if (is_int_activation(g.value(v).dtype) && !qparams_.count(v)) qparams_[v] = qparams_.at(n.inputs[0]);
  }
  // Checked here, before any emitter computes with them (multipliers, activation bounds).
  for (const auto& [v, q] : qparams_) check_quant("value '" + g.value(v).name + "'", g.value(v).dtype == DType::i16, q);
}

std::optional<Quant> Context::qparams(int v) const {
  const auto it = qparams_.find(v);
  if (it == qparams_.end()) return std::nullopt;
  return it->second;
}

std::string Context::name(const std::string& base) {
  const std::string b = base.empty() ? "t" : base;
  int& k = names_[b];
  if (k++ == 0) return b;
  std::string n;
  for (int i = k - 1;; ++i) {
    n = b + "_" + std::to_string(i);
    if (!names_.count(n)) break;
  }
  names_[n] = 1;
  return n;
}

namespace {
std::unique_ptr<fb::QuantizationParametersT> make_quant(const Quant& q) {
  auto p = std::make_unique<fb::QuantizationParametersT>();
  p->scale = q.scales;
  p->zero_point = q.zero_points;
  p->quantized_dimension = q.axis;
  return p;
}
}  // namespace

int Context::add_tensor(const std::string& nm, fb::TensorType type, const Shape& shape, const Quant* q) {
  auto t = std::make_unique<fb::TensorT>();
  bool symbolic = false;
  for (int64_t d : shape) {
    check(d == kBatch || (d >= 0 && d <= std::numeric_limits<int32_t>::max()),
          "TFLite export: tensor '" + nm + "' would have dimension " + std::to_string(d) + " (TFLite dims are int32, >= 0)");
    symbolic |= d == kBatch;
    t->shape.push_back(d == kBatch ? 1 : static_cast<int32_t>(d));
  }
  if (symbolic)
    for (int64_t d : shape) t->shape_signature.push_back(d == kBatch ? -1 : static_cast<int32_t>(d));
  t->type = type;
  t->buffer = 0;
  t->name = name(nm);
  if (q) {
    check_quant("tensor '" + t->name + "'", type == fb::TensorType::INT16, *q);
    t->quantization = make_quant(*q);
  }
  sub().tensors.push_back(std::move(t));
  return static_cast<int>(sub().tensors.size()) - 1;
}

int Context::add_constant(const std::string& nm, fb::TensorType type, const Shape& shape, const void* bytes, size_t n,
                          const Quant* q) {
  for (int64_t d : shape) check(d >= 0, "TFLite export: constant '" + nm + "' has a symbolic dimension");
  const int t = add_tensor(nm, type, shape, q);
  auto b = std::make_unique<fb::BufferT>();
  b->data.resize(n);
  if (n) std::memcpy(b->data.data(), bytes, n);
  model.buffers.push_back(std::move(b));
  tensor(t).buffer = static_cast<uint32_t>(model.buffers.size() - 1);
  return t;
}

int Context::add_constant(const std::string& nm, const Tensor& t, const Quant* q) {
  check(t.dtype() != DType::i4 && t.dtype() != DType::u4, "TFLite export: constant '" + nm + "' is packed int4");
  return add_constant(nm, tensor_type(t.dtype()), t.shape(), t.raw(), t.nbytes(), q);
}

int Context::const_i32(const std::string& nm, const std::vector<int32_t>& v) {
  return add_constant(nm, fb::TensorType::INT32, {static_cast<int64_t>(v.size())}, v.data(), v.size() * sizeof(int32_t));
}

int Context::const_i32_2d(const std::string& nm, const std::vector<int32_t>& v, int64_t rows, int64_t cols) {
  return add_constant(nm, fb::TensorType::INT32, {rows, cols}, v.data(), v.size() * sizeof(int32_t));
}

std::optional<Quant> Context::tensor_quant(int t) const {
  const auto& q = tensor(t).quantization;
  if (!q || q->scale.empty()) return std::nullopt;
  return Quant{q->scale, q->zero_point, q->quantized_dimension};
}

void Context::add_reshape(int from, int to, bool float_op) {
  std::vector<int32_t> dims;
  for (int64_t d : tensor_shape(to)) dims.push_back(d == kBatch ? -1 : static_cast<int32_t>(d));
  const int shape_t = const_i32(tensor(to).name + "_shape", dims);
  fb::ReshapeOptionsT o;
  o.new_shape = dims;
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  add_op(fb::BuiltinOperator::RESHAPE, {from, shape_t}, {to}, std::move(u), float_op);
}

Shape Context::tensor_shape(int t) const {
  const fb::TensorT& x = tensor(t);
  Shape s(x.shape.begin(), x.shape.end());
  for (size_t i = 0; i < x.shape_signature.size() && i < s.size(); ++i)
    if (x.shape_signature[i] == -1) s[i] = kBatch;
  return s;
}

void Context::add_op(fb::BuiltinOperator op, std::vector<int> inputs, std::vector<int> outputs,
                     fb::BuiltinOptionsUnion opts, bool float_op) {
  auto it = opcode_index_.find(op);
  if (it == opcode_index_.end()) {
    auto code = std::make_unique<fb::OperatorCodeT>();
    code->builtin_code = op;
    code->deprecated_builtin_code = static_cast<int8_t>(std::min(static_cast<int>(op), 127));
    code->version = 1;
    model.operator_codes.push_back(std::move(code));
    it = opcode_index_.emplace(op, static_cast<uint32_t>(model.operator_codes.size() - 1)).first;
  }
  auto o = std::make_unique<fb::OperatorT>();
  o->opcode_index = it->second;
  o->inputs.assign(inputs.begin(), inputs.end());
  o->outputs.assign(outputs.begin(), outputs.end());
  o->builtin_options = std::move(opts);
  sub().operators.push_back(std::move(o));
  ++report.operators;
  ++report.builtins[fb::EnumNameBuiltinOperator(op)];
  if (float_op) ++report.float_operators;
  if (op == fb::BuiltinOperator::TRANSPOSE) ++report.transposes;
}

const Placed& Context::placed(int v) {
  const auto it = placed_.find(v);
  if (it != placed_.end()) return it->second;
  const Value& val = g.value(v);
  if (!val.constant) throw Error("internal: TFLite export reached value '" + val.name + "' before its producer");
  const std::optional<Quant> q = qparams(v);
  const int t = add_constant(val.name, *val.constant, q ? &*q : nullptr);
  return placed_[v] = Placed{t, identity_layout(val.shape.size()), {}};
}

void Context::place(int v, Placed p) { placed_[v] = std::move(p); }

int Context::new_output(int v, const Layout& layout, const std::string& suffix) {
  const Value& val = g.value(v);
  const fb::TensorType type = tensor_type(val.dtype);
  std::optional<Quant> q;
  if (is_int_activation(val.dtype)) {
    q = qparams(v);
    check(q.has_value(), "TFLite export: integer value '" + val.name + "' has no quantization parameters");
  } else if (val.dtype == DType::u8) {
    q = qparams(v);  // a uint8 QDQ pair around a float island: QUANTIZE / DEQUANTIZE need the qparams
  }
  const int t = add_tensor(val.name + suffix, type, apply_layout(val.shape, layout), q ? &*q : nullptr);
  place(v, Placed{t, layout, {}});
  return t;
}

int Context::like(int t, const std::string& nm, const Quant* q) {
  const Shape s = tensor_shape(t);
  const fb::TensorType type = tensor(t).type;
  return add_tensor(nm, type, s, q);
}

namespace {
// The IR dims of a layout in TFLite order, without inserted unit dims and IR dims of size 1: two
// layouts with the same sequence hold the same bytes in the same order.
std::vector<int> memory_order(const Layout& l, const Shape& ir) {
  std::vector<int> m;
  for (int a : l)
    if (a >= 0 && ir.at(static_cast<size_t>(a)) != 1) m.push_back(a);
  return m;
}
Layout without_units(const Layout& l) {
  Layout r;
  for (int a : l)
    if (a >= 0) r.push_back(a);
  return r;
}
}  // namespace

int Context::in_layout(int v, const Layout& target) {
  const Placed p = placed(v);  // a copy: placing constants may grow the map
  check(p.column_perm.empty(), "internal: TFLite export: value '" + g.value(v).name +
                                   "' was flattened for FULLY_CONNECTED readers only");
  if (p.src == target) return p.tensor;
  const auto key = std::make_pair(v, target);
  if (const auto it = layout_cache_.find(key); it != layout_cache_.end()) return it->second;

  const Value& val = g.value(v);
  if (val.constant) {
    // A constant is written in the layout asked for: no operator.
    const Tensor& src = *val.constant;
    const Shape ts = apply_layout(val.shape, target);
    Tensor dst(src.dtype(), ts);
    const size_t es = dtype_storage_bytes(src.dtype(), 1);
    const size_t rank = val.shape.size();
    std::vector<int64_t> ir_stride(rank, 1);
    for (size_t i = rank; i-- > 1;) ir_stride[i - 1] = ir_stride[i] * val.shape[i];
    std::vector<int64_t> idx(ts.size(), 0);
    for (int64_t e = 0; e < dst.numel(); ++e) {
      int64_t from = 0;
      for (size_t k = 0; k < ts.size(); ++k)
        if (target[k] >= 0) from += idx[k] * ir_stride[static_cast<size_t>(target[k])];
      std::memcpy(static_cast<char*>(dst.raw()) + static_cast<size_t>(e) * es,
                  static_cast<const char*>(src.raw()) + static_cast<size_t>(from) * es, es);
      for (size_t k = ts.size(); k-- > 0;) {
        if (++idx[k] < ts[k]) break;
        idx[k] = 0;
      }
    }
    const std::optional<Quant> cq = qparams(v);
    const int t = add_constant(val.name, dst, cq ? &*cq : nullptr);
    layout_cache_[key] = t;
    return t;
  }
  const std::optional<Quant> q = tensor_quant(p.tensor);
  const Quant* qp = q ? &*q : nullptr;

  auto reshape = [&](int from, const Layout& to) {
    const int out = add_tensor(val.name + "_reshaped", tensor(from).type, apply_layout(val.shape, to), qp);
    add_reshape(from, out);
    return out;
  };

  int result;
  if (memory_order(p.src, val.shape) == memory_order(target, val.shape)) {
    result = reshape(p.tensor, target);
  } else {
    // Drop inserted unit dims, TRANSPOSE the rest, then insert the target's unit dims.
    const Layout from = without_units(p.src), to = without_units(target);
    int cur = p.tensor;
    if (from != p.src) cur = reshape(cur, from);
    std::vector<int32_t> perm;
    for (int a : to) perm.push_back(tflite_axis(from, a));
    const int out = add_tensor(val.name + "_transposed", tensor(cur).type, apply_layout(val.shape, to), qp);
    const int perm_t = const_i32(val.name + "_perm", perm);
    fb::BuiltinOptionsUnion u;
    u.Set(fb::TransposeOptionsT{});
    add_op(fb::BuiltinOperator::TRANSPOSE, {cur, perm_t}, {out}, std::move(u));
    result = to != target ? reshape(out, target) : out;
  }
  layout_cache_[key] = result;
  return result;
}

bool Context::only_read_by(int v, const std::vector<std::string>& ops) const {
  if (std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end()) return false;
  for (int n : consumers_.at(static_cast<size_t>(v)))
    if (std::find(ops.begin(), ops.end(), g.nodes.at(static_cast<size_t>(n)).op) == ops.end()) return false;
  return !consumers_.at(static_cast<size_t>(v)).empty();
}

void Context::fail(const Node& n, const std::string& what) const { throw Error(n.describe() + ": " + what); }

}  // namespace eq::tflite_export
