// Data movement: the reshape family (reshape, flatten, squeeze, unsqueeze, clone), permute, slice,
// split, index_select, cat / quantized.cat and pad. These copy bytes in our runtime and in TFLite
// alike, so each becomes one TFLite operator (or none) and is bit exact on every dtype.
//
// Most of the work is layout: a value placed NHWC (or in any other permuted order) should not need
// a TRANSPOSE just because a movement op reads it. Permute only relabels the layout; a reshape
// keeps the permuted layout whenever the dims it merges or splits are adjacent and in order in the
// TFLite tensor too; slice / split / gather / cat / pad work on the TFLite dims directly.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "edgequant/error.h"
#include "edgequant/shape.h"
#include "emitters.h"
#include "ir/ops/movement_geometry.h"

namespace eq::tflite_export {
namespace {

template <class T>
fb::BuiltinOptionsUnion options(T o) {
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

// Movement on f32 (float islands) is counted with the float operators: it runs on the CPU.
bool is_f32(const Context& c, int v) { return c.g.value(v).dtype == DType::f32; }

int axis_attr(const Node& n, int64_t rank) {
  return normalize_axis(n.attrs.i("dim", 0), rank, n.describe() + ": attribute 'dim'");
}

// TFLite's int16 kernels of some ops (CONCATENATION, MIRROR_PAD) take only zero point 0, the
// 16x8 scheme's symmetric activations.
void require_symmetric_int16(const Context& c, const Node& n, int t, const std::string& builtin) {
  if (c.tensor(t).type != fb::TensorType::INT16) return;
  const std::optional<Quant> q = c.tensor_quant(t);
  if (q && !q->zero_points.empty() && q->zero_points[0] != 0)
    c.fail(n, "int16 with zero point " + std::to_string(q->zero_points[0]) + ": TFLite's int16 " + builtin +
                  " takes only zero point 0 (symmetric int16 activations)");
}

// `v` as placed, without a column permutation (only FULLY_CONNECTED reads those).
Placed source(Context& c, int v) {
  Placed p = c.placed(v);
  if (p.column_perm.empty()) return p;
  return Placed{c.canonical(v), identity_layout(c.g.value(v).shape.size()), {}};
}

// STRIDED_SLICE of `from` into `to`; a symbolic (batch) dim is taken whole through the masks.
void strided_slice(Context& c, int from, int to, const std::vector<int64_t>& begin, const std::vector<int64_t>& end,
                   const std::vector<int64_t>& strides, int32_t end_mask, bool f32) {
  const Shape s = c.tensor_shape(from);
  int32_t begin_mask = 0;
  std::vector<int32_t> b, e, st;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == kBatch) {
      begin_mask |= 1 << k;
      end_mask |= 1 << k;
    }
    b.push_back(static_cast<int32_t>(begin[k]));
    e.push_back(static_cast<int32_t>(end[k]));
    st.push_back(static_cast<int32_t>(strides[k]));
  }
  const std::string& base = c.tensor(to).name;
  const int bt = c.const_i32(base + "_begin", b), et = c.const_i32(base + "_end", e), stt = c.const_i32(base + "_strides", st);
  fb::StridedSliceOptionsT o;
  o.begin_mask = begin_mask;
  o.end_mask = end_mask;
  c.add_op(fb::BuiltinOperator::STRIDED_SLICE, {from, bt, et, stt}, {to}, options(std::move(o)), f32);
}

// ---- reshape family -------------------------------------------------------------------------

// One step of a reshape: adjacent non-unit input dims whose product equals that of adjacent
// non-unit output dims.
struct Group {
  std::vector<int> in, out;
};

// The reshape of `in` to `out` as groups (the symbolic batch is a group of its own); nullopt when
// the shapes do not factor that way (a zero dim, or the batch merged with others).
std::optional<std::vector<Group>> reshape_groups(const Shape& in, const Shape& out) {
  std::vector<int> ii, oo;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 0) return std::nullopt;
    if (in[i] != 1) ii.push_back(static_cast<int>(i));
  }
  for (size_t o = 0; o < out.size(); ++o) {
    if (out[o] == 0) return std::nullopt;
    if (out[o] != 1) oo.push_back(static_cast<int>(o));
  }
  std::vector<Group> groups;
  size_t i = 0, o = 0;
  while (i < ii.size() || o < oo.size()) {
    if (i == ii.size() || o == oo.size()) return std::nullopt;
    Group g{{ii[i]}, {oo[o]}};
    int64_t pi = in[static_cast<size_t>(ii[i++])], po = out[static_cast<size_t>(oo[o++])];
    if (pi == kBatch || po == kBatch) {
      if (pi != po) return std::nullopt;
      groups.push_back(g);
      continue;
    }
    while (pi != po) {
      if (pi < po) {
        if (i == ii.size() || in[static_cast<size_t>(ii[i])] == kBatch) return std::nullopt;
        pi *= in[static_cast<size_t>(ii[i])];
        g.in.push_back(ii[i++]);
      } else {
        if (o == oo.size() || out[static_cast<size_t>(oo[o])] == kBatch) return std::nullopt;
        po *= out[static_cast<size_t>(oo[o])];
        g.out.push_back(oo[o++]);
      }
    }
    groups.push_back(g);
  }
  return groups;
}

