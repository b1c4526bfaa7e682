// convert_pt2e: observed ranges → a QDQ graph.
//
// Like torchao's convert, each group's observer becomes quantize → dequantize at every position
// of the group: after a node output (its readers then read the dequantized value), or on an input
// edge (only when the edge is not already covered by its producer's output in the same group).
// Constant inputs (weights, bias) are quantized here and stored as integers behind a dequantize,
// as torchao's constant folding of quantize(weight) leaves them. A dynamic group (no observer)
// becomes choose_qparams → quantize → dequantize at each position, as torchao's convert writes it.
#include <cmath>
#include <map>

#include "edgequant/error.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

Tensor integer_tensor(DType dtype, Shape shape, const std::vector<int64_t>& v) {
  Tensor t(dtype, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dtype) {
      case DType::i8: t.data<int8_t>()[i] = static_cast<int8_t>(v[i]); break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]); break;
      case DType::i16: t.data<int16_t>()[i] = static_cast<int16_t>(v[i]); break;
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(v[i]); break;
      default: throw Error("convert_pt2e: cannot store quantized values as " + std::string(dtype_name(dtype)) +
                           " (supported: i8, u8, i16, i32)");
    }
  }
  return t;
}

class Converter {
 public:
  explicit Converter(const Prepared& p) : p_(p), g_(p.graph()) {}

