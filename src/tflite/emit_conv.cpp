// quantized.conv1d / conv2d -> CONV_2D or DEPTHWISE_CONV_2D (conv1d over a unit height),
// quantized.linear -> FULLY_CONNECTED, quantized.matmul -> BATCH_MATMUL.
#include <algorithm>
#include <cstring>

#include "edgequant/error.h"
#include "emitters.h"

namespace eq::tflite_export {
namespace {

Quant weight_quant(const Node& n, int64_t channels, int axis) {
  const std::vector<double> ws = n.attrs.floats("w_scales");
  Quant q;
  q.axis = axis;
  for (double s : ws) q.scales.push_back(static_cast<float>(s));
  q.zero_points.assign(q.scales.size(), 0);
  (void)channels;
  return q;
}

// The bias tensor TFLite needs: the node's int32/int64 bias, or zeros (TFLite's converter always
// writes one; Vela and NXP's converter expect it). Scale x_scale * w_scale[c], zero point 0.
int bias_tensor(Context& c, const Node& n, int64_t channels, fb::TensorType act_type) {
  const float xs = static_cast<float>(n.attrs.f("x_scale"));
  const std::vector<double> ws = n.attrs.floats("w_scales");
  Quant q;
  // Per tensor when the weights are (XNNPACK's TFLite delegate insists on matching granularity).
  for (size_t i = 0; i < ws.size(); ++i) q.scales.push_back(xs * static_cast<float>(ws[i]));
  (void)channels;
  q.zero_points.assign(q.scales.size(), 0);
  const std::string nm = n.name + "_bias";
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Value& b = c.g.value(n.inputs[2]);
    if (!b.constant) c.fail(n, "the bias is not a constant");
    return c.add_constant(nm, *b.constant, &q);
  }
  if (act_type == fb::TensorType::INT16) {
    const std::vector<int64_t> zeros(static_cast<size_t>(channels), 0);
    return c.add_constant(nm, fb::TensorType::INT64, {channels}, zeros.data(), zeros.size() * sizeof(int64_t), &q);
  }
  const std::vector<int32_t> zeros(static_cast<size_t>(channels), 0);
  return c.add_constant(nm, fb::TensorType::INT32, {channels}, zeros.data(), zeros.size() * sizeof(int32_t), &q);
}

// The output of a conv/FC with its act_min/act_max clamp: a fused activation when one matches,
// else MAXIMUM/MINIMUM after the op. Returns {tensor the op writes, fused activation}; the value
// is placed on the final tensor.
std::pair<int, fb::ActivationFunctionType> clamped_output(Context& c, const Node& n, int v, const Layout& layout,
                                                          std::vector<int>& post) {
  const int t = c.new_output(v, layout);
  const IntRange r = int_range(c.tensor(t).type);
  const Quant q = quant_of(c, t);
  const int64_t lo = n.attrs.i("act_min", r.lo), hi = n.attrs.i("act_max", r.hi);
  if (const auto f = fused_activation(lo, hi, q, r.lo, r.hi)) return {t, *f};
  post = {static_cast<int>(lo), static_cast<int>(hi)};
  return {t, fb::ActivationFunctionType::NONE};
}

// Applies a clamp recorded by clamped_output after the op was added.
void finish_clamp(Context& c, int v, int t, const Layout& layout, const std::vector<int>& post) {
  if (post.empty()) return;
  const IntRange r = int_range(c.tensor(t).type);
  const int out = clamp_tensor(c, t, post[0], post[1], r.lo, r.hi);
  c.place(v, Placed{out, layout, {}});
}

void emit_conv(Context& c, const Node& n, bool conv1d) {
  if (n.attrs.s("activation", "none") != "none")
    c.fail(n, "a conv with a fused " + n.attrs.s("activation") +
                  " computed in float has no TFLite equivalent (TFLite quantizes the conv output first); quantize "
                  "the conv output (a config that annotates conv and " + n.attrs.s("activation") + " separately)");
  const Layout layout = conv1d ? conv1d_layout() : nhwc_layout();
  const int x = c.in_layout(n.inputs[0], layout);
  const Value& xv = c.g.value(n.inputs[0]);
  const Value& wv = c.g.value(n.inputs[1]);
  if (!wv.constant) c.fail(n, "the weight is not a constant");
  const Tensor& w = *wv.constant;
  const int64_t cout = w.dim(0), cin_g = w.dim(1);
  const int64_t kh = conv1d ? 1 : w.dim(2), kw = conv1d ? w.dim(2) : w.dim(3);
  const int64_t cin = xv.shape.at(1), groups = n.attrs.i("groups", 1);
  const std::vector<int64_t> stride = n.attrs.ints("stride"), dil = n.attrs.ints("dilation", conv1d ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 1});
  const std::vector<int64_t> pad = n.attrs.ints("padding");
  const int64_t sh = conv1d ? 1 : stride.at(0), sw = conv1d ? stride.at(0) : stride.at(1);
  const int64_t dh = conv1d ? 1 : dil.at(0), dw = conv1d ? dil.at(0) : dil.at(1);
  const Pad1d ph = conv1d ? Pad1d{0, 0} : Pad1d{pad.at(0), pad.at(2)};
  const Pad1d pw = conv1d ? Pad1d{pad.at(0), pad.at(1)} : Pad1d{pad.at(1), pad.at(3)};
  const Shape& os = c.g.value(n.outputs[0]).shape;
  const int64_t in_h = conv1d ? 1 : xv.shape.at(2), in_w = conv1d ? xv.shape.at(2) : xv.shape.at(3);
  const int64_t out_h = conv1d ? 1 : os.at(2), out_w = conv1d ? os.at(2) : os.at(3);
  const bool depthwise = groups > 1 && groups == cin && cin_g == 1;

