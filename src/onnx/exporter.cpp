// Graph -> ONNX ModelProto: one ONNX op (or a short fixed sequence) per IR op, the reverse of the
// import mapping, so that import -> export -> import reproduces the graph.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>
#include <set>

#include "const_eval.h"
#include "edgequant/onnx.h"
#include "edgequant/qparams.h"
#include "tensor_proto.h"

namespace eq::onnx {
namespace {

using namespace eq::onnx_impl;
using ::onnx::AttributeProto;
using ::onnx::NodeProto;

constexpr const char* kEdgeQuantDomain = "com.edgequant";

class Exporter {
 public:
  explicit Exporter(const Graph& g) : g_(g) {}

  ::onnx::ModelProto run() {
    g_.validate();
    opset_ = choose_opset();
    model_.set_ir_version(8);
    model_.set_producer_name("edgequant");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset_);
    // Dynamic quantization's choose_qparams has no ONNX op: our own domain (onnxruntime cannot run it).
    if (std::any_of(g_.nodes.begin(), g_.nodes.end(),
                    [](const Node& n) { return n.op == "quantized_decomposed.choose_qparams.tensor"; })) {
      auto* custom = model_.add_opset_import();
      custom->set_domain(kEdgeQuantDomain);
      custom->set_version(1);
    }
    gp_ = model_.mutable_graph();
    gp_->set_name(g_.name.empty() ? "edgequant" : g_.name);
    name_values();
    for (int v : g_.inputs) value_info(gp_->add_input(), v);
    std::vector<char> referenced(g_.values.size(), 0);
    for (const Node& n : g_.nodes)
      for (int v : n.inputs)
        if (v >= 0) referenced[static_cast<size_t>(v)] = 1;
    for (int v : g_.outputs) referenced[static_cast<size_t>(v)] = 1;
    for (size_t v = 0; v < g_.values.size(); ++v)
      if (referenced[v] && g_.values[v].constant) {
        auto* init = gp_->add_initializer();
        init->set_name(names_[v]);
        tensor_to_proto(*g_.values[v].constant, *init);
      }
    for (const Node& n : g_.nodes) export_node(n);
    for (int v : g_.outputs) value_info(gp_->add_output(), v);
    return std::move(model_);
  }

 private:
  const Graph& g_;
  ::onnx::ModelProto model_;
  ::onnx::GraphProto* gp_ = nullptr;
  int64_t opset_ = 17;
  std::vector<std::string> names_;
  std::set<std::string> used_;
  std::set<std::string> node_names_;

  // The graph's opset (within the supported 13 to 21), raised to what the exported ops need:
  // 13 for QuantizeLinear/DequantizeLinear `axis` and Squeeze/Unsqueeze/Split/ReduceSum taking
  // their axes as inputs; 14 HardSwish and Reshape allowzero; 15 Shape start/end; 17
  // LayerNormalization; 19 Resize half_pixel_symmetric; 20 Gelu tanh; 21 int16/int4 tensors
  // (QuantizeLinear/DequantizeLinear on them, output_dtype).
  int64_t choose_opset() const {
    int64_t need = std::min<int64_t>(std::max<int64_t>(g_.opset, 13), 21);
    auto at_least = [&need](int64_t v) { need = std::max(need, v); };
    auto narrow = [](DType t) { return t == DType::i16 || t == DType::i4 || t == DType::u4; };
    for (const Value& v : g_.values)
      if (narrow(v.dtype) || (v.constant && narrow(v.constant->dtype()))) at_least(21);
    for (const Node& n : g_.nodes) {
      const std::string& op = n.op;
      if (op == "aten.gelu.default" && n.attrs.s("approximate", "none") != "none") at_least(20);
      if (op == "aten.hardswish.default") at_least(14);
      if (op == "aten.layer_norm.default") at_least(17);
      if (op == "aten.upsample.default" && n.attrs.s("coordinate_transformation_mode", "") == "half_pixel_symmetric") at_least(19);
      if (op == "aten.reshape.default" || op == "aten.flatten.using_ints") {
        std::vector<int64_t> target;
        if (op == "aten.reshape.default") target = n.attrs.ints("shape");
        else if (!n.outputs.empty()) target = as_target(g_.value(n.outputs[0]).shape);
        const Shape& in_shape = n.inputs.empty() || n.inputs[0] < 0 ? Shape{} : g_.value(n.inputs[0]).shape;
        bool zero = false, token_moved = false;
        for (size_t i = 0; i < target.size(); ++i) {
          zero = zero || target[i] == 0;
          token_moved = token_moved || (target[i] == kBatchToken && !(i < in_shape.size() && in_shape[i] == kBatch));
        }
        if (zero) at_least(14);
        if (token_moved || (zero && std::find(target.begin(), target.end(), kBatchToken) != target.end())) at_least(15);
      }
      if (op.rfind("quantized_decomposed.quantize", 0) == 0 && n.attrs.has("dtype") && (n.inputs.size() < 3 || n.inputs[2] < 0)) {
        const std::string dt = n.attrs.s("dtype", "u8");
        if (dt == "i16" || dt == "i4" || dt == "u4") at_least(21);
      }
    }
    return need;
  }