// When the reshape only adds or drops unit dims: a layout of `out` over the very tensor `in` is
// placed in (layout `l`), so no operator is needed. Output unit dims take the tensor's unit
// positions in order; nullopt if there are too few.
std::optional<Layout> relabelled_layout(const Shape& in, const Layout& l, const Shape& out) {
  const std::optional<std::vector<Group>> groups = reshape_groups(in, out);
  if (!groups) return std::nullopt;
  std::map<int, int> to_out;
  for (const Group& g : *groups) {
    if (g.in.size() != 1 || g.out.size() != 1) return std::nullopt;
    to_out[g.in[0]] = g.out[0];
  }
  std::vector<int> units;
  for (size_t j = 0; j < out.size(); ++j)
    if (out[j] == 1) units.push_back(static_cast<int>(j));
  Layout r(l.size(), -1);
  size_t u = 0;
  for (size_t k = 0; k < l.size(); ++k) {
    const int a = l[k];
    if (a >= 0 && in[static_cast<size_t>(a)] != 1) r[k] = to_out.at(a);
    else if (u < units.size()) r[k] = units[u++];
  }
  if (u != units.size()) return std::nullopt;
  return r;
}

// The layout of `out` after a RESHAPE of the tensor `in` is placed in (layout `l`), when every
// group of merged/split IR dims is adjacent and ascending in the TFLite order too: the TFLite
// RESHAPE then merges/splits the same memory. Example: [N,D,7,7] placed NHWC, flatten(2) -> IR
// [N,D,49] = TFLite [N,49,D], layout {0,2,1}. An identity-order input gives an identity layout.
std::optional<Layout> carried_layout(const Shape& in, const Layout& l, const Shape& out) {
  const std::optional<std::vector<Group>> groups = reshape_groups(in, out);
  if (!groups) return std::nullopt;
  std::map<int, const Group*> by_first;
  for (const Group& g : *groups) by_first[g.in[0]] = &g;
  std::vector<int> mem;  // non-unit IR dims in TFLite order
  for (int a : l)
    if (a >= 0 && in[static_cast<size_t>(a)] != 1) mem.push_back(a);
  Layout order;
  for (size_t p = 0; p < mem.size();) {
    const auto it = by_first.find(mem[p]);
    if (it == by_first.end()) return std::nullopt;
    const Group& g = *it->second;
    for (size_t t = 0; t < g.in.size(); ++t)
      if (p + t >= mem.size() || mem[p + t] != g.in[t]) return std::nullopt;
    p += g.in.size();
    order.insert(order.end(), g.out.begin(), g.out.end());
  }
  // Unit dims of the output: each right after the output dim before it (ascending, so it is there).
  for (size_t j = 0; j < out.size(); ++j) {
    if (out[j] != 1) continue;
    const int jj = static_cast<int>(j);
    if (j == 0) order.insert(order.begin(), jj);
    else order.insert(std::find(order.begin(), order.end(), jj - 1) + 1, jj);
  }
  return order;
}

