// Resize/Upsample and QuantizeLinear/DequantizeLinear.
#include <cmath>

#include "const_eval.h"
#include "import_context.h"
#include "tensor_proto.h"

namespace eq::onnx_impl {
namespace {

// A constant input that is present and non-empty (Resize passes "" or an empty tensor for "absent").
const Tensor* nonempty_constant(const NodeImport& n, size_t i, const std::string& what) {
  if (!n.has_input(i)) return nullptr;
  const Tensor& t = n.require_constant(i, what);
  return t.numel() == 0 ? nullptr : &t;
}

void emit_upsample(NodeImport& n, const std::string& mode, const std::vector<double>& scales_in, const std::vector<int64_t>& sizes_in,
                   const std::string& ctm, const std::string& nearest_mode) {
  const Shape x = n.shape(0);  // a copy: emitting may reallocate values
  const size_t r = x.size();
  std::vector<double> scales(r, 1.0);
  std::vector<int64_t> sizes(x.begin(), x.end());
  for (size_t i = 0; i < r; ++i) {
    const double s = !sizes_in.empty() ? (x[i] > 0 ? static_cast<double>(sizes_in[i]) / static_cast<double>(x[i]) : 1.0) : scales_in[i];
    if (x[i] == kBatch) {
      n.require(sizes_in.empty() ? s == 1.0 : true, "cannot resize the symbolic batch dimension");
      sizes[i] = kBatch;
      scales[i] = 1.0;
      continue;
    }
    n.require(std::isfinite(s) && s > 0 && s < 1e6, "invalid scale " + std::to_string(s));
    scales[i] = s;
    if (!sizes_in.empty()) {
      n.require(sizes_in[i] >= 0 && sizes_in[i] <= (int64_t{1} << 31), "size " + std::to_string(sizes_in[i]) + " out of range");
      sizes[i] = sizes_in[i];
    } else {
      sizes[i] = static_cast<int64_t>(std::floor(static_cast<double>(x[i]) * s));
    }
  }
  Attrs a;
  a.set("mode", mode);
  a.set("sizes", sizes);
  a.set("scales", scales);
  a.set("coordinate_transformation_mode", ctm);
  a.set("nearest_mode", nearest_mode);
  a.set("cubic_coeff_a", n.attr_f("cubic_coeff_a", -0.75));
  a.set("exclude_outside", n.attr_i("exclude_outside", 0));
  n.bind(0, n.emit1("aten.upsample.default", {n.input(0)}, a));
}

void import_resize(NodeImport& n) {
  const std::string mode = n.attr_s("mode", "nearest");
  const std::string ctm = n.attr_s("coordinate_transformation_mode", "half_pixel");
  if (mode == "cubic") throw n.unsupported("Resize mode 'cubic'");
  n.require(mode == "nearest" || mode == "linear", "unknown mode '" + mode + "'");
  if (ctm == "tf_crop_and_resize") throw n.unsupported("Resize coordinate_transformation_mode 'tf_crop_and_resize'");
  n.require(ctm == "half_pixel" || ctm == "half_pixel_symmetric" || ctm == "pytorch_half_pixel" || ctm == "align_corners" ||
                ctm == "asymmetric" || ctm == "tf_half_pixel_for_nearest" || ctm == "tf_half_pixel_for_nn",
            "unknown coordinate_transformation_mode '" + ctm + "'");
  if (n.attr_i("antialias", 0) != 0) throw n.unsupported("Resize with antialias");
  const std::string nearest_mode = n.attr_s("nearest_mode", "round_prefer_floor");
  n.require(nearest_mode == "round_prefer_floor" || nearest_mode == "round_prefer_ceil" || nearest_mode == "floor" ||
                nearest_mode == "ceil",
            "unknown nearest_mode '" + nearest_mode + "'");
  const size_t r = static_cast<size_t>(n.rank(0));
  std::vector<int64_t> axes = n.attr_ints("axes", {});
  if (axes.empty())
    for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
  for (int64_t& a : axes) a = normalize_axis(a, static_cast<int64_t>(r), "Resize");
  const Tensor* scales_t = nonempty_constant(n, 2, "scales");
  const Tensor* sizes_t = nonempty_constant(n, 3, "sizes");
  n.require((scales_t != nullptr) != (sizes_t != nullptr), "exactly one of scales and sizes must be given");
  std::vector<double> scales(r, 1.0);
  std::vector<int64_t> sizes;
  if (scales_t) {
    n.require(dtype_is_float(scales_t->dtype()), "scales must be float");
    const std::vector<double> s = values_f64(*scales_t);
    n.require(s.size() == axes.size(), "scales has " + std::to_string(s.size()) + " entries, expected " + std::to_string(axes.size()));
    for (size_t k = 0; k < axes.size(); ++k) scales[static_cast<size_t>(axes[k])] = s[k];
  } else {
    n.require(!dtype_is_float(sizes_t->dtype()), "sizes must be an integer tensor");
    const std::vector<int64_t> s = sizes_t->to_int64_vector();
    n.require(s.size() == axes.size(), "sizes has " + std::to_string(s.size()) + " entries, expected " + std::to_string(axes.size()));
    const Shape x = n.shape(0);  // a copy: emitting may reallocate values
    sizes.assign(x.begin(), x.end());
    for (size_t i = 0; i < r; ++i)
      if (sizes[i] == kBatch) sizes[i] = 1;  // placeholder: the batch dim keeps its size
    const std::string policy = n.attr_s("keep_aspect_ratio_policy", "stretch");
    if (policy == "stretch") {
      for (size_t k = 0; k < axes.size(); ++k) sizes[static_cast<size_t>(axes[k])] = s[k];
    } else {
      n.require(policy == "not_larger" || policy == "not_smaller", "unknown keep_aspect_ratio_policy '" + policy + "'");
      double scale = policy == "not_larger" ? INFINITY : 0.0;
      for (size_t k = 0; k < axes.size(); ++k) {
        const int64_t in = x[static_cast<size_t>(axes[k])];
        n.require(in > 0, "keep_aspect_ratio_policy needs static non-empty dims");
        const double q = static_cast<double>(s[k]) / static_cast<double>(in);
        scale = policy == "not_larger" ? std::min(scale, q) : std::max(scale, q);
      }
      n.require(std::isfinite(scale) && scale > 0 && scale < 1e6, "invalid scale");
      for (int64_t a : axes) sizes[static_cast<size_t>(a)] = static_cast<int64_t>(std::round(scale * static_cast<double>(x[static_cast<size_t>(a)])));
    }
    for (size_t i = 0; i < r; ++i)
      if (x[i] == kBatch) sizes[i] = 1;
  }
  // The IR spells ONNX's "tf_half_pixel_for_nearest" as "tf_half_pixel_for_nn".
  emit_upsample(n, mode, scales, sizes, ctm == "tf_half_pixel_for_nearest" ? "tf_half_pixel_for_nn" : ctm, nearest_mode);
}

void import_upsample(NodeImport& n) {
  std::string mode = n.attr_s("mode", "nearest");
  if (mode == "bilinear") mode = "linear";
  n.require(mode == "nearest" || mode == "linear", "unknown mode '" + mode + "'");
  std::vector<double> scales = n.has_input(1) ? values_f64(n.require_constant(1, "scales")) : n.attr_floats("scales", {});
  n.require(static_cast<int64_t>(scales.size()) == n.rank(0), "scales has " + std::to_string(scales.size()) + " entries for rank " +
                                                                 std::to_string(n.rank(0)));
  emit_upsample(n, mode, scales, {}, "asymmetric", "floor");
}

// Scale/zero point constants of shape [1] become scalars so that they read as per-tensor.
int as_scalar_if_single(NodeImport& n, size_t i) {
  const int v = n.input_or_none(i);
  if (v == kNoValue) return v;
  const Value& val = n.value(v);
  if (val.constant && val.constant->rank() == 1 && val.constant->numel() == 1) return n.add_constant(val.constant->reshaped({}), val.name);
  return v;
}

void import_qdq(NodeImport& n, bool quantize) {
  if (n.attr_i("block_size", 0) > 0) throw n.unsupported("blocked quantization (block_size > 0)");
  const Shape scale = n.shape(1);  // a copy: emitting may reallocate values
  // A [1] scale reads as per tensor (many exporters write scalars that way), unless an explicit
  // `axis` names a dimension of size 1: that is a per-channel quantization of one channel (a
  // conv or linear with one output), which edgequant's exporter writes so, and which must come
  // back per channel.
  bool one_channel = false;
  if (scale.size() == 1 && scale[0] == 1 && n.has_attr("axis")) {
    const int64_t r = n.rank(0), axis = n.attr_i("axis", 1);
    one_channel = axis >= -r && axis < r && n.shape(0)[static_cast<size_t>(axis < 0 ? axis + r : axis)] == 1;
  }
  const bool per_tensor = scale.empty() || (scale.size() == 1 && scale[0] == 1 && !one_channel);
  if (!per_tensor && scale.size() != 1) throw n.unsupported("scale of shape " + shape_str(scale));
  if (n.has_input(2)) n.require(n.shape(2) == scale, "zero point shape " + shape_str(n.shape(2)) + " differs from scale shape " + shape_str(scale));
  Attrs a;
  if (!per_tensor) a.set("axis", static_cast<int64_t>(normalize_axis(n.attr_i("axis", 1), n.rank(0), n.op_type)));
  // The quantized dtype is the zero point's when there is one (convert_pt2e's form: no `dtype`
  // attribute then, so a round trip gives back the same node); without one it is output_dtype
  // (opset 21) or ONNX's default u8, kept as attribute `dtype`.
  if (quantize && !n.has_input(2)) {
    DType out = DType::u8;
    if (const int64_t od = n.attr_i("output_dtype", 0); od != 0) {
      const std::optional<DType> dt = dtype_from_onnx(static_cast<int32_t>(od));
      if (!dt) throw n.unsupported("output_dtype " + onnx_type_name(static_cast<int32_t>(od)));
      out = *dt;
    }
    a.set("dtype", std::string(dtype_name(out)));
  } else if (quantize && n.has_attr("output_dtype")) {
    const std::optional<DType> dt = dtype_from_onnx(static_cast<int32_t>(n.attr_i("output_dtype", 0)));
    n.require(dt && *dt == n.dtype(2), "output_dtype " + onnx_type_name(static_cast<int32_t>(n.attr_i("output_dtype", 0))) +
                                           " differs from the zero point's " + std::string(dtype_name(n.dtype(2))));
  }
  const std::string op = std::string("quantized_decomposed.") + (quantize ? "quantize" : "dequantize") +
                         (per_tensor ? "_per_tensor.default" : "_per_channel.default");
  const int s = per_tensor ? as_scalar_if_single(n, 1) : n.input(1);
  const int z = per_tensor ? as_scalar_if_single(n, 2) : n.input_or_none(2);
  n.bind(0, n.emit1(op, {n.input(0), s, z}, a));
}

// com.edgequant ChooseQParams (our export of quantized_decomposed.choose_qparams.tensor).
void import_choose_qparams(NodeImport& n) {
  const std::optional<DType> zdt = dtype_from_onnx(static_cast<int32_t>(n.attr_i("dtype", 3 /* INT8 */)));
  n.require(zdt && (*zdt == DType::i8 || *zdt == DType::u8), "attribute 'dtype' must be INT8 or UINT8");
  Attrs a;
  a.set("quant_min", n.attr_i("quant_min", -128));
  a.set("quant_max", n.attr_i("quant_max", 127));
  a.set("eps", n.attr_f("eps", 1.1920928955078125e-07));
  a.set("dtype", std::string(dtype_name(*zdt)));
  const int k = n.emit("quantized_decomposed.choose_qparams.tensor", {n.input(0)}, a, 2);
  n.bind(0, n.g.nodes[static_cast<size_t>(k)].outputs[0]);
  n.bind(1, n.g.nodes[static_cast<size_t>(k)].outputs[1]);
}

}  // namespace

void register_misc_importers(OpImporterTable& t) {
  t["com.edgequant.ChooseQParams"] = import_choose_qparams;
  t["Resize"] = import_resize;
  t["Upsample"] = import_upsample;
  t["QuantizeLinear"] = [](NodeImport& n) { import_qdq(n, true); };
  t["DequantizeLinear"] = [](NodeImport& n) { import_qdq(n, false); };
}

}  // namespace eq::onnx_impl
