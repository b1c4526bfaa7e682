// Per-node delegation rules for libxnnpack 0.0~git20220216 (see support.h for the limits).
#include "support.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "edgequant/xnnpack.h"
#include "program.h"

namespace eq::xnn {
namespace {

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Support no(std::string why) { return {Role::kNone, std::move(why)}; }
Support yes() { return {Role::kCompute, ""}; }

bool normal_positive(float s) { return s > 0.f && std::isnormal(s); }

float attr_scale(const Attrs& a, const std::string& p) { return static_cast<float>(a.f(p + "_scale")); }
int64_t attr_zp(const Attrs& a, const std::string& p) { return a.i(p + "_zero_point"); }

// "" when [lo, hi) holds v.
std::string range_reason(const std::string& what, float v, float lo, float hi) {
  if (v >= lo && v < hi) return "";
  return what + " " + fmt(v) + " is outside libxnnpack's [" + fmt(lo) + ", " + fmt(hi) + ")";
}

std::string act_reason(const Attrs& a) {
  const int64_t lo = a.i("act_min", -128), hi = a.i("act_max", 127);
  if (lo < hi) return "";
  return "fused activation range [" + std::to_string(lo) + ", " + std::to_string(hi) +
         "] is empty or a single value (libxnnpack needs output_min < output_max)";
}

std::string qparams_reason(const Attrs& a, std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes)
    if (!normal_positive(attr_scale(a, p)))
      return std::string(p) + "_scale " + fmt(attr_scale(a, p)) + " is not a normal positive float";
  return "";
}

const Value* in(const Graph& g, const Node& n, size_t i) {
  return i < n.inputs.size() && n.inputs[i] >= 0 ? &g.value(n.inputs[i]) : nullptr;
}

Support weighted(const Graph& g, const Node& n, bool conv, int spatial) {
  const Attrs& a = n.attrs;
  const Value* x = in(g, n, 0);
  const Value* w = in(g, n, 1);
  const Value* b = in(g, n, 2);
  if (!w || !w->constant) return no("weight is not a constant (libxnnpack packs weights at creation)");
  if (b && !b->constant) return no("bias is not a constant");
  if (a.s("activation", "none") != "none")
    return no("fused " + a.s("activation") +
              " is applied in float to the int32 accumulator; libxnnpack's conv/fully connected only clamp");
  if (conv && static_cast<int>(x->shape.size()) != spatial + 2)
    return no("input of rank " + std::to_string(x->shape.size()) + ": only batched " + std::to_string(spatial + 2) +
              "-D inputs are delegated");
  if (std::string r = act_reason(a); !r.empty()) return no(r);
  if (std::string r = qparams_reason(a, {"x", "out"}); !r.empty()) return no(r);
  const float xs = attr_scale(a, "x"), os = attr_scale(a, "out");
  const std::vector<double> ws = a.floats("w_scales");
  for (size_t c = 0; c < ws.size(); ++c) {
    const float s = static_cast<float>(ws[c]);
    if (!normal_positive(s)) return no("w_scales[" + std::to_string(c) + "] " + fmt(s) + " is not a normal positive float");
    const float r = xs * s / os;
    if (std::string why = range_reason("requantization scale x_scale*w_scale/out_scale" +
                                           (ws.size() > 1 ? " of channel " + std::to_string(c) : std::string()),
                                       r, kConvScaleMin, kConvScaleMax);
        !why.empty())
      return no(why);
  }
  return yes();
}

Support binary(const Graph& g, const Node& n, bool add) {
  const Attrs& a = n.attrs;
  for (size_t i = 0; i < 2; ++i)
    if (static_cast<int>(in(g, n, i)->shape.size()) > kMaxDims)
      return no("input of rank " + std::to_string(in(g, n, i)->shape.size()) + " exceeds libxnnpack's " +
                std::to_string(kMaxDims) + " dimensions");
  if (std::string r = act_reason(a); !r.empty()) return no(r);
  if (std::string r = qparams_reason(a, {"a", "b", "out"}); !r.empty()) return no(r);
  const float sa = attr_scale(a, "a"), sb = attr_scale(a, "b"), so = attr_scale(a, "out");
  if (add) {
    if (std::string r = range_reason("a_scale/out_scale", sa / so, kAddRatioMin, kAddRatioMax); !r.empty()) return no(r);
    if (std::string r = range_reason("b_scale/out_scale", sb / so, kAddRatioMin, kAddRatioMax); !r.empty()) return no(r);
  } else {
    if (std::string r = range_reason("a_scale*b_scale/out_scale", sa * sb / so, kMulRatioMin, kMulRatioMax); !r.empty())
      return no(r);
  }
  return yes();
}

Support pool(const Graph& g, const Node& n, size_t k, bool max) {
  const Attrs& a = n.attrs;
  const Value* x = in(g, n, 0);
  if (x->shape.size() != k + 2)
    return no("input of rank " + std::to_string(x->shape.size()) + ": only batched " + std::to_string(k + 2) +
              "-D inputs are delegated");
  const std::vector<int64_t> kernel = a.ints("kernel_size");
  int64_t size = 1;
  for (int64_t v : kernel) size *= v;
  if (size < 2) return no("1x1 pooling window (libxnnpack rejects pooling windows of one element)");
  if (std::string r = qparams_reason(a, {"x", "out"}); !r.empty()) return no(r);
  if (max) {
    if (attr_scale(a, "x") != attr_scale(a, "out") || attr_zp(a, "x") != attr_zp(a, "out"))
      return no("input and output qparams differ (libxnnpack's s8 max pooling cannot requantize)");
    return yes();
  }
  // Average pooling: libxnnpack has it for qu8 only (run on int8 ^ 0x80); it divides by the
  // window size and pads with the zero point, which equals our in-bounds average only without
  // padding.
  std::vector<int64_t> stride = a.ints("stride", std::vector<int64_t>(k, 1));
  if (stride.empty()) stride = kernel;
  for (int64_t p : a.ints("padding", {}))
    if (p != 0) return no("padded average pooling (libxnnpack's qu8 average pooling counts the padding)");
  const Value& out = g.value(n.outputs[0]);
  for (size_t d = 0; d < k; ++d) {
    const int64_t i = x->shape[2 + d], o = out.shape[2 + d];
    if (stride[d] > kernel[d])
      return no("stride " + std::to_string(stride[d]) + " larger than the window " + std::to_string(kernel[d]) +
                " (libxnnpack's average pooling needs stride <= window)");
    if (i >= 0 && o >= 0 && (o - 1) * stride[d] + kernel[d] > i)
      return no("ceil_mode window past the input's end (libxnnpack's average pooling would count it as padding)");
  }
  if (size >= (1 << 24)) return no("pooling window of 2^24 elements or more");
  if (std::string r = range_reason("x_scale/out_scale", attr_scale(a, "x") / attr_scale(a, "out"), kPoolRatioMin,
                                   kPoolRatioMax);
      !r.empty())
    return no(r);
  return yes();
}

Support global_pool(const Graph& g, const Node& n) {
  const Attrs& a = n.attrs;
  const Value* x = in(g, n, 0);
  const size_t r = x->shape.size();
  if (n.op == "quantized.adaptive_avg_pool2d") {
    if (r != 4) return no("unbatched input (rank 3): only [N,C,H,W] is delegated");
    const std::vector<int64_t> os = a.ints("output_size");
    if (!(os.size() == 2 && os[0] == 1 && os[1] == 1)) return no("output size other than 1x1 (only global average pooling is delegated)");
  } else {  // quantized.mean
    if (r < 3) return no("mean over a rank-" + std::to_string(r) + " input (only the spatial dims of [N,C,...] are delegated)");
    std::vector<int64_t> dims;
    if (a.has("dim")) {
      const AttrValue& v = a.all().at("dim");
      if (const int64_t* one = std::get_if<int64_t>(&v)) dims = {*one};
      else dims = a.ints("dim");
    }
    std::set<int64_t> got;
    for (int64_t d : dims) got.insert(d < 0 ? d + static_cast<int64_t>(r) : d);
    std::set<int64_t> want;
    for (int64_t d = 2; d < static_cast<int64_t>(r); ++d) want.insert(d);
    if (got != want) return no("mean over dims other than exactly the spatial ones (libxnnpack has only global average pooling)");
  }
  if (std::string q = qparams_reason(a, {"x", "out"}); !q.empty()) return no(q);
  if (std::string q = range_reason("x_scale/out_scale", attr_scale(a, "x") / attr_scale(a, "out"), kPoolRatioMin,
                                   kPoolRatioMax);
      !q.empty())
    return no(q);
  return yes();
}

Support lookup_table(const Graph& g, const Node& n) {
  const Attrs& a = n.attrs;
  const std::string f = a.s("function", "");
  if (n.inputs.size() > 1 && g.is_constant(n.inputs[1]) && clamp_bounds(*g.value(n.inputs[1]).constant).is_clamp)
    return yes();
  float s = 0;
  int64_t z = 0;
  if (f == "aten.sigmoid.default") s = 1.0f / 256, z = -128;
  else if (f == "aten.tanh.default") s = 1.0f / 128, z = 0;
  else
    return no("lookup table of " + (f.empty() ? std::string("an unnamed function") : f) +
              " (libxnnpack's public API has no int8 lookup table; only sigmoid, tanh and clamps are delegated)");
  if (attr_scale(a, "out") != s || attr_zp(a, "out") != z)
    return no(f + " with output qparams (" + fmt(attr_scale(a, "out")) + ", " + std::to_string(attr_zp(a, "out")) +
              "): libxnnpack's qs8 " + (z == 0 ? "tanh needs scale 1/128, zero point 0" : "sigmoid needs scale 1/256, zero point -128"));
  if (std::string q = qparams_reason(a, {"x"}); !q.empty()) return no(q);
  return yes();
}

const std::set<std::string>& view_ops() {
  static const std::set<std::string> ops = {"aten.reshape.default", "aten.flatten.using_ints", "aten.squeeze.dims",
                                            "aten.unsqueeze.default", "aten.clone.default", "aten.view.default"};
  return ops;
}

}  // namespace