// A flatten to [N, K] of a tensor whose batch (IR dim 0) comes first in TFLite order but whose
// other dims are permuted (NHWC): RESHAPE the tensor as it is to [N, K]; TFLite column j then holds
// IR column perm[j], which FULLY_CONNECTED absorbs by permuting its weight columns.
std::optional<std::vector<int64_t>> fc_columns(const Shape& in, const Layout& l, const Shape& out) {
  if (out.size() != 2 || in.size() < 2 || out[0] != in[0]) return std::nullopt;
  std::vector<int64_t> stride(in.size(), 0);  // IR row-major strides within one row
  int64_t k_total = 1;
  for (size_t i = in.size(); i-- > 1;) {
    if (in[i] == kBatch || in[i] <= 0) return std::nullopt;
    stride[i] = k_total;
    k_total *= in[i];
  }
  if (k_total != out[1]) return std::nullopt;
  const Shape t = apply_layout(in, l);
  const int k0 = tflite_axis(l, 0);
  for (int k = 0; k < k0; ++k)
    if (t[static_cast<size_t>(k)] != 1) return std::nullopt;
  std::vector<int64_t> sizes, strides;  // the TFLite dims after the batch, in memory order
  for (size_t k = static_cast<size_t>(k0) + 1; k < l.size(); ++k) {
    sizes.push_back(t[k]);
    strides.push_back(l[k] < 0 ? 0 : stride[static_cast<size_t>(l[k])]);
  }
  std::vector<int64_t> perm, idx(sizes.size(), 0);
  perm.reserve(static_cast<size_t>(k_total));
  for (int64_t j = 0; j < k_total; ++j) {
    int64_t col = 0;
    for (size_t d = 0; d < sizes.size(); ++d) col += idx[d] * strides[d];
    perm.push_back(col);
    for (size_t d = sizes.size(); d-- > 0;) {  // odometer, last dim fastest
      if (++idx[d] < sizes[d]) break;
      idx[d] = 0;
    }
  }
  return perm;
}

// reshape, flatten, squeeze, unsqueeze, clone: all are "x as the output's IR shape".
void emit_reshape(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& in = c.g.value(x).shape;
  const Shape& out = c.g.value(y).shape;
  const bool f32 = is_f32(c, x);
  const Placed p = source(c, x);
  if (const auto l = relabelled_layout(in, p.src, out)) {
    // Same bytes, same tensor (a model output gets its own copy from the driver).
    c.place(y, Placed{p.tensor, *l, {}});
    return;
  }
  if (const auto l = carried_layout(in, p.src, out)) {
    c.add_reshape(p.tensor, c.new_output(y, *l), f32);
    return;
  }
  if (c.only_read_by(y, {"quantized.linear"})) {
    if (const auto cols = fc_columns(in, p.src, out)) {
      const int t = c.new_output(y, identity_layout(2));
      c.add_reshape(p.tensor, t, f32);
      c.place(y, Placed{t, identity_layout(2), *cols});
      return;
    }
  }
  c.add_reshape(c.canonical(x), c.new_output(y, identity_layout(out.size())), f32);
}

// ---- permute: a relabelled layout, no operator -----------------------------------------------