  // Weights: OHWI for CONV_2D, [1, H, W, Cout] for DEPTHWISE_CONV_2D.
  const auto* src = static_cast<const uint8_t*>(w.raw());
  const size_t es = dtype_storage_bytes(w.dtype(), 1);
  std::vector<uint8_t> buf(w.nbytes());
  Shape wshape;
  for (int64_t o = 0; o < cout; ++o)
    for (int64_t i = 0; i < cin_g; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t xk = 0; xk < kw; ++xk) {
          const int64_t from = ((o * cin_g + i) * kh + y) * kw + xk;
          const int64_t to = depthwise ? (y * kw + xk) * cout + o : ((o * kh + y) * kw + xk) * cin_g + i;
          std::memcpy(&buf[static_cast<size_t>(to) * es], &src[static_cast<size_t>(from) * es], es);
        }
  wshape = depthwise ? Shape{1, kh, kw, cout} : Shape{cout, kh, kw, cin_g};
  const Quant wq = weight_quant(n, cout, depthwise ? 3 : 0);
  const int wt = c.add_constant(n.name + "_weight", tensor_type(w.dtype()), wshape, buf.data(), buf.size(), &wq);
  const fb::TensorType act_type = c.tensor(x).type;
  const int bt = bias_tensor(c, n, cout, act_type);

  int xin = x;
  std::optional<fb::Padding> mode =
      tflite_padding({in_h, in_w}, {(kh - 1) * dh + 1, (kw - 1) * dw + 1}, {sh, sw}, {ph, pw}, {out_h, out_w});
  if (!mode) {
    // Explicit padding: PAD fills with the input's zero point (real 0), then VALID.
    xin = pad_tensor(c, x, {{0, 0}, {ph.begin, ph.end}, {pw.begin, pw.end}, {0, 0}});
    mode = fb::Padding::VALID;
  }
  std::vector<int> post;
  const auto [out, act] = clamped_output(c, n, n.outputs[0], layout, post);
  fb::BuiltinOptionsUnion u;
  if (depthwise) {
    fb::DepthwiseConv2DOptionsT o;
    o.padding = *mode;
    o.stride_w = static_cast<int32_t>(sw);
    o.stride_h = static_cast<int32_t>(sh);
    o.depth_multiplier = static_cast<int32_t>(cout / cin);
    o.fused_activation_function = act;
    o.dilation_w_factor = static_cast<int32_t>(dw);
    o.dilation_h_factor = static_cast<int32_t>(dh);
    u.Set(std::move(o));
    c.add_op(fb::BuiltinOperator::DEPTHWISE_CONV_2D, {xin, wt, bt}, {out}, std::move(u));
  } else {
    fb::Conv2DOptionsT o;
    o.padding = *mode;
    o.stride_w = static_cast<int32_t>(sw);
    o.stride_h = static_cast<int32_t>(sh);
    o.fused_activation_function = act;
    o.dilation_w_factor = static_cast<int32_t>(dw);
    o.dilation_h_factor = static_cast<int32_t>(dh);
    u.Set(std::move(o));
    c.add_op(fb::BuiltinOperator::CONV_2D, {xin, wt, bt}, {out}, std::move(u));
  }
  finish_clamp(c, n.outputs[0], out, layout, post);
}

