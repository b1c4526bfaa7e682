// Float spatial ops of islands: conv / conv_transpose / linear / matmul, max and average pools,
// adaptive average pool and upsample, on NHWC ([N, 1, L, C] for 1-D) activations.
#include <algorithm>
#include <cmath>
#include <limits>

#include "emit_float_util.h"

namespace eq::tflite_export {
namespace {

// Input `v` in layout `l`: constants written so, activations moved by the context.
int input_in(Context& c, int v, const Layout& l) {
  if (!c.is_placed(v) && is_constant_like(c, v)) return const_in(c, v, l);
  return c.in_layout(v, l);
}

// ---- conv / linear / matmul ----

// Spatial geometry over TFLite's (H, W): conv1d/pool1d run with a unit height.
struct Geometry {
  std::vector<int64_t> in, k, stride, dil, out;
  std::vector<Pad1d> pad;
};

Geometry geometry(const Node& n, const Shape& xs, const Shape& ys, const std::vector<int64_t>& kernel, bool one_d) {
  const size_t sp = one_d ? 1 : 2;
  std::vector<int64_t> stride = n.attrs.ints("stride", std::vector<int64_t>(sp, 1));
  if (stride.empty()) stride = kernel;  // ATen pools: an empty stride is the kernel size
  const std::vector<int64_t> dil = n.attrs.ints("dilation", std::vector<int64_t>(sp, 1));
  std::vector<int64_t> pad = n.attrs.ints("padding", std::vector<int64_t>(2 * sp, 0));
  if (pad.size() == sp) pad.insert(pad.end(), pad.begin(), pad.end());
  Geometry g;
  if (one_d) {
    g = Geometry{{1}, {1}, {1}, {1}, {1}, {Pad1d{0, 0}}};
  }
  const size_t r = xs.size();
  for (size_t d = 0; d < sp; ++d) {
    g.in.push_back(xs.at(r - sp + d));
    g.k.push_back(kernel.at(d));
    g.stride.push_back(stride.at(d));
    g.dil.push_back(dil.at(d));
    g.out.push_back(ys.at(r - sp + d));
    g.pad.push_back(Pad1d{pad.at(d), pad.at(sp + d)});
  }
  return g;
}

std::vector<int64_t> effective_kernel(const Geometry& g) {
  std::vector<int64_t> ek;
  for (size_t d = 0; d < g.k.size(); ++d) ek.push_back((g.k[d] - 1) * g.dil[d] + 1);
  return ek;
}

// The input padded explicitly (PAD, zeros) unless SAME/VALID expresses the geometry.
std::pair<int, fb::Padding> padded_input(Context& c, int x, const Geometry& g) {
  if (const auto mode = tflite_padding(g.in, effective_kernel(g), g.stride, g.pad, g.out)) return {x, *mode};
  return {pad_tensor(c, x, {{0, 0}, {g.pad[0].begin, g.pad[0].end}, {g.pad[1].begin, g.pad[1].end}, {0, 0}}),
          fb::Padding::VALID};
}

int bias_or_zeros(Context& c, const Node& n, int64_t channels) {
  const int b = n.inputs.size() > 2 ? n.inputs[2] : kNoValue;
  if (b != kNoValue) {
    if (!is_constant_like(c, b)) c.fail(n, "a non-constant bias has no TFLite form");
    return const_in(c, b, identity_layout(1));
  }
  const std::vector<float> zeros(static_cast<size_t>(channels), 0.f);
  return c.add_constant(n.name + "_bias", fb::TensorType::FLOAT32, {channels}, zeros.data(), zeros.size() * sizeof(float));
}

void emit_conv(Context& c, const Node& n, bool one_d) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  const std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a conv with non-constant weights has no TFLite form");
  const Shape& xs = c.g.value(x).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a conv without a batch dimension");
  const int64_t cin = xs[1], cout = wt->dim(0), cin_g = wt->dim(1), groups = n.attrs.i("groups", 1);
  const std::vector<int64_t> kernel(wt->shape().begin() + 2, wt->shape().end());
  const Geometry g = geometry(n, xs, c.g.value(y).shape, kernel, one_d);
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  const bool depthwise = groups > 1 && groups == cin && cin_g == 1;
  if (groups != 1 && !depthwise)
    c.fail(n, "a grouped conv (groups " + std::to_string(groups) + ", not depthwise) has no TFLite builtin");
  // OHWI weights ([O, I, kh, kw] placed like an NHWC activation); depthwise [1, kh, kw, O].
  const Layout wl = depthwise ? (one_d ? Layout{1, -1, 2, 0} : Layout{1, 2, 3, 0}) : l;
  const int wtensor = const_in(c, w, wl);
  const int bt = bias_or_zeros(c, n, cout);
  const auto [xin, padding] = padded_input(c, c.in_layout(x, l), g);
  const int out = c.new_output(y, l);
  if (depthwise) {
    fb::DepthwiseConv2DOptionsT o;
    o.padding = padding;
    o.stride_h = static_cast<int32_t>(g.stride[0]);
    o.stride_w = static_cast<int32_t>(g.stride[1]);
    o.depth_multiplier = static_cast<int32_t>(cout / cin);
    o.dilation_h_factor = static_cast<int32_t>(g.dil[0]);
    o.dilation_w_factor = static_cast<int32_t>(g.dil[1]);
    float_op(c, Op::DEPTHWISE_CONV_2D, {xin, wtensor, bt}, {out}, opts(o));
  } else {
    fb::Conv2DOptionsT o;
    o.padding = padding;
    o.stride_h = static_cast<int32_t>(g.stride[0]);
    o.stride_w = static_cast<int32_t>(g.stride[1]);
    o.dilation_h_factor = static_cast<int32_t>(g.dil[0]);
    o.dilation_w_factor = static_cast<int32_t>(g.dil[1]);
    float_op(c, Op::CONV_2D, {xin, wtensor, bt}, {out}, opts(o));
  }
}

// conv_transpose -> TRANSPOSE_CONV (groups 1, no dilation). TFLite scatters input row i to output
// rows i * stride - pad + k, pad from SAME/VALID over the output size it is given; a padding
// SAME does not give is a VALID result (pad 0) over a larger output, cropped with a SLICE. The
// output size is a constant: the batch is fixed at 1 (a symbolic batch cannot be resized).
void emit_conv_transpose(Context& c, const Node& n, bool one_d) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  const std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a transposed conv with non-constant weights has no TFLite form");
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a transposed conv without a batch dimension");
  if (n.attrs.i("groups", 1) != 1) c.fail(n, "a grouped transposed conv has no TFLite builtin");
  const size_t sp = one_d ? 1 : 2;
  for (int64_t d : n.attrs.ints("dilation", std::vector<int64_t>(sp, 1)))
    if (d != 1) c.fail(n, "a dilated transposed conv has no TFLite builtin");
  const int64_t cout = wt->dim(1);
  const std::vector<int64_t> kernel(wt->shape().begin() + 2, wt->shape().end());
  // Geometry over (H, W) of the output: TFLite's padding is computed from the output size.
  Geometry g = geometry(n, xs, ys, kernel, one_d);
  // TFLite checks that its padding maps the output size back to the input size: SAME needs
  // ceil(out / stride) == in, VALID (out - k) / stride + 1 == in.
  bool same = true;
  std::vector<int64_t> full(2), begin(2);
  bool crop = false;
  for (size_t d = 0; d < 2; ++d) {
    const int64_t out = g.out[d], s = g.stride[d], k = g.k[d], pb = g.pad[d].begin, in = g.in[d];
    const int64_t total = std::max<int64_t>(((out + s - 1) / s - 1) * s + k - out, 0);
    same = same && pb == total / 2 && (out + s - 1) / s == in;
    full[d] = std::max(out + pb, (in - 1) * s + k);
    begin[d] = pb;
    crop = crop || full[d] != out || pb != 0;
  }
  if (same) crop = false;
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  const int xt = c.in_layout(x, l);
  const int wtensor = const_in(c, w, one_d ? Layout{1, -1, 2, 0} : Layout{1, 2, 3, 0});  // [O, kh, kw, I]
  const int bt = bias_or_zeros(c, n, cout);
  const Shape out_shape = apply_layout(ys, l);
  Shape conv_shape = out_shape;
  if (crop) {
    conv_shape[1] = full[0];
    conv_shape[2] = full[1];
  }
  std::vector<int32_t> dims;
  for (int64_t d : conv_shape) dims.push_back(d == kBatch ? 1 : static_cast<int32_t>(d));
  const int shape_t = c.const_i32(n.name + "_output_shape", dims);
  const int out = c.new_output(y, l);
  const int conv_out = crop ? float_tensor(c, n.name + "_uncropped", conv_shape) : out;
  fb::TransposeConvOptionsT o;
  o.padding = same ? fb::Padding::SAME : fb::Padding::VALID;
  o.stride_h = static_cast<int32_t>(g.stride[0]);
  o.stride_w = static_cast<int32_t>(g.stride[1]);
  float_op(c, Op::TRANSPOSE_CONV, {shape_t, wtensor, xt, bt}, {conv_out}, opts(o));
  if (crop) {
    std::vector<int32_t> size;
    for (int64_t d : out_shape) size.push_back(d == kBatch ? -1 : static_cast<int32_t>(d));
    const int b = c.const_i32(n.name + "_crop_begin", {0, static_cast<int32_t>(begin[0]), static_cast<int32_t>(begin[1]), 0});
    float_op(c, Op::SLICE, {conv_out, b, c.const_i32(n.name + "_crop_size", size)}, {out}, opts(fb::SliceOptionsT{}));
  }
}