void emit_permute(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const int64_t r = static_cast<int64_t>(c.g.value(x).shape.size());
  const std::vector<int64_t>& dims = n.attrs.ints("dims");
  if (static_cast<int64_t>(dims.size()) != r) c.fail(n, "attribute 'dims' does not match the input's rank");
  std::vector<int> inv(static_cast<size_t>(r), -1);  // input IR dim -> output IR dim
  for (size_t j = 0; j < dims.size(); ++j)
    inv[static_cast<size_t>(normalize_axis(dims[j], r, n.describe() + ": attribute 'dims'"))] = static_cast<int>(j);
  const Placed p = source(c, x);
  Layout l;
  for (int a : p.src) l.push_back(a < 0 ? -1 : inv[static_cast<size_t>(a)]);
  c.place(y, Placed{p.tensor, l, {}});
}

// ---- slice / split / gather -----------------------------------------------------------------

void emit_slice(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& in = c.g.value(x).shape;
  const int dim = axis_attr(n, static_cast<int64_t>(in.size()));
  const int64_t step = n.attrs.i("step", 1);
  if (step == 0) c.fail(n, "slice step 0");
  const Placed p = source(c, x);
  const Shape t = c.tensor_shape(p.tensor);
  if (t.size() > 5) c.fail(n, "TFLite's STRIDED_SLICE takes at most 5 dims; this tensor has " + std::to_string(t.size()));
  std::vector<int64_t> begin(t.size(), 0), end(t.size()), strides(t.size(), 1);
  for (size_t k = 0; k < t.size(); ++k) end[k] = t[k] == kBatch ? 0 : t[k];
  int32_t end_mask = 0;
  const int64_t d = in[static_cast<size_t>(dim)];
  if (d != kBatch) {  // a slice of the symbolic batch is a full one (shape inference checks)
    const size_t a = static_cast<size_t>(tflite_axis(p.src, dim));
    const auto [start, count] =
        ops_detail::slice_range(d, n.attrs.i("start", 0), n.attrs.i("end", std::numeric_limits<int64_t>::max()), step);
    begin[a] = start;
    strides[a] = step;
    if (count == 0) {
      end[a] = start;
    } else {
      const int64_t last = start + (count - 1) * step;
      const int64_t e = step > 0 ? last + 1 : last - 1;
      if (e < 0) end_mask |= 1 << a;  // a negative step down to index 0: "to the beginning"
      else end[a] = e;
    }
  }
  strided_slice(c, p.tensor, c.new_output(y, p.src), begin, end, strides, end_mask, is_f32(c, x));
}

void emit_split(Context& c, const Node& n) {
  const int x = n.inputs.at(0);
  const Shape& in = c.g.value(x).shape;
  const int dim = axis_attr(n, static_cast<int64_t>(in.size()));
  const std::vector<int64_t>& sizes = n.attrs.ints("split_sizes");
  if (sizes.size() != n.outputs.size()) c.fail(n, "split_sizes does not match the number of outputs");
  const Placed p = source(c, x);
  const int a = tflite_axis(p.src, dim);
  std::vector<int32_t> s32(sizes.begin(), sizes.end());
  const std::string base = c.tensor(p.tensor).name;
  const int sizes_t = c.const_i32(base + "_split_sizes", s32);
  const int axis_t = c.const_i32(base + "_split_axis", {a});
  std::vector<int> outs;
  for (int v : n.outputs) outs.push_back(c.new_output(v, p.src));
  fb::SplitVOptionsT o;
  o.num_splits = static_cast<int32_t>(outs.size());
  c.add_op(fb::BuiltinOperator::SPLIT_V, {p.tensor, sizes_t, axis_t}, outs, options(std::move(o)), is_f32(c, x));
}