void emit_linear(Context& c, const Node& n) {
  if (n.attrs.s("activation", "none") != "none")
    c.fail(n, "a linear with a fused " + n.attrs.s("activation") +
                  " computed in float has no TFLite equivalent; quantize the linear output");
  const int xv = n.inputs[0];
  const Value& wv = c.g.value(n.inputs[1]);
  if (!wv.constant) c.fail(n, "the weight is not a constant");
  Tensor w = *wv.constant;
  const int64_t out_f = w.dim(0), in_f = w.dim(1);
  const size_t rank = c.g.value(xv).shape.size();
  const Placed& p = c.placed(xv);
  int x;
  if (!p.column_perm.empty() && is_identity(p.src)) {
    // The input was flattened from NHWC without a TRANSPOSE: permute the weight columns instead.
    x = p.tensor;
    Tensor pw(w.dtype(), w.shape());
    const size_t es = dtype_storage_bytes(w.dtype(), 1);
    const auto* s = static_cast<const uint8_t*>(w.raw());
    auto* d = static_cast<uint8_t*>(pw.raw());
    for (int64_t o = 0; o < out_f; ++o)
      for (int64_t j = 0; j < in_f; ++j)
        std::memcpy(d + static_cast<size_t>(o * in_f + j) * es,
                    s + static_cast<size_t>(o * in_f + p.column_perm.at(static_cast<size_t>(j))) * es, es);
    w = pw;
  } else {
    x = c.canonical(xv);
  }
  const Quant wq = weight_quant(n, out_f, 0);
  const int wt = c.add_constant(n.name + "_weight", w, &wq);
  const int bt = bias_tensor(c, n, out_f, c.tensor(x).type);
  const Layout layout = identity_layout(c.g.value(n.outputs[0]).shape.size());
  std::vector<int> post;
  const auto [out, act] = clamped_output(c, n, n.outputs[0], layout, post);
  fb::FullyConnectedOptionsT o;
  o.fused_activation_function = act;
  o.keep_num_dims = rank > 2;
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  c.add_op(fb::BuiltinOperator::FULLY_CONNECTED, {x, wt, bt}, {out}, std::move(u));
  finish_clamp(c, n.outputs[0], out, layout, post);
}

void emit_matmul(Context& c, const Node& n) {
  const Shape& as = c.g.value(n.inputs[0]).shape;
  const Shape& bs = c.g.value(n.inputs[1]).shape;
  if (as.size() < 2 || bs.size() < 2) c.fail(n, "BATCH_MATMUL needs operands of rank >= 2 (a 1-D matmul operand)");
  const int a = c.canonical(n.inputs[0]);
  const int b = c.canonical(n.inputs[1]);
  const int out = c.new_output(n.outputs[0], identity_layout(c.g.value(n.outputs[0]).shape.size()));
  fb::BuiltinOptionsUnion u;
  u.Set(fb::BatchMatMulOptionsT{});
  c.add_op(fb::BuiltinOperator::BATCH_MATMUL, {a, b}, {out}, std::move(u));
}

}  // namespace

void register_conv_emitters(EmitterTable& t) {
  t["quantized.conv2d"] = [](Context& c, const Node& n) { emit_conv(c, n, false); };
  t["quantized.conv1d"] = [](Context& c, const Node& n) { emit_conv(c, n, true); };
  t["quantized.linear"] = emit_linear;
  t["quantized.matmul"] = emit_matmul;
}

}  // namespace eq::tflite_export