void emit_linear(Context& c, const Node& n) {
  const int x = n.inputs.at(0), w = n.inputs.at(1), y = n.outputs.at(0);
  std::optional<Tensor> wt = float_constant(c, w);
  if (!wt) c.fail(n, "a linear with non-constant weights has no TFLite FULLY_CONNECTED form");
  const size_t rank = rank_of(c, x);
  const int64_t out_f = wt->dim(0), in_f = wt->dim(1);
  int xt;
  Layout l;
  const Placed& p = c.placed(x);
  int wtensor;
  if (!p.column_perm.empty() && is_identity(p.src) && rank == 2) {
    // Flattened from NHWC without a TRANSPOSE: permute the weight columns instead.
    xt = p.tensor;
    l = p.src;
    Tensor pw(DType::f32, wt->shape());
    for (int64_t o = 0; o < out_f; ++o)
      for (int64_t j = 0; j < in_f; ++j)
        pw.data<float>()[o * in_f + j] = wt->data<float>()[o * in_f + p.column_perm.at(static_cast<size_t>(j))];
    wtensor = c.add_constant(c.g.value(w).name, pw);
  } else {
    // FULLY_CONNECTED reduces the last TFLite dim: any layout keeping the IR's last dim last.
    l = input(c, x).l;
    if (l.empty() || l.back() != static_cast<int>(rank) - 1) l = identity_layout(rank);
    xt = c.in_layout(x, l);
    wtensor = const_in(c, w, identity_layout(2));
  }
  const int bt = bias_or_zeros(c, n, out_f);
  const int out = c.new_output(y, l);
  fb::FullyConnectedOptionsT o;
  o.keep_num_dims = rank != 2;
  float_op(c, Op::FULLY_CONNECTED, {xt, wtensor, bt}, {out}, opts(o));
}