  std::string fresh(const std::string& base) {
    std::string b = base.empty() ? "t" : base;
    if (used_.insert(b).second) return b;
    for (int k = 1;; ++k) {
      std::string c = b + "_" + std::to_string(k);
      if (used_.insert(c).second) return c;
    }
  }

  void name_values() {
    names_.resize(g_.values.size());
    // Graph inputs and outputs keep their names first.
    for (int v : g_.inputs) names_[static_cast<size_t>(v)] = fresh(g_.value(v).name);
    for (int v : g_.outputs)
      if (names_[static_cast<size_t>(v)].empty()) names_[static_cast<size_t>(v)] = fresh(g_.value(v).name);
    for (size_t v = 0; v < g_.values.size(); ++v)
      if (names_[v].empty()) names_[v] = fresh(g_.values[v].name);
  }

  void value_info(::onnx::ValueInfoProto* vi, int v) {
    const Value& val = g_.value(v);
    vi->set_name(names_[static_cast<size_t>(v)]);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(dtype_to_onnx(val.dtype));
    auto* sh = tt->mutable_shape();
    for (int64_t d : val.shape) {
      auto* dim = sh->add_dim();
      if (d == kBatch) dim->set_dim_param("batch");
      else dim->set_dim_value(d);
    }
  }

  std::string in(const Node& n, size_t i) const {
    return i < n.inputs.size() && n.inputs[i] >= 0 ? names_[static_cast<size_t>(n.inputs[i])] : std::string();
  }
  std::string out(const Node& n, size_t i = 0) const { return names_[static_cast<size_t>(n.outputs.at(i))]; }

  std::string constant(const Tensor& t, const std::string& base) {
    auto* init = gp_->add_initializer();
    init->set_name(fresh(base));
    tensor_to_proto(t, *init);
    return init->name();
  }
  std::string ints(const std::vector<int64_t>& v, const std::string& base) {
    return constant(Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v), base);
  }
  std::string scalar_like(DType dt, double value, const std::string& base) {
    if (!dtype_is_float(dt)) {  // integer bounds: clamp ±inf and out-of-range values to the dtype
      const int bits = dtype_bits(dt);
      const bool is_unsigned = dt == DType::u8 || dt == DType::u4 || dt == DType::boolean;
      const double lo = is_unsigned ? 0.0 : -std::ldexp(1.0, bits - 1), hi = is_unsigned ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
      value = std::isnan(value) ? 0.0 : std::min(std::max(value, lo), hi);
    }
    return constant(make_tensor_f64(dt, {}, {value}), base);
  }
  std::string temp(const std::string& base) { return fresh(base); }
  // ONNX Runtime rejects a model in which two nodes share a non-empty name: a repeated name
  // (the IR does not forbid them) gets a suffix.
  std::string unique_node_name(const std::string& base) {
    if (base.empty() || node_names_.insert(base).second) return base;
    for (int k = 1;; ++k) {
      std::string c = base + "_" + std::to_string(k);
      if (node_names_.insert(c).second) return c;
    }
  }