void emit_index_select(Context& c, const Node& n) {
  const int x = n.inputs.at(0), idx = n.inputs.at(1), y = n.outputs.at(0);
  const Shape& in = c.g.value(x).shape;
  const int dim = axis_attr(n, static_cast<int64_t>(in.size()));
  const Value& iv = c.g.value(idx);
  int idx_t;
  if (iv.constant) {
    // Our indices wrap when negative, TFLite's GATHER rejects them: normalise here.
    const int64_t d = in[static_cast<size_t>(dim)];
    std::vector<int32_t> v32;
    for (int64_t v : iv.constant->to_int64_vector()) {
      if (v < 0 && d == kBatch) c.fail(n, "a negative index into the symbolic batch dimension");
      if (v < 0) v += d;
      if (v < 0 || (d != kBatch && v >= d)) c.fail(n, "index " + std::to_string(v) + " is out of range");
      v32.push_back(static_cast<int32_t>(v));
    }
    idx_t = c.add_constant(iv.name + "_i32", fb::TensorType::INT32, iv.shape, v32.data(), v32.size() * sizeof(int32_t));
  } else {
    // Run-time indices go as they are (int32/int64): a negative one is an error in TFLite's
    // GATHER rather than a wrapped index.
    idx_t = c.canonical(idx);
  }
  const Placed p = source(c, x);
  const int a = tflite_axis(p.src, dim);
  const int ir = static_cast<int>(iv.shape.size());
  // TFLite output = T[:a] + indices.shape + T[a+1:]; IR output = x[:dim] + indices.shape + x[dim+1:].
  auto map = [&](int i) { return i < 0 ? -1 : i < dim ? i : i + ir - 1; };
  Layout l;
  for (int k = 0; k < a; ++k) l.push_back(map(p.src[static_cast<size_t>(k)]));
  for (int k = 0; k < ir; ++k) l.push_back(dim + k);
  for (size_t k = static_cast<size_t>(a) + 1; k < p.src.size(); ++k) l.push_back(map(p.src[k]));
  fb::GatherOptionsT o;
  o.axis = a;
  c.add_op(fb::BuiltinOperator::GATHER, {p.tensor, idx_t}, {c.new_output(y, l)}, options(std::move(o)), is_f32(c, x));
}

// ---- cat ------------------------------------------------------------------------------------

// aten.cat (inputs and output share qparams) and quantized.cat (inputs with other qparams are
// requantized first, as our runtime does: TFLite's integer CONCATENATION needs equal qparams).
void emit_cat(Context& c, const Node& n) {
  const int y = n.outputs.at(0);
  const int64_t r = static_cast<int64_t>(c.g.value(y).shape.size());
  const int dim = axis_attr(n, r);
  // The common layout: the first activation's (constants are placed in IR order).
  Layout l = identity_layout(static_cast<size_t>(r));
  for (int v : n.inputs)
    if (!c.g.is_constant(v)) {
      l = source(c, v).src;
      break;
    }
  const bool qcat = n.op == "quantized.cat";
  const std::vector<double> scales = qcat ? n.attrs.floats("scales") : std::vector<double>{};
  const std::vector<int64_t> zps = qcat ? n.attrs.ints("zero_points") : std::vector<int64_t>{};
  if (qcat && (scales.size() != n.inputs.size() || zps.size() != n.inputs.size()))
    c.fail(n, "attributes 'scales' / 'zero_points' need one entry per input");
  const int yt = c.new_output(y, l);
  require_symmetric_int16(c, n, yt, "CONCATENATION");
  const std::optional<Quant> out_q = c.tensor_quant(yt);
  std::vector<int> ins;
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    int t = c.in_layout(n.inputs[i], l);
    if (out_q) {
      const std::optional<Quant> tq = c.tensor_quant(t);
      bool differs = !tq || !(*tq == *out_q);
      if (qcat) differs = differs || !(per_tensor(static_cast<float>(scales[i]), zps[i]) == *out_q);
      if (differs) t = requantize(c, t, *out_q);
    }
    ins.push_back(t);
  }
  fb::ConcatenationOptionsT o;
  o.axis = tflite_axis(l, dim);
  c.add_op(fb::BuiltinOperator::CONCATENATION, ins, {yt}, options(std::move(o)), is_f32(c, y));
}

// ---- pad ------------------------------------------------------------------------------------