void emit_matmul(Context& c, const Node& n) {
  const int a = n.inputs.at(0), b = n.inputs.at(1);
  if (rank_of(c, a) < 2 || rank_of(c, b) < 2) c.fail(n, "BATCH_MATMUL needs operands of rank >= 2 (a 1-D matmul operand)");
  const int at = input_in(c, a, identity_layout(rank_of(c, a)));
  const int bt = input_in(c, b, identity_layout(rank_of(c, b)));
  const int out = c.new_output(n.outputs.at(0), identity_layout(rank_of(c, n.outputs.at(0))));
  float_op(c, Op::BATCH_MATMUL, {at, bt}, {out}, opts(fb::BatchMatMulOptionsT{}));
}

// ---- pools ----

void emit_pool(Context& c, const Node& n, bool one_d, bool is_max) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  if (xs.size() != (one_d ? 3u : 4u)) c.fail(n, "a pool without a batch dimension");
  Geometry g = geometry(n, xs, c.g.value(y).shape, n.attrs.ints("kernel_size"), one_d);
  for (int64_t d : g.dil)
    if (d != 1) c.fail(n, "a dilated pool has no TFLite equivalent");
  // ceil_mode: the last window may overhang the end padding; widen it to cover that window.
  bool overhang = false;
  for (size_t d = 0; d < g.in.size(); ++d) {
    const int64_t need = (g.out[d] - 1) * g.stride[d] + g.k[d] - g.in[d] - g.pad[d].begin;
    if (need > g.pad[d].end) {
      overhang = true;
      g.pad[d].end = need;
    }
  }
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  int xin = c.in_layout(x, l);
  bool padded = false;
  for (const Pad1d& p : g.pad) padded = padded || p.begin != 0 || p.end != 0;
  std::optional<fb::Padding> mode = tflite_padding(g.in, g.k, g.stride, g.pad, g.out);
  const bool count_pad = !is_max && padded && n.attrs.i("count_include_pad", 1) != 0;
  if (count_pad && overhang)
    c.fail(n, "an average pool counting padding with ceil_mode overhang has no TFLite equivalent");
  if (!is_max && !count_pad && padded && mode != fb::Padding::SAME)
    c.fail(n, "an average pool excluding padding that TFLite's SAME padding does not express");
  if (!mode || count_pad) {
    // Explicit padding, then VALID: zeros for an average that counts them, -inf for max.
    const std::vector<std::pair<int64_t, int64_t>> pads{
        {0, 0}, {g.pad[0].begin, g.pad[0].end}, {g.pad[1].begin, g.pad[1].end}, {0, 0}};
    if (is_max) {
      Shape s = c.tensor_shape(xin);
      std::vector<int32_t> pv;
      for (size_t i = 0; i < pads.size(); ++i) {
        pv.push_back(static_cast<int32_t>(pads[i].first));
        pv.push_back(static_cast<int32_t>(pads[i].second));
        if (s[i] != kBatch) s[i] += pads[i].first + pads[i].second;
      }
      const int padded_t = float_tensor(c, n.name + "_padded", s);
      const float lowest = -std::numeric_limits<float>::infinity();
      const int fill = c.add_constant(n.name + "_pad_value", fb::TensorType::FLOAT32, {1}, &lowest, sizeof lowest);
      float_op(c, Op::PADV2, {xin, c.const_i32_2d(n.name + "_paddings", pv, 4, 2), fill}, {padded_t},
               opts(fb::PadV2OptionsT{}));
      xin = padded_t;
    } else {
      xin = pad_tensor(c, xin, pads);
    }
    mode = fb::Padding::VALID;
  }
  const int out = c.new_output(y, l);
  fb::Pool2DOptionsT o;
  o.padding = *mode;
  o.stride_h = static_cast<int32_t>(g.stride[0]);
  o.stride_w = static_cast<int32_t>(g.stride[1]);
  o.filter_height = static_cast<int32_t>(g.k[0]);
  o.filter_width = static_cast<int32_t>(g.k[1]);
  float_op(c, is_max ? Op::MAX_POOL_2D : Op::AVERAGE_POOL_2D, {xin}, {out}, opts(o));
}