ClampBounds clamp_bounds(const Tensor& table) {
  ClampBounds b;
  if (table.dtype() != DType::i8 || table.numel() != 256) return b;
  const int8_t* t = table.data<int8_t>();
  b.lo = t[0];
  b.hi = t[255];
  if (b.lo > b.hi) return b;
  for (int i = 0; i < 256; ++i)
    if (t[i] != std::clamp<int>(i - 128, b.lo, b.hi)) return b;
  b.is_clamp = true;
  return b;
}

Support classify(const Graph& g, const Node& n) {
  const std::string& op = n.op;
  if (op.rfind("quantized_decomposed.", 0) == 0)
    return no("float boundary: quantize/dequantize stays on the CPU (the delegate runs int8 in, int8 out)");
  if (op == kSubgraphOp) return no("already delegated");
  if (view_ops().count(op)) {
    for (int v : n.inputs)
      if (v >= 0 && !g.is_constant(v) && g.value(v).dtype != DType::i8) return no("float op: not lowered to integer");
    if (n.inputs.empty() || n.outputs.size() != 1) return no("view with " + std::to_string(n.outputs.size()) + " outputs");
    return {Role::kView, ""};
  }
  if (op.rfind("quantized.", 0) != 0) {
    for (int v : n.inputs)
      if (v >= 0 && !g.is_constant(v) && g.value(v).dtype == DType::i8)
        return no("int8 data movement " + op + " (libxnnpack 2022-02 has no transpose, slice or gather operator)");
    return no("float op: not lowered to integer (only lower_to_integer's quantized.* ops are delegated)");
  }
  if (op == "quantized.conv2d") return weighted(g, n, true, 2);
  if (op == "quantized.conv1d") return weighted(g, n, true, 1);
  if (op == "quantized.linear") return weighted(g, n, false, 0);
  if (op == "quantized.add") return binary(g, n, true);
  if (op == "quantized.mul") return binary(g, n, false);
  if (op == "quantized.max_pool2d") return pool(g, n, 2, true);
  if (op == "quantized.max_pool1d") return pool(g, n, 1, true);
  if (op == "quantized.avg_pool2d") return pool(g, n, 2, false);
  if (op == "quantized.avg_pool1d") return pool(g, n, 1, false);
  if (op == "quantized.adaptive_avg_pool2d" || op == "quantized.mean") return global_pool(g, n);
  if (op == "quantized.lookup_table") return lookup_table(g, n);
  if (op == "quantized.matmul")
    return no("matmul of two activations (libxnnpack 2022-02 has no batch matmul; fully connected needs constant weights)");
  if (op == "quantized.softmax") return no("libxnnpack 2022-02 has softmax for qu8 only, not qs8");
  if (op == "quantized.cat") return no("libxnnpack 2022-02's operator API has no concatenate");
  if (op == "quantized.requantize") return no("libxnnpack 2022-02 has no int8 -> int8 requantize (convert is f32 <-> q8 only)");
  return no("integer op " + op + " has no libxnnpack counterpart");
}

}  // namespace eq::xnn

namespace eq {

std::string xnnpack_unsupported_reason(const Graph& g, int node) {
  const xnn::Support s = xnn::classify(g, g.nodes.at(static_cast<size_t>(node)));
  return s.role == xnn::Role::kNone ? s.reason : "";
}

}  // namespace eq