// The fill of a constant pad as an element of the tensor's type (the lowering already put the
// value on the integer grid; saturating like the runtime's pad kernel).
int64_t integer_fill(double v, fb::TensorType type) {
  if (std::isnan(v)) return 0;
  double lo = -128, hi = 127;
  if (type == fb::TensorType::INT16) lo = -32768, hi = 32767;
  else if (type == fb::TensorType::INT32) lo = -2147483648.0, hi = 2147483647.0;
  else if (type == fb::TensorType::UINT8) lo = 0, hi = 255;
  return static_cast<int64_t>(std::clamp(v, lo, hi));
}

int scalar_fill(Context& c, const std::string& base, fb::TensorType type, double value, const std::optional<Quant>& q) {
  const Quant* qp = q ? &*q : nullptr;
  const int64_t v = integer_fill(value, type);
  switch (type) {
    case fb::TensorType::FLOAT32: {
      const float f = static_cast<float>(value);
      return c.add_constant(base + "_pad_value", type, {1}, &f, sizeof f);
    }
    case fb::TensorType::INT8: {
      const int8_t b = static_cast<int8_t>(v);
      return c.add_constant(base + "_pad_value", type, {1}, &b, sizeof b, qp);
    }
    case fb::TensorType::UINT8: {
      const uint8_t b = static_cast<uint8_t>(v);
      return c.add_constant(base + "_pad_value", type, {1}, &b, sizeof b, qp);
    }
    case fb::TensorType::INT16: {
      const int16_t b = static_cast<int16_t>(v);
      return c.add_constant(base + "_pad_value", type, {1}, &b, sizeof b, qp);
    }
    case fb::TensorType::INT32: {
      const int32_t b = static_cast<int32_t>(v);
      return c.add_constant(base + "_pad_value", type, {1}, &b, sizeof b, qp);
    }
    default: break;
  }
  throw Error("internal: no pad fill for this tensor type");
}