  Graph run() {
    const auto& groups = p_.groups();
    qparams_.resize(groups.size());
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      if (groups[gi].dynamic) continue;  // chosen at run time: see add_dynamic_qdq
      qparams_[gi] = p_.group_qparams(static_cast<int>(gi));
      const QParams& q = qparams_[gi];
      for (float s : q.scale)
        check(std::isfinite(s) && s > 0, "convert_pt2e: the " + groups[gi].root.describe(g_) + " got scale " +
                                             std::to_string(s) + " (must be finite and > 0)");
    }
    const auto consumers = g_.consumers();
    const Graph& orig = p_.graph();
    // Node outputs first: their readers switch to the dequantized value.
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      for (const EdgeOrNode& m : groups[gi].members) {
        if (m.is_edge()) continue;
        const int v = m.value(orig);
        const int dq = qdq_for_group(v, gi, g_.value(v).name);
        for (int c : consumers[static_cast<size_t>(v)]) {
          for (int& in : g_.nodes[static_cast<size_t>(c)].inputs)
            if (in == v) in = dq;
        }
        for (int& o : g_.outputs) {
          if (o != v) continue;
          o = dq;
          // The model output keeps its name (users fetch outputs by name); the float value before
          // the quantize gets a suffix.
          const std::string name = g_.value(v).name;
          g_.value(v).name = g_.unique_value_name(name + "_float");
          g_.value(dq).name = name;
        }
        out_dq_[v] = {static_cast<int>(gi), dq};
      }
    }
    // Then input edges.
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      for (const EdgeOrNode& m : groups[gi].members) {
        if (!m.is_edge()) continue;
        const int v = m.value(orig);
        // (no reference into g_.nodes is held across add_qdq: it appends nodes)
        auto set_input = [&](int nv) { g_.nodes[static_cast<size_t>(m.node)].inputs[static_cast<size_t>(m.input)] = nv; };
        if (g_.is_constant(v)) {
          check(!groups[gi].dynamic, "convert_pt2e: the " + m.describe(orig) +
                                         " is a constant with a dynamic quantization spec (quantize constants statically)");
          set_input(quantized_constant(v, static_cast<int>(gi)));
          continue;
        }
        auto od = out_dq_.find(v);
        if (od != out_dq_.end() && od->second.first == static_cast<int>(gi)) continue;  // covered by the output
        const int src = od != out_dq_.end() ? od->second.second : v;
        const auto key = std::make_pair(src, static_cast<int>(gi));
        auto it = edge_cache_.find(key);
        if (it == edge_cache_.end()) {
          const int dq = qdq_for_group(src, gi, g_.value(v).name);
          it = edge_cache_.emplace(key, dq).first;
        }
        set_input(it->second);
      }
    }
    g_.sort();
    g_.remove_dead();
    g_.validate();
    return std::move(g_);
  }

 private:
  int scalar_or_vector_constant(std::string base, const QParams& q, bool zero_point) {
    const bool pc = q.per_channel();
    const Shape shape = pc ? Shape{static_cast<int64_t>(q.scale.size())} : Shape{};
    if (!zero_point) {
      return g_.add_constant(g_.unique_value_name(base + "_scale"), Tensor::from_vector<float>(shape, q.scale));
    }
    std::vector<int64_t> zp(q.zero_point.begin(), q.zero_point.end());
    return g_.add_constant(g_.unique_value_name(base + "_zero_point"), integer_tensor(q.dtype, shape, zp));
  }

  Attrs axis_attrs(const QParams& q) const {
    Attrs a;
    if (q.per_channel()) a.set("axis", static_cast<int64_t>(q.axis));
    return a;
  }

  int qdq_for_group(int src, size_t gi, const std::string& base) {
    const SharingGroup& grp = p_.groups()[gi];
    if (grp.dynamic) return add_dynamic_qdq(src, std::get<QuantizationSpec>(grp.spec), base);
    return add_qdq(src, qparams_[gi], base);
  }

  // torchao's dynamic pattern: src → choose_qparams.tensor → (scale, zero point) →
  // quantize_per_tensor(src, scale, zp) → dequantize_per_tensor(·, scale, zp); returns the
  // dequantized value. The Q/DQ nodes are the static ones reading non-constant qparams.
  int add_dynamic_qdq(int src, const QuantizationSpec& spec, std::string base) {
    const Value sv = g_.value(src);
    Attrs a;
    a.set("quant_min", spec.quant_min);
    a.set("quant_max", spec.quant_max);
    a.set("eps", static_cast<double>(spec.eps));
    a.set("dtype", std::string(dtype_name(spec.dtype)));
    const int cn = g_.add_node("quantized_decomposed.choose_qparams.tensor", base + "_choose_qparams", {src}, 2, a);
    const int scale = g_.nodes[static_cast<size_t>(cn)].outputs[0];
    const int zp = g_.nodes[static_cast<size_t>(cn)].outputs[1];
    g_.value(scale).name = g_.unique_value_name(base + "_scale");
    g_.value(scale).dtype = DType::f32;
    g_.value(scale).shape = {};
    g_.value(zp).name = g_.unique_value_name(base + "_zero_point");
    g_.value(zp).dtype = spec.dtype;
    g_.value(zp).shape = {};
    const int qn = g_.add_node("quantized_decomposed.quantize_per_tensor.default", base + "_quantize", {src, scale, zp}, 1);
    const int qv = g_.nodes[static_cast<size_t>(qn)].outputs[0];
    g_.value(qv).name = g_.unique_value_name(base + "_q");
    g_.value(qv).dtype = spec.dtype;
    g_.value(qv).shape = sv.shape;
    QParams per_tensor;  // only per_channel() is read: per tensor
    return add_dequantize(qv, scale, zp, per_tensor, base, sv.shape);
  }

  // src → quantize → dequantize; returns the dequantized value.
  int add_qdq(int src, const QParams& q, std::string base) {  // base by value: adding values may move names
    const Value sv = g_.value(src);
    const int scale = scalar_or_vector_constant(base, q, false);
    const int zp = scalar_or_vector_constant(base, q, true);
    const bool pc = q.per_channel();
    const int qn = g_.add_node(pc ? "quantized_decomposed.quantize_per_channel.default"
                                  : "quantized_decomposed.quantize_per_tensor.default",
                               base + "_quantize", {src, scale, zp}, 1, axis_attrs(q));
    const int qv = g_.nodes[static_cast<size_t>(qn)].outputs[0];
    g_.value(qv).name = g_.unique_value_name(base + "_q");
    g_.value(qv).dtype = q.dtype;
    g_.value(qv).shape = sv.shape;
    return add_dequantize(qv, scale, zp, q, base, sv.shape);
  }

  // q → dequantize(q, scale, zp); returns the f32 value.
  int add_dequantize(int qv, int scale, int zp, const QParams& q, const std::string& base, const Shape& shape) {
    const int dn = g_.add_node(q.per_channel() ? "quantized_decomposed.dequantize_per_channel.default"
                                               : "quantized_decomposed.dequantize_per_tensor.default",
                               base + "_dequantize", {qv, scale, zp}, 1, axis_attrs(q));
    const int dv = g_.nodes[static_cast<size_t>(dn)].outputs[0];
    g_.value(dv).name = g_.unique_value_name(base + "_dq");
    g_.value(dv).dtype = DType::f32;
    g_.value(dv).shape = shape;
    return dv;
  }

  // A constant quantized now: integer constant → dequantize. Cached per (value, group).
  int quantized_constant(int v, int gi) {
    const auto key = std::make_pair(v, gi);
    if (auto it = const_cache_.find(key); it != const_cache_.end()) return it->second;
    const QParams& q = qparams_[static_cast<size_t>(gi)];
    const Tensor w = *g_.value(v).constant;  // a copy (shared storage): adding values below moves g_.values
    const std::string base = g_.value(v).name;
    const int64_t n = w.numel();
    const float* x = w.data<float>();
    std::vector<int64_t> out(static_cast<size_t>(n));
    int64_t channels = 1, inner = n;
    if (q.per_channel()) {
      check(q.axis < w.rank(), "convert_pt2e: per-channel axis " + std::to_string(q.axis) + " is out of range for '" +
                                   base + "' of shape " + shape_str(w.shape()));
      channels = w.dim(q.axis);
      check(static_cast<int64_t>(q.scale.size()) == channels,
            "convert_pt2e: '" + base + "' has " + std::to_string(channels) + " channels on axis " +
                std::to_string(q.axis) + " but its qparams have " + std::to_string(q.scale.size()));
      inner = 1;
      for (int64_t d = q.axis + 1; d < w.rank(); ++d) inner *= w.dim(d);
    }
    for (int64_t i = 0; i < n; ++i) {
      const size_t c = static_cast<size_t>(q.per_channel() ? (i / inner) % channels : 0);
      out[static_cast<size_t>(i)] = quantize_value(x[i], q.scale[c], q.zero_point[c], q.qmin, q.qmax);
    }
    const int qc = g_.add_constant(g_.unique_value_name(base + "_quantized"), integer_tensor(q.dtype, w.shape(), out));
    const int scale = scalar_or_vector_constant(base, q, false);
    const int zp = scalar_or_vector_constant(base, q, true);
    const int dv = add_dequantize(qc, scale, zp, q, base, w.shape());
    const_cache_[key] = dv;
    return dv;
  }

  const Prepared& p_;
  Graph g_;
  std::vector<QParams> qparams_;
  std::map<int, std::pair<int, int>> out_dq_;  // value -> (group, dequantized value)
  std::map<std::pair<int, int>, int> edge_cache_;
  std::map<std::pair<int, int>, int> const_cache_;
};

}  // namespace

Graph convert_pt2e(const Prepared& prepared) { return Converter(prepared).run(); }

}  // namespace eq
