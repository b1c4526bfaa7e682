// The helpers the float emitter files share (emit_float_util.h) and register_float_emitters, the
// one entry point that registers them all.
#include <set>

#include "edgequant/error.h"
#include "emit_float_util.h"

namespace eq::tflite_export {

std::set<std::string>& float_op_names() {
  static std::set<std::string> names;
  return names;
}

// ---- constants ----

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

int float_tensor(Context& c, const std::string& nm, const Shape& s) { return c.add_tensor(nm, fb::TensorType::FLOAT32, s); }

// ---- activations ----

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

void require_f32(Context& c, const Node& n) {
  for (int v : n.inputs)
    if (v != kNoValue && c.g.value(v).dtype != DType::f32 && !is_constant_like(c, v))
      c.fail(n, "float TFLite op with a " + std::string(dtype_name(c.g.value(v).dtype)) + " input '" +
                    c.g.value(v).name + "'");
  for (int v : n.outputs)
    if (c.g.value(v).dtype != DType::f32)
      c.fail(n, "float TFLite op with a " + std::string(dtype_name(c.g.value(v).dtype)) + " output");
}

void float_op(Context& c, Op op, std::vector<int> in, std::vector<int> out, fb::BuiltinOptionsUnion o) {
  c.add_op(op, std::move(in), std::move(out), std::move(o), true);
}

int reduce(Context& c, Op op, int x, const std::vector<int32_t>& axes, bool keep, int out, const std::string& nm) {
  fb::ReducerOptionsT o;
  o.keep_dims = keep;
  float_op(c, op, {x, c.const_i32(nm + "_axes", axes)}, {out}, opts(o));
  return out;
}

// ---- registration ----

void register_float_emitters(EmitterTable& t) {
  std::map<std::string, Emitter> f;
  register_float_elementwise_emitters(f);
  register_float_spatial_emitters(f);
  for (auto& [name, e] : f) {
    float_op_names().insert(name);
    t[name] = std::move(e);
  }
  register_float_qdq_emitters(t);
}

}  // namespace eq::tflite_export