void emit_adaptive_avg_pool(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != 4) c.fail(n, "an adaptive average pool without a batch dimension");
  const Layout l = nhwc_layout();
  const int xt = c.in_layout(x, l);
  if (ys[2] == 1 && ys[3] == 1) {
    const int out = c.new_output(y, l);
    reduce(c, Op::MEAN, xt, {1, 2}, true, out, n.name);
    return;
  }
  if (xs[2] % ys[2] != 0 || xs[3] % ys[3] != 0)
    c.fail(n, "an adaptive average pool with uneven bins has no TFLite equivalent");
  fb::Pool2DOptionsT o;
  o.padding = fb::Padding::VALID;
  o.stride_h = o.filter_height = static_cast<int32_t>(xs[2] / ys[2]);
  o.stride_w = o.filter_width = static_cast<int32_t>(xs[3] / ys[3]);
  const int out = c.new_output(y, l);
  float_op(c, Op::AVERAGE_POOL_2D, {xt}, {out}, opts(o));
}

// ---- upsample ----

// Source index of each output index along one axis, as the IR's nearest resize computes it
// (ONNX Resize: coordinate transform, then the nearest mode's rounding, clamped).
std::vector<int64_t> ir_nearest(const Node& n, int64_t in, int64_t out, double scale) {
  const std::string ctm = n.attrs.s("coordinate_transformation_mode", "half_pixel");
  const std::string nm = n.attrs.s("nearest_mode", "round_prefer_floor");
  std::vector<int64_t> idx;
  const double out_w = scale * static_cast<double>(in);
  for (int64_t j = 0; j < out; ++j) {
    const double jd = static_cast<double>(j);
    double x;
    if (ctm == "align_corners") x = out_w == 1 ? 0.0 : jd * static_cast<double>(in - 1) / (out_w - 1);
    else if (ctm == "asymmetric") x = jd / scale;
    else if (ctm == "pytorch_half_pixel") x = out_w == 1 ? -0.5 : (jd + 0.5) / scale - 0.5;
    else if (ctm == "tf_half_pixel_for_nn") x = (jd + 0.5) / scale;
    else if (ctm == "half_pixel") x = (jd + 0.5) / scale - 0.5;
    else return {};  // half_pixel_symmetric and the like: not matched
    const double f = std::floor(x), r = x - f;
    bool up;
    if (r == 0) up = false;
    else if (nm == "round_prefer_ceil") up = r >= 0.5;
    else if (nm == "floor") up = false;
    else if (nm == "ceil") up = true;
    else up = r > 0.5;
    idx.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) + (up ? 1 : 0), 0, in - 1));
  }
  return idx;
}

