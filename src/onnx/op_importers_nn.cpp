// Convolution, Gemm/MatMul, normalisation, softmax and pooling.
#include <cmath>
#include <optional>

#include "const_eval.h"
#include "import_context.h"

namespace eq::onnx_impl {
namespace {

Shape batch_as_token(const Shape& s) {
  Shape out = s;
  for (int64_t& d : out)
    if (d == kBatch) d = kBatchToken;
  return out;
}

std::vector<int64_t> per_dim(const NodeImport& n, const std::string& attr, size_t k, int64_t fallback) {
  std::vector<int64_t> v = n.check_small(n.attr_ints(attr, std::vector<int64_t>(k, fallback)), "attribute '" + attr + "'");
  n.require(v.size() == k, "attribute '" + attr + "' has " + std::to_string(v.size()) + " entries, expected " + std::to_string(k));
  return v;
}

// Explicit [begins..., ends...] padding from pads/auto_pad for a conv or pool with spatial input dims.
std::vector<int64_t> resolve_pads(const NodeImport& n, const Shape& x, const std::vector<int64_t>& kernel,
                                  const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations) {
  const size_t k = kernel.size();
  const std::string auto_pad = n.attr_s("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    std::vector<int64_t> pads = n.check_small(n.attr_ints("pads", std::vector<int64_t>(2 * k, 0)), "attribute 'pads'");
    n.require(pads.size() == 2 * k, "attribute 'pads' has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * k));
    for (int64_t p : pads) n.require(p >= 0, "negative pads");
    return pads;
  }
  if (auto_pad == "VALID") return std::vector<int64_t>(2 * k, 0);
  n.require(auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER", "unknown auto_pad '" + auto_pad + "'");
  std::vector<int64_t> pads(2 * k, 0);
  for (size_t i = 0; i < k; ++i) {
    const int64_t in = x[2 + i], s = strides[i];
    n.require(in >= 0, "auto_pad needs static spatial dimensions, got " + shape_str(x));
    n.require(s > 0 && kernel[i] > 0 && dilations[i] > 0 && in < (int64_t{1} << 40) && kernel[i] < (int64_t{1} << 30) &&
                  dilations[i] < (int64_t{1} << 30) && s < (int64_t{1} << 30),
              "invalid kernel, stride or dilation");
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>(0, (out - 1) * s + (kernel[i] - 1) * dilations[i] + 1 - in);
    const int64_t small = total / 2, large = total - small;
    pads[i] = auto_pad == "SAME_UPPER" ? small : large;
    pads[i + k] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

size_t spatial_rank(const NodeImport& n, size_t input, const char* what) {
  const int64_t r = n.rank(input);
  if (r != 3 && r != 4) throw n.unsupported(std::string(what) + " with " + std::to_string(std::max<int64_t>(r - 2, 0)) + " spatial dims");
  return static_cast<size_t>(r - 2);
}

void import_conv(NodeImport& n) {
  const size_t k = spatial_rank(n, 0, "Conv");
  const Shape w = n.shape(1);  // a copy: emitting may reallocate values
  n.require(w.size() == k + 2, "weight " + shape_str(w) + " does not match input " + shape_str(n.shape(0)));
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (n.has_attr("kernel_shape")) kernel = per_dim(n, "kernel_shape", k, 0);
  const std::vector<int64_t> strides = per_dim(n, "strides", k, 1), dil = per_dim(n, "dilations", k, 1);
  Attrs a;
  a.set("stride", strides);
  a.set("padding", resolve_pads(n, n.shape(0), kernel, strides, dil));
  a.set("dilation", dil);
  a.set("groups", n.attr_i("group", 1));
  n.bind(0, n.emit1(k == 1 ? "aten.conv1d.default" : "aten.conv2d.default", {n.input(0), n.input(1), n.input_or_none(2)}, a));
}

void import_conv_transpose(NodeImport& n) {
  const size_t k = spatial_rank(n, 0, "ConvTranspose");
  const Shape x = n.shape(0);  // a copy: emitting may reallocate values
  const Shape w = n.shape(1);  // a copy: emitting may reallocate values
  n.require(w.size() == k + 2, "weight " + shape_str(w) + " does not match input " + shape_str(x));
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (n.has_attr("kernel_shape")) kernel = per_dim(n, "kernel_shape", k, 0);
  const std::vector<int64_t> strides = per_dim(n, "strides", k, 1), dil = per_dim(n, "dilations", k, 1);
  std::vector<int64_t> out_pad = per_dim(n, "output_padding", k, 0);
  std::vector<int64_t> pads = n.check_small(n.attr_ints("pads", std::vector<int64_t>(2 * k, 0)), "attribute 'pads'");
  n.require(pads.size() == 2 * k, "attribute 'pads' has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * k));
  const std::string auto_pad = n.attr_s("auto_pad", "NOTSET");
  n.require(auto_pad == "NOTSET" || auto_pad == "VALID" || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER",
            "unknown auto_pad '" + auto_pad + "'");
  std::vector<int64_t> out_shape = n.check_small(n.attr_ints("output_shape", {}), "attribute 'output_shape'");
  if (out_shape.size() > k) out_shape.erase(out_shape.begin(), out_shape.end() - static_cast<std::ptrdiff_t>(k));
  n.require(out_shape.empty() || out_shape.size() == k, "attribute 'output_shape' has the wrong length");
  if (auto_pad == "VALID") pads.assign(2 * k, 0);
  if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < k; ++i) {
      const int64_t in = x[2 + i];
      n.require(in >= 0 && in < (int64_t{1} << 40), "output_shape/auto_pad need static spatial dimensions, got " + shape_str(x));
      n.require(strides[i] > 0 && strides[i] < (1 << 30) && kernel[i] > 0 && kernel[i] < (1 << 30) && dil[i] > 0 &&
                    dil[i] < (1 << 30) && out_pad[i] >= 0 && out_pad[i] < (1 << 30),
                "invalid kernel, stride, dilation or output_padding");
      const int64_t target = out_shape.empty() ? in * strides[i] : out_shape[i];
      n.require(target >= 0 && target < (int64_t{1} << 40), "invalid output_shape");
      int64_t total = strides[i] * (in - 1) + out_pad[i] + (kernel[i] - 1) * dil[i] + 1 - target;
      if (total < 0) {
        out_pad[i] += -total;
        total = 0;
      }
      const int64_t small = total / 2, large = total - small;
      const bool upper = auto_pad != "SAME_LOWER";
      pads[i] = upper ? small : large;
      pads[i + k] = upper ? large : small;
    }
  }
  Attrs a;
  a.set("stride", strides);
  a.set("padding", pads);
  a.set("output_padding", out_pad);
  a.set("dilation", dil);
  a.set("groups", n.attr_i("group", 1));
  n.bind(0, n.emit1(k == 1 ? "aten.conv_transpose1d.default" : "aten.conv_transpose2d.input",
                    {n.input(0), n.input(1), n.input_or_none(2)}, a));
}

Tensor scaled_f32(const Tensor& t, double s) {
  if (s == 1.0) return t;
  Tensor out = t.clone();
  float* p = out.data<float>();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<float>(s) * p[i];
  return out;
}

void import_gemm(NodeImport& n) {
  const double alpha = n.attr_f("alpha", 1.0), beta = n.attr_f("beta", 1.0);
  const bool trans_a = n.attr_i("transA", 0) != 0, trans_b = n.attr_i("transB", 0) != 0;
  n.require(n.rank(0) == 2 && n.rank(1) == 2, "A and B must be 2-D, got " + shape_str(n.shape(0)) + " and " + shape_str(n.shape(1)));
  int a = n.input(0);
  if (trans_a) {
    Attrs p;
    p.set("dims", std::vector<int64_t>{1, 0});
    a = n.emit1("aten.permute.default", {a}, p);
  }
  // Copies (sharing storage): adding constants below may reallocate the graph's values.
  std::optional<Tensor> b_copy, c_copy;
  if (n.constant(1)) b_copy = *n.constant(1);
  if (n.constant(2)) c_copy = *n.constant(2);
  const Tensor* b = b_copy ? &*b_copy : nullptr;
  const Tensor* c = c_copy ? &*c_copy : nullptr;
  if (b && b->dtype() == DType::f32) {
    const Tensor w = scaled_f32(trans_b ? *b : ce_transpose(*b, {1, 0}), alpha);
    const int64_t out = w.dim(0);
    int bias = kNoValue;
    bool bias_done = !n.has_input(2);
    if (c && c->dtype() == DType::f32 && (c->numel() == out || c->numel() == 1) && c->rank() <= 2 &&
        (c->rank() == 0 || c->dim(-1) == c->numel())) {
      Tensor cb = c->numel() == out ? c->reshaped({out}) : ce_expand(c->reshaped({1}), {out});
      bias = n.add_constant(scaled_f32(cb, beta), n.name + ".bias");
      bias_done = true;
    }
    int y = n.emit1("aten.linear.default", {a, n.add_constant(w, n.name + ".weight"), bias});
    if (!bias_done) {
      int cv = c ? n.add_constant(c->dtype() == DType::f32 ? scaled_f32(*c, beta) : *c) : n.input(2);
      if (!c && beta != 1.0) cv = n.emit1("aten.mul.Tensor", {cv, n.add_constant(Tensor::scalar<float>(static_cast<float>(beta)))});
      y = n.emit1("aten.add.Tensor", {y, cv});
    }
    n.bind(0, y);
    return;
  }
  int bv = n.input(1);
  if (trans_b) {
    Attrs p;
    p.set("dims", std::vector<int64_t>{1, 0});
    bv = n.emit1("aten.permute.default", {bv}, p);
  }
  int y = n.emit1("aten.matmul.default", {a, bv});
  if (alpha != 1.0) y = n.emit1("aten.mul.Tensor", {y, n.add_constant(Tensor::scalar<float>(static_cast<float>(alpha)))});
  if (n.has_input(2)) {
    int cv;
    if (c && c->dtype() == DType::f32) {
      cv = n.add_constant(scaled_f32(*c, beta));
    } else {
      cv = n.input(2);
      if (beta != 1.0) cv = n.emit1("aten.mul.Tensor", {cv, n.add_constant(Tensor::scalar<float>(static_cast<float>(beta)))});
    }
    y = n.emit1("aten.add.Tensor", {y, cv});
  }
  n.bind(0, y);
}

void import_softmax(NodeImport& n, const char* ir_op) {
  const int64_t r = n.rank(0);
  const int64_t default_axis = n.opset >= 13 ? -1 : 1;
  const int axis = normalize_axis(n.attr_i("axis", default_axis), std::max<int64_t>(r, 1), n.op_type);
  Attrs a;
  if (n.opset >= 13 || axis == r - 1 || r == 0) {
    a.set("dim", static_cast<int64_t>(axis));
    n.bind(0, n.emit1(ir_op, {n.input(0)}, a));
    return;
  }
  // Opset < 13: softmax over the input coerced to 2-D at `axis`, i.e. over all dims from axis on.
  const Shape x = n.shape(0);  // a copy: emitting may reallocate values
  int flat;
  if (axis == 0) {
    n.require(shape_is_static(x), "axis 0 with a symbolic batch is not supported");
    Attrs r1;
    r1.set("shape", std::vector<int64_t>{1, -1});
    flat = n.emit1("aten.reshape.default", {n.input(0)}, r1);
    a.set("dim", int64_t{1});
  } else {
    Attrs f;
    f.set("start_dim", static_cast<int64_t>(axis));
    f.set("end_dim", int64_t{-1});
    flat = n.emit1("aten.flatten.using_ints", {n.input(0)}, f);
    a.set("dim", static_cast<int64_t>(axis));
  }
  const int s = n.emit1(ir_op, {flat}, a);
  Attrs back;
  back.set("shape", batch_as_token(x));
  n.bind(0, n.emit1("aten.reshape.default", {s}, back));
}

void import_batch_norm(NodeImport& n) {
  n.require(n.attr_i("training_mode", 0) == 0, "training_mode must be 0 (inference)");
  n.require_outputs_unused_from(1);
  Attrs a;
  a.set("eps", n.attr_f("epsilon", 1e-5));
  a.set("momentum", n.attr_f("momentum", 0.9));
  n.bind(0, n.emit1("aten._native_batch_norm_legit_no_training.default",
                    {n.input(0), n.input(1), n.input(2), n.input(3), n.input(4)}, a));
}

void import_layer_norm(NodeImport& n) {
  n.require_outputs_unused_from(1);
  const int64_t r = n.rank(0);
  Attrs a;
  a.set("axis", static_cast<int64_t>(normalize_axis(n.attr_i("axis", -1), r, "LayerNormalization")));
  a.set("eps", n.attr_f("epsilon", 1e-5));
  n.bind(0, n.emit1("aten.layer_norm.default", {n.input(0), n.input_or_none(1), n.input_or_none(2)}, a));
}

void import_pool(NodeImport& n, bool is_max) {
  const size_t k = spatial_rank(n, 0, is_max ? "MaxPool" : "AveragePool");
  if (is_max) n.require_outputs_unused_from(1);
  const std::vector<int64_t> kernel = per_dim(n, "kernel_shape", k, 0);
  for (int64_t v : kernel) n.require(v > 0, "attribute 'kernel_shape' is required and must be positive");
  const std::vector<int64_t> strides = per_dim(n, "strides", k, 1), dil = per_dim(n, "dilations", k, 1);
  Attrs a;
  a.set("kernel_size", kernel);
  a.set("stride", strides);
  a.set("padding", resolve_pads(n, n.shape(0), kernel, strides, dil));
  a.set("ceil_mode", n.attr_i("ceil_mode", 0));
  if (is_max) {
    a.set("dilation", dil);
    n.bind(0, n.emit1(k == 1 ? "aten.max_pool1d.default" : "aten.max_pool2d.default", {n.input(0)}, a));
  } else {
    for (int64_t d : dil)
      if (d != 1) throw n.unsupported("AveragePool with dilations");
    a.set("count_include_pad", n.attr_i("count_include_pad", 0));
    n.bind(0, n.emit1(k == 1 ? "aten.avg_pool1d.default" : "aten.avg_pool2d.default", {n.input(0)}, a));
  }
}

void import_global_pool(NodeImport& n, bool is_max) {
  const int64_t r = n.rank(0);
  n.require(r >= 3, "input must have rank >= 3, got " + shape_str(n.shape(0)));
  Attrs a;
  if (!is_max && r == 4) {
    a.set("output_size", std::vector<int64_t>{1, 1});
    n.bind(0, n.emit1("aten.adaptive_avg_pool2d.default", {n.input(0)}, a));
    return;
  }
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < r; ++d) dims.push_back(d);
  a.set("dim", dims);
  a.set("keepdim", int64_t{1});
  n.bind(0, n.emit1(is_max ? "aten.amax.default" : "aten.mean.dim", {n.input(0)}, a));
}

}  // namespace

void register_nn_importers(OpImporterTable& t) {
  t["Conv"] = import_conv;
  t["ConvTranspose"] = import_conv_transpose;
  t["Gemm"] = import_gemm;
  t["MatMul"] = [](NodeImport& n) { n.bind(0, n.emit1("aten.matmul.default", {n.input(0), n.input(1)})); };
  t["Softmax"] = [](NodeImport& n) { import_softmax(n, "aten.softmax.int"); };
  t["LogSoftmax"] = [](NodeImport& n) { import_softmax(n, "aten.log_softmax.int"); };
  t["BatchNormalization"] = import_batch_norm;
  t["LayerNormalization"] = import_layer_norm;
  t["MaxPool"] = [](NodeImport& n) { import_pool(n, true); };
  t["AveragePool"] = [](NodeImport& n) { import_pool(n, false); };
  t["GlobalAveragePool"] = [](NodeImport& n) { import_global_pool(n, false); };
  t["GlobalMaxPool"] = [](NodeImport& n) { import_global_pool(n, true); };
}

}  // namespace eq::onnx_impl