void emit_pad(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& in = c.g.value(x).shape;
  const size_t r = in.size();
  const std::vector<int64_t>& pads = n.attrs.ints("pad");
  if (pads.size() != 2 * r) c.fail(n, "attribute 'pad' needs 2 * rank entries");
  std::string mode = n.attrs.s("mode", "constant");
  if (mode == "edge") mode = "replicate";
  if (mode != "constant" && mode != "reflect" && mode != "replicate")
    c.fail(n, "pad mode '" + mode + "' has no TFLite equivalent");
  const bool f32 = is_f32(c, x);
  const Placed p = source(c, x);
  const Shape t = c.tensor_shape(p.tensor);
  const size_t rt = t.size();
  // Negative pads crop (STRIDED_SLICE first); the positive ones pad what is left. Cropping one side
  // never changes what the other side's reflect / replicate pad copies.
  std::vector<int64_t> crop_b(rt, 0), crop_e(rt, 0), pad_b(rt, 0), pad_e(rt, 0);
  bool crop = false, pad = false;
  for (size_t k = 0; k < rt; ++k) {
    const int a = p.src[k];
    if (a < 0) continue;
    const int64_t b = pads[static_cast<size_t>(a)], e = pads[static_cast<size_t>(a) + r];
    crop_b[k] = std::max<int64_t>(-b, 0);
    crop_e[k] = std::max<int64_t>(-e, 0);
    pad_b[k] = std::max<int64_t>(b, 0);
    pad_e[k] = std::max<int64_t>(e, 0);
    crop = crop || b < 0 || e < 0;
    pad = pad || b > 0 || e > 0;
  }
  Shape cropped = t;
  for (size_t k = 0; k < rt; ++k)
    if (t[k] != kBatch) cropped[k] = t[k] - crop_b[k] - crop_e[k];
  // Cropping first needs the crops to fit in the input (ONNX pads first, so a pad on one side may
  // make room for a larger crop on the other).
  for (size_t k = 0; k < rt; ++k)
    if (cropped[k] < 0 && t[k] != kBatch)
      c.fail(n, "negative pads removing " + std::to_string(crop_b[k] + crop_e[k]) + " from a dim of size " +
                    std::to_string(t[k]) + " have no TFLite equivalent");

  // Check the mode before writing anything.
  for (size_t k = 0; k < rt && mode != "constant"; ++k) {
    const int64_t most = std::max(pad_b[k], pad_e[k]);
    if (most == 0) continue;
    if (mode == "reflect" && most > cropped[k] - 1)
      c.fail(n, "reflect padding by " + std::to_string(most) + " of a dim of size " + std::to_string(cropped[k]) +
                    ": TFLite's MIRROR_PAD (REFLECT) pads at most size - 1");
    if (mode == "replicate" && most > 1)
      c.fail(n, "replicate padding by " + std::to_string(most) +
                    ": TFLite has no edge padding; MIRROR_PAD (SYMMETRIC) equals it only for pads of at most 1");
  }

  const int yt = c.new_output(y, p.src);
  const fb::TensorType type = c.tensor(yt).type;
  const std::optional<Quant> q = c.tensor_quant(yt);
  if (pad && mode != "constant") require_symmetric_int16(c, n, yt, "MIRROR_PAD");
  int cur = p.tensor;
  if (crop || !pad) {
    std::vector<int64_t> end(rt), ones(rt, 1);
    for (size_t k = 0; k < rt; ++k) end[k] = t[k] == kBatch ? 0 : t[k] - crop_e[k];
    const int to = pad ? c.add_tensor(c.tensor(yt).name + "_cropped", type, cropped, q ? &*q : nullptr) : yt;
    strided_slice(c, cur, to, crop_b, end, ones, 0, f32);
    if (!pad) return;
    cur = to;
  }
  std::vector<int32_t> flat;
  for (size_t k = 0; k < rt; ++k) {
    flat.push_back(static_cast<int32_t>(pad_b[k]));
    flat.push_back(static_cast<int32_t>(pad_e[k]));
  }
  const int paddings = c.const_i32_2d(c.tensor(yt).name + "_paddings", flat, static_cast<int64_t>(rt), 2);
  if (mode == "reflect" || mode == "replicate") {
    fb::MirrorPadOptionsT o;
    o.mode = mode == "reflect" ? fb::MirrorPadMode::REFLECT : fb::MirrorPadMode::SYMMETRIC;
    c.add_op(fb::BuiltinOperator::MIRROR_PAD, {cur, paddings}, {yt}, options(std::move(o)), f32);
    return;
  }
  // TFLite's PAD fills with +0.0 (float) or the output's zero point (int8, int16; checked with the
  // interpreter): anything else needs PADV2 and an explicit fill.
  const double value = n.attrs.f("value", 0.0);
  bool plain;
  if (type == fb::TensorType::FLOAT32) {
    plain = value == 0.0 && !std::signbit(value);
  } else {
    const int64_t zp = q && !q->zero_points.empty() ? q->zero_points[0] : 0;
    plain = integer_fill(value, type) == zp;
  }
  if (plain) {
    c.add_op(fb::BuiltinOperator::PAD, {cur, paddings}, {yt}, options(fb::PadOptionsT{}), f32);
    return;
  }
  const int fill = scalar_fill(c, c.tensor(yt).name, type, value, q);
  c.add_op(fb::BuiltinOperator::PADV2, {cur, paddings, fill}, {yt}, options(fb::PadV2OptionsT{}), f32);
}

}  // namespace

void register_movement_emitters(EmitterTable& t) {
  for (const char* op : {"aten.reshape.default", "aten.flatten.using_ints", "aten.squeeze.dims", "aten.unsqueeze.default",
                         "aten.clone.default"})
    t[op] = emit_reshape;
  t["aten.permute.default"] = emit_permute;
  t["aten.slice_copy.Tensor"] = emit_slice;
  t["aten.split_with_sizes.default"] = emit_split;
  t["aten.index_select.default"] = emit_index_select;
  t["aten.cat.default"] = emit_cat;
  t["quantized.cat"] = emit_cat;
  t["aten.pad.default"] = emit_pad;
}

}  // namespace eq::tflite_export