// TFLite's RESIZE_NEAREST_NEIGHBOR source index (reference kernel's GetNearestNeighbor).
std::vector<int64_t> tflite_nearest(int64_t in, int64_t out, bool align_corners, bool half_pixel) {
  const float scale = (align_corners && out > 1) ? static_cast<float>(in - 1) / static_cast<float>(out - 1)
                                                 : static_cast<float>(in) / static_cast<float>(out);
  const float offset = half_pixel ? 0.5f : 0.f;
  std::vector<int64_t> idx;
  for (int64_t j = 0; j < out; ++j) {
    const float v = (static_cast<float>(j) + offset) * scale;
    int64_t i = std::min<int64_t>(align_corners ? static_cast<int64_t>(std::round(v)) : static_cast<int64_t>(std::floor(v)), in - 1);
    if (half_pixel) i = std::max<int64_t>(i, 0);
    idx.push_back(i);
  }
  return idx;
}

void emit_upsample(Context& c, const Node& n) {
  const int x = n.inputs.at(0), y = n.outputs.at(0);
  const Shape& xs = c.g.value(x).shape;
  const Shape& ys = c.g.value(y).shape;
  if (xs.size() != 4 || xs[0] != ys[0] || xs[1] != ys[1])
    c.fail(n, "only a resize of H and W of a rank-4 tensor has a TFLite equivalent");
  const std::string mode = n.attrs.s("mode", "nearest");
  const bool has_scales = n.attrs.has("scales");
  const std::vector<double> scales = n.attrs.floats("scales", {});
  auto scale_of = [&](size_t d) {
    return has_scales ? scales.at(d) : static_cast<double>(ys[d]) / static_cast<double>(xs[d]);
  };
  bool align = false, half = false;
  if (mode == "nearest") {
    const std::vector<int64_t> h = ir_nearest(n, xs[2], ys[2], scale_of(2)), w = ir_nearest(n, xs[3], ys[3], scale_of(3));
    bool found = false;
    for (const auto& [ac, hp] : {std::pair{false, false}, std::pair{false, true}, std::pair{true, false}}) {
      if (tflite_nearest(xs[2], ys[2], ac, hp) == h && tflite_nearest(xs[3], ys[3], ac, hp) == w) {
        align = ac;
        half = hp;
        found = true;
        break;
      }
    }
    if (!found) c.fail(n, "this nearest resize (coordinate transform and rounding) has no TFLite equivalent");
  } else if (mode == "linear") {
    const std::string ctm = n.attrs.s("coordinate_transformation_mode", "half_pixel");
    for (size_t d = 2; d < 4; ++d)
      if (std::fabs(scale_of(d) - static_cast<double>(ys[d]) / static_cast<double>(xs[d])) > 1e-6 * scale_of(d))
        c.fail(n, "a linear resize whose scale is not output/input size has no TFLite equivalent");
    if (ctm == "half_pixel" || (ctm == "pytorch_half_pixel" && ys[2] > 1 && ys[3] > 1)) half = true;
    else if (ctm == "align_corners") align = true;
    else if (ctm != "asymmetric") c.fail(n, "linear resize with coordinate transform '" + ctm + "' has no TFLite equivalent");
  } else {
    c.fail(n, "resize mode '" + mode + "' has no TFLite equivalent");
  }
  const Layout l = nhwc_layout();
  const int xt = c.in_layout(x, l);
  const int size = c.const_i32(n.name + "_size", {static_cast<int32_t>(ys[2]), static_cast<int32_t>(ys[3])});
  const int out = c.new_output(y, l);
  if (mode == "nearest") {
    fb::ResizeNearestNeighborOptionsT o;
    o.align_corners = align;
    o.half_pixel_centers = half;
    float_op(c, Op::RESIZE_NEAREST_NEIGHBOR, {xt, size}, {out}, opts(o));
  } else {
    fb::ResizeBilinearOptionsT o;
    o.align_corners = align;
    o.half_pixel_centers = half;
    float_op(c, Op::RESIZE_BILINEAR, {xt, size}, {out}, opts(o));
  }
}

}  // namespace

void register_float_spatial_emitters(EmitterTable& f) {
  f["aten.conv2d.default"] = float_node([](Context& c, const Node& n) { emit_conv(c, n, false); });
  f["aten.conv1d.default"] = float_node([](Context& c, const Node& n) { emit_conv(c, n, true); });
  f["aten.conv_transpose2d.input"] = float_node([](Context& c, const Node& n) { emit_conv_transpose(c, n, false); });
  f["aten.conv_transpose1d.default"] = float_node([](Context& c, const Node& n) { emit_conv_transpose(c, n, true); });
  f["aten.linear.default"] = float_node(emit_linear);
  f["aten.matmul.default"] = float_node(emit_matmul);
  f["aten.max_pool2d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, false, true); });
  f["aten.max_pool1d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, true, true); });
  f["aten.avg_pool2d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, false, false); });
  f["aten.avg_pool1d.default"] = float_node([](Context& c, const Node& n) { emit_pool(c, n, true, false); });
  f["aten.adaptive_avg_pool2d.default"] = float_node(emit_adaptive_avg_pool);
  f["aten.upsample.default"] = float_node(emit_upsample);
}

}  // namespace eq::tflite_export