  NodeProto* add(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs, const std::string& name) {
    NodeProto* p = gp_->add_node();
    p->set_op_type(op);
    p->set_name(unique_node_name(name));
    while (!ins.empty() && ins.back().empty()) ins.pop_back();
    for (auto& s : ins) p->add_input(s);
    for (auto& s : outs) p->add_output(s);
    return p;
  }
  static void attr_i(NodeProto* p, const std::string& n, int64_t v) {
    auto* a = p->add_attribute();
    a->set_name(n);
    a->set_type(AttributeProto::INT);
    a->set_i(v);
  }
  static void attr_f(NodeProto* p, const std::string& n, double v) {
    auto* a = p->add_attribute();
    a->set_name(n);
    a->set_type(AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static void attr_s(NodeProto* p, const std::string& n, const std::string& v) {
    auto* a = p->add_attribute();
    a->set_name(n);
    a->set_type(AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr_ints(NodeProto* p, const std::string& n, const std::vector<int64_t>& v) {
    auto* a = p->add_attribute();
    a->set_name(n);
    a->set_type(AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  const Shape& shape_of(const Node& n, size_t i) const { return g_.value(n.inputs.at(i)).shape; }

  // A [1] i64 tensor holding the batch, from the first graph input that has it.
  std::string batch_dim(const std::string& node_name) {
    for (int v : g_.inputs) {
      const Shape& s = g_.value(v).shape;
      for (size_t d = 0; d < s.size(); ++d)
        if (s[d] == kBatch) {
          const std::string o = temp(node_name + "/batch");
          NodeProto* p = add("Shape", {names_[static_cast<size_t>(v)]}, {o}, node_name + "/Shape");
          attr_i(p, "start", static_cast<int64_t>(d));
          attr_i(p, "end", static_cast<int64_t>(d + 1));
          return o;
        }
    }
    throw Error("export: node '" + node_name + "': a reshape refers to the batch but no graph input has a symbolic batch");
  }

  // A Reshape of `x` to `target` (may hold kBatchToken) named `name`.
  void reshape(const std::string& x, const Shape& in_shape, std::vector<int64_t> target, const std::string& o, const std::string& name) {
    bool has_token = false, has_zero = false;
    for (int64_t d : target) {
      has_token = has_token || d == kBatchToken;
      has_zero = has_zero || d == 0;
    }
    if (has_token && !has_zero)
      for (size_t i = 0; i < target.size(); ++i)
        if (target[i] == kBatchToken && i < in_shape.size() && in_shape[i] == kBatch) target[i] = 0;
    has_token = false;
    for (int64_t d : target) has_token = has_token || d == kBatchToken;
    std::string shape_name;
    if (!has_token) {
      shape_name = ints(target, name + "/shape");
    } else {
      std::vector<std::string> parts;
      std::vector<int64_t> run;
      for (int64_t d : target) {
        if (d == kBatchToken) {
          if (!run.empty()) parts.push_back(ints(run, name + "/shape_part"));
          run.clear();
          parts.push_back(batch_dim(name));
        } else {
          run.push_back(d);
        }
      }
      if (!run.empty()) parts.push_back(ints(run, name + "/shape_part"));
      shape_name = temp(name + "/shape");
      attr_i(add("Concat", parts, {shape_name}, name + "/Concat"), "axis", 0);
    }
    NodeProto* p = add("Reshape", {x, shape_name}, {o}, name);
    if (has_zero) attr_i(p, "allowzero", 1);
  }

  void export_node(const Node& n) {
    static const std::map<std::string, std::string> simple = {
        {"aten.relu.default", "Relu"},       {"aten.sigmoid.default", "Sigmoid"}, {"aten.tanh.default", "Tanh"},
        {"aten.abs.default", "Abs"},         {"aten.neg.default", "Neg"},         {"aten.exp.default", "Exp"},
        {"aten.sqrt.default", "Sqrt"},       {"aten.reciprocal.default", "Reciprocal"},       {"aten.erf.default", "Erf"},         {"aten.hardswish.default", "HardSwish"},
        {"aten.clone.default", "Identity"},  {"aten.add.Tensor", "Add"},          {"aten.sub.Tensor", "Sub"},
        {"aten.mul.Tensor", "Mul"},          {"aten.div.Tensor", "Div"},          {"aten.pow.Tensor_Tensor", "Pow"},
        {"aten.prelu.default", "PRelu"},     {"aten.matmul.default", "MatMul"}};
    const Attrs& a = n.attrs;
    const std::string& op = n.op;
    if (auto it = simple.find(op); it != simple.end()) {
      std::vector<std::string> ins;
      for (size_t i = 0; i < n.inputs.size(); ++i) ins.push_back(in(n, i));
      add(it->second, ins, {out(n)}, n.name);
    } else if (op == "aten.hardsigmoid.default") {
      NodeProto* p = add("HardSigmoid", {in(n, 0)}, {out(n)}, n.name);
      attr_f(p, "alpha", a.f("alpha", 1.0 / 6.0));
      attr_f(p, "beta", a.f("beta", 0.5));
    } else if (op == "aten.leaky_relu.default") {
      attr_f(add("LeakyRelu", {in(n, 0)}, {out(n)}, n.name), "alpha", a.f("negative_slope", 0.01));
    } else if (op == "aten.hardtanh.default") {
      const DType dt = g_.value(n.inputs[0]).dtype;
      add("Clip", {in(n, 0), scalar_like(dt, a.f("min_val", -1.0), n.name + "/min"), scalar_like(dt, a.f("max_val", 1.0), n.name + "/max")},
          {out(n)}, n.name);
    } else if (op == "aten.gelu.default") {
      export_gelu(n);
    } else if (op == "aten.softmax.int" || op == "aten.log_softmax.int") {
      attr_i(add(op == "aten.softmax.int" ? "Softmax" : "LogSoftmax", {in(n, 0)}, {out(n)}, n.name), "axis", a.i("dim"));
    } else if (op == "aten.layer_norm.default") {
      const Shape& x = shape_of(n, 0);
      const int64_t axis = a.i("axis");
      std::string w = in(n, 1);
      if (w.empty()) {
        Shape ws(x.begin() + std::min<int64_t>(axis, static_cast<int64_t>(x.size())), x.end());
        check(shape_is_static(ws), "export: " + n.describe() + ": normalised shape " + shape_str(ws) + " is not static");
        Tensor ones(g_.value(n.inputs[0]).dtype, ws);
        w = constant(ce_expand(make_tensor_f64(ones.dtype(), {}, {1.0}), ws), n.name + "/ones");
      }
      NodeProto* p = add("LayerNormalization", {in(n, 0), w, in(n, 2)}, {out(n)}, n.name);
      attr_i(p, "axis", axis);
      attr_f(p, "epsilon", a.f("eps", 1e-5));
    } else if (op == "aten._native_batch_norm_legit_no_training.default") {
      NodeProto* p = add("BatchNormalization", {in(n, 0), in(n, 1), in(n, 2), in(n, 3), in(n, 4)}, {out(n)}, n.name);
      attr_f(p, "epsilon", a.f("eps", 1e-5));
      attr_f(p, "momentum", a.f("momentum", 0.9));
    } else if (op == "aten.conv1d.default" || op == "aten.conv2d.default") {
      NodeProto* p = add("Conv", {in(n, 0), in(n, 1), in(n, 2)}, {out(n)}, n.name);
      attr_ints(p, "strides", a.ints("stride"));
      attr_ints(p, "pads", a.ints("padding"));
      attr_ints(p, "dilations", a.ints("dilation"));
      attr_i(p, "group", a.i("groups", 1));
    } else if (op == "aten.conv_transpose1d.default" || op == "aten.conv_transpose2d.input") {
      NodeProto* p = add("ConvTranspose", {in(n, 0), in(n, 1), in(n, 2)}, {out(n)}, n.name);
      attr_ints(p, "strides", a.ints("stride"));
      attr_ints(p, "pads", a.ints("padding"));
      attr_ints(p, "output_padding", a.ints("output_padding"));
      attr_ints(p, "dilations", a.ints("dilation"));
      attr_i(p, "group", a.i("groups", 1));
    } else if (op == "aten.linear.default") {
      export_linear(n);
    } else if (op == "aten.max_pool1d.default" || op == "aten.max_pool2d.default") {
      NodeProto* p = add("MaxPool", {in(n, 0)}, {out(n)}, n.name);
      attr_ints(p, "kernel_shape", a.ints("kernel_size"));
      attr_ints(p, "strides", a.ints("stride"));
      attr_ints(p, "pads", a.ints("padding"));
      attr_ints(p, "dilations", a.ints("dilation", std::vector<int64_t>(a.ints("kernel_size").size(), 1)));
      attr_i(p, "ceil_mode", a.i("ceil_mode", 0));
    } else if (op == "aten.avg_pool1d.default" || op == "aten.avg_pool2d.default") {
      NodeProto* p = add("AveragePool", {in(n, 0)}, {out(n)}, n.name);
      attr_ints(p, "kernel_shape", a.ints("kernel_size"));
      attr_ints(p, "strides", a.ints("stride"));
      attr_ints(p, "pads", a.ints("padding"));
      attr_i(p, "ceil_mode", a.i("ceil_mode", 0));
      attr_i(p, "count_include_pad", a.i("count_include_pad", 0));
    } else if (op == "aten.adaptive_avg_pool2d.default") {
      check(a.ints("output_size") == std::vector<int64_t>{1, 1}, "export: " + n.describe() + ": only output_size [1,1] can be exported");
      add("GlobalAveragePool", {in(n, 0)}, {out(n)}, n.name);
    } else if (op == "aten.mean.dim" || op == "aten.sum.dim_IntList" || op == "aten.amax.default") {
      const std::string onnx_op = op == "aten.mean.dim" ? "ReduceMean" : op == "aten.sum.dim_IntList" ? "ReduceSum" : "ReduceMax";
      const bool axes_input = onnx_op == "ReduceSum" ? opset_ >= 13 : opset_ >= 18;
      const std::vector<int64_t> dims = a.ints("dim", {});
      NodeProto* p = add(onnx_op, {in(n, 0), axes_input && !dims.empty() ? ints(dims, n.name + "/axes") : ""}, {out(n)}, n.name);
      if (!axes_input && !dims.empty()) attr_ints(p, "axes", dims);
      attr_i(p, "keepdims", a.i("keepdim", 0));
    } else if (op == "aten.flatten.using_ints") {
      const Shape& x = shape_of(n, 0);
      const int64_t r = static_cast<int64_t>(x.size());
      const int64_t s = a.i("start_dim", 0), e = a.i("end_dim", -1);
      if (s == 1 && (e == -1 || e == r - 1) && r >= 2) {
        attr_i(add("Flatten", {in(n, 0)}, {out(n)}, n.name), "axis", 1);
      } else {
        reshape(in(n, 0), x, as_target(g_.value(n.outputs[0]).shape), out(n), n.name);
      }
    } else if (op == "aten.reshape.default") {
      reshape(in(n, 0), shape_of(n, 0), a.ints("shape"), out(n), n.name);
    } else if (op == "aten.permute.default") {
      attr_ints(add("Transpose", {in(n, 0)}, {out(n)}, n.name), "perm", a.ints("dims"));
    } else if (op == "aten.squeeze.dims") {
      add("Squeeze", {in(n, 0), ints(a.ints("dim"), n.name + "/axes")}, {out(n)}, n.name);
    } else if (op == "aten.unsqueeze.default") {
      add("Unsqueeze", {in(n, 0), ints(a.ints("dim"), n.name + "/axes")}, {out(n)}, n.name);
    } else if (op == "aten.cat.default") {
      std::vector<std::string> ins;
      for (size_t i = 0; i < n.inputs.size(); ++i) ins.push_back(in(n, i));
      attr_i(add("Concat", ins, {out(n)}, n.name), "axis", a.i("dim"));
    } else if (op == "aten.slice_copy.Tensor") {
      add("Slice", {in(n, 0), ints({a.i("start", 0)}, n.name + "/starts"), ints({a.i("end", std::numeric_limits<int64_t>::max())}, n.name + "/ends"),
                    ints({a.i("dim", 0)}, n.name + "/axes"), ints({a.i("step", 1)}, n.name + "/steps")},
          {out(n)}, n.name);
    } else if (op == "aten.split_with_sizes.default") {
      std::vector<std::string> outs;
      for (size_t k = 0; k < n.outputs.size(); ++k) outs.push_back(out(n, k));
      attr_i(add("Split", {in(n, 0), ints(a.ints("split_sizes"), n.name + "/split")}, outs, n.name), "axis", a.i("dim", 0));
    } else if (op == "aten.index_select.default") {
      attr_i(add("Gather", {in(n, 0), in(n, 1)}, {out(n)}, n.name), "axis", a.i("dim", 0));
    } else if (op == "aten.pad.default") {
      std::string mode = a.s("mode", "constant");
      if (mode == "replicate") mode = "edge";
      const DType dt = g_.value(n.inputs[0]).dtype;
      NodeProto* p = add("Pad", {in(n, 0), ints(a.ints("pad"), n.name + "/pads"),
                                 mode == "constant" ? scalar_like(dt, a.f("value", 0.0), n.name + "/value") : ""},
                         {out(n)}, n.name);
      attr_s(p, "mode", mode);
    } else if (op == "aten.upsample.default") {
      export_upsample(n);
    } else if (op == "quantized_decomposed.choose_qparams.tensor") {
      export_choose_qparams(n);
    } else if (op.rfind("quantized_decomposed.", 0) == 0) {
      export_qdq(n);
    } else {
      throw Error("export: " + n.describe() + ": no ONNX mapping for this op");
    }
  }

  static std::vector<int64_t> as_target(const Shape& s) {
    std::vector<int64_t> t(s.begin(), s.end());
    for (int64_t& d : t)
      if (d == kBatch) d = kBatchToken;
    return t;
  }

  void export_gelu(const Node& n) {
    const std::string approx = n.attrs.s("approximate", "none");
    if (approx != "none" || opset_ >= 20) {
      attr_s(add("Gelu", {in(n, 0)}, {out(n)}, n.name), "approximate", approx);
      return;
    }
    // Opset < 20 has no Gelu: the erf form PyTorch exports, which import fuses back.
    const std::string x = in(n, 0);
    const std::string d = temp(n.name + "/div"), e = temp(n.name + "/erf"), p1 = temp(n.name + "/add"), m = temp(n.name + "/mul");
    add("Div", {x, constant(Tensor::scalar<float>(static_cast<float>(std::sqrt(2.0))), n.name + "/sqrt2")}, {d}, n.name + "/Div");
    add("Erf", {d}, {e}, n.name + "/Erf");
    add("Add", {e, constant(Tensor::scalar<float>(1.0f), n.name + "/one")}, {p1}, n.name + "/Add");
    add("Mul", {x, p1}, {m}, n.name + "/Mul");
    add("Mul", {m, constant(Tensor::scalar<float>(0.5f), n.name + "/half")}, {out(n)}, n.name);
  }

  void export_linear(const Node& n) {
    const Shape& x = shape_of(n, 0);
    const bool w_const = g_.is_constant(n.inputs[1]);
    if (x.size() == 2) {
      NodeProto* p = add("Gemm", {in(n, 0), in(n, 1), in(n, 2)}, {out(n)}, n.name);
      attr_i(p, "transB", 1);
      return;
    }
    std::string wt;
    if (w_const) {
      wt = constant(ce_transpose(*g_.value(n.inputs[1]).constant, {1, 0}), names_[static_cast<size_t>(n.inputs[1])] + ".T");
    } else {
      wt = temp(n.name + "/wT");
      attr_ints(add("Transpose", {in(n, 1)}, {wt}, n.name + "/Transpose"), "perm", {1, 0});
    }
    if (n.inputs.size() < 3 || n.inputs[2] < 0) {
      add("MatMul", {in(n, 0), wt}, {out(n)}, n.name);
      return;
    }
    const std::string mm = temp(n.name + "/matmul");
    add("MatMul", {in(n, 0), wt}, {mm}, n.name);
    add("Add", {mm, in(n, 2)}, {out(n)}, n.name + "/Add");
  }

  void export_upsample(const Node& n) {
    const Attrs& a = n.attrs;
    const Shape& x = shape_of(n, 0);
    const std::vector<int64_t> sizes = a.ints("sizes", {});
    const std::vector<double> scales = a.floats("scales", {});
    bool use_scales = !scales.empty();
    for (size_t i = 0; use_scales && i < scales.size(); ++i) {
      const float f = static_cast<float>(scales[i]);
      use_scales = static_cast<double>(f) == scales[i] &&
                   (x[i] == kBatch || sizes.empty() || static_cast<int64_t>(std::floor(static_cast<double>(x[i]) * f)) == sizes[i]);
    }
    bool sizes_have_batch = false;
    for (int64_t s : sizes) sizes_have_batch = sizes_have_batch || s == kBatch || s == kBatchToken;
    if (!use_scales && (sizes.empty() || sizes_have_batch)) use_scales = !scales.empty();
    check(use_scales || !sizes.empty(), "export: " + n.describe() + ": needs sizes or scales");
    std::string scales_name, sizes_name;
    if (use_scales) {
      std::vector<double> s = scales;
      scales_name = constant(make_tensor_f64(DType::f32, {static_cast<int64_t>(s.size())}, s), n.name + "/scales");
    } else {
      sizes_name = ints(sizes, n.name + "/sizes");
    }
    NodeProto* p = add("Resize", {in(n, 0), "", scales_name, sizes_name}, {out(n)}, n.name);
    attr_s(p, "mode", a.s("mode", "nearest"));
    std::string ctm = a.s("coordinate_transformation_mode", "half_pixel");
    if (ctm == "tf_half_pixel_for_nn") ctm = "tf_half_pixel_for_nearest";
    attr_s(p, "coordinate_transformation_mode", ctm);
    attr_s(p, "nearest_mode", a.s("nearest_mode", "round_prefer_floor"));
    attr_f(p, "cubic_coeff_a", a.f("cubic_coeff_a", -0.75));
    attr_i(p, "exclude_outside", a.i("exclude_outside", 0));
  }

  // com.edgequant ChooseQParams(x) -> (scale f32 scalar, zero_point scalar of `dtype`), attributes
  // quant_min, quant_max (int), eps (float), dtype (ONNX TensorProto type of the zero point).
  void export_choose_qparams(const Node& n) {
    NodeProto* p = add("ChooseQParams", {in(n, 0)}, {out(n, 0), out(n, 1)}, n.name);
    p->set_domain(kEdgeQuantDomain);
    attr_i(p, "quant_min", n.attrs.i("quant_min"));
    attr_i(p, "quant_max", n.attrs.i("quant_max"));
    attr_f(p, "eps", n.attrs.f("eps", kDefaultQuantEps));
    attr_i(p, "dtype", dtype_to_onnx(g_.value(n.outputs[1]).dtype));
  }

  void export_qdq(const Node& n) {
    const bool quantize = n.op.find(".quantize_") != std::string::npos;
    const bool per_channel = n.op.find("per_channel") != std::string::npos;
    std::string zp = in(n, 2);
    NodeProto* p = nullptr;
    if (quantize) {
      const DType out_dt = g_.value(n.outputs[0]).dtype;
      bool set_output_dtype = false;
      if (zp.empty() && out_dt != DType::u8) {
        if (opset_ >= 21) {
          set_output_dtype = true;
        } else {
          const Shape zs = g_.value(n.inputs[1]).shape;
          check(shape_is_static(zs), "export: " + n.describe() + ": scale shape is not static");
          zp = constant(Tensor(out_dt, zs), n.name + "/zero_point");
        }
      }
      p = add("QuantizeLinear", {in(n, 0), in(n, 1), zp}, {out(n)}, n.name);
      if (set_output_dtype) attr_i(p, "output_dtype", dtype_to_onnx(out_dt));
    } else {
      p = add("DequantizeLinear", {in(n, 0), in(n, 1), zp}, {out(n)}, n.name);
    }
    if (per_channel) attr_i(p, "axis", n.attrs.i("axis", 1));
  }
};

std::string serialize(const Graph& g) {
  const ::onnx::ModelProto model = Exporter(g).run();
  std::string bytes;
  check(model.ByteSizeLong() < (size_t{1} << 31) && model.SerializeToString(&bytes),
        "export: the model does not fit a 2 GiB protobuf");
  return bytes;
}

}  // namespace

std::string save_to_bytes(const Graph& g) { return serialize(g); }

void save(const Graph& g, const std::string& path) {
  const std::string bytes = serialize(g);  // errors before touching the file system
  std::string tmpl = path + ".tmpXXXXXX";
  const int fd = mkstemp(tmpl.data());
  check(fd >= 0, "cannot create a temporary file next to '" + path + "': " + std::strerror(errno));
  ::fchmod(fd, 0644);
  size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    ok = w > 0;
    if (ok) done += static_cast<size_t>(w);
  }
  const int err = errno;
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(tmpl.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(err ? err : EIO));
  }
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
}

}  // namespace eq::onnx
