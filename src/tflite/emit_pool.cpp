// quantized max/avg pools -> MAX_POOL_2D / AVERAGE_POOL_2D (pool1d over a unit height),
// quantized.adaptive_avg_pool2d -> MEAN (global) or AVERAGE_POOL_2D (even bins),
// quantized.mean -> MEAN, quantized.sum -> SUM.
#include <algorithm>

#include "edgequant/error.h"
#include "emitters.h"

namespace eq::tflite_export {
namespace {

// Writes `op` from x into the node's output; TFLite's integer pools need equal input and output
// qparams, so when the node's differ the pool writes x's qparams and a QUANTIZE follows.
void pool_into_output(Context& c, const Node& n, int x, const Layout& l, fb::BuiltinOperator op,
                      fb::BuiltinOptionsUnion options) {
  const int out = c.new_output(n.outputs[0], l);
  op_into_output(c, op, {x}, out, quant_of(c, x), std::move(options), "_pooled");
}

fb::BuiltinOptionsUnion pool_options(fb::Padding pad, int64_t sh, int64_t sw, int64_t kh, int64_t kw) {
  fb::Pool2DOptionsT o;
  o.padding = pad;
  o.stride_h = static_cast<int32_t>(sh);
  o.stride_w = static_cast<int32_t>(sw);
  o.filter_height = static_cast<int32_t>(kh);
  o.filter_width = static_cast<int32_t>(kw);
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  return u;
}

void emit_pool(Context& c, const Node& n, bool one_d, bool max) {
  const Layout l = one_d ? conv1d_layout() : nhwc_layout();
  const int x = c.in_layout(n.inputs[0], l);
  const Shape& is = c.g.value(n.inputs[0]).shape;
  const Shape& os = c.g.value(n.outputs[0]).shape;
  const std::vector<int64_t> k = n.attrs.ints("kernel_size");
  const std::vector<int64_t> s = n.attrs.ints("stride", k);
  const std::vector<int64_t> p = n.attrs.ints("padding", std::vector<int64_t>(2 * k.size(), 0));
  for (int64_t d : n.attrs.ints("dilation", {1})) if (d != 1) c.fail(n, "a dilated pool has no TFLite equivalent");
  const size_t r = is.size();
  const int64_t in_h = one_d ? 1 : is[r - 2], in_w = is[r - 1], out_h = one_d ? 1 : os[r - 2], out_w = os[r - 1];
  const int64_t kh = one_d ? 1 : k.at(0), kw = k.back();
  const int64_t sh = one_d ? 1 : s.at(0), sw = s.back();
  const Pad1d ph = one_d ? Pad1d{0, 0} : Pad1d{p.at(0), p.at(2)};
  const Pad1d pw = one_d ? Pad1d{p.at(0), p.at(1)} : Pad1d{p.at(1), p.at(3)};
  std::optional<fb::Padding> mode = tflite_padding({in_h, in_w}, {kh, kw}, {sh, sw}, {ph, pw}, {out_h, out_w});
  int xin = x;
  if (!mode) {
    if (!max)
      c.fail(n, "an average pool whose padding / ceil_mode is neither TFLite SAME nor VALID has no TFLite "
                "equivalent (TFLite averages the in-bounds taps only under SAME)");
    // Max pool: explicit padding with the lowest value (never the max of a window holding a real
    // tap), widened at the end for ceil_mode windows.
    auto end_pad = [](int64_t in, int64_t kk, int64_t st, Pad1d pd, int64_t out) {
      return std::max<int64_t>(pd.end, (out - 1) * st + kk - in - pd.begin);
    };
    const int64_t qmin = int_range(c.tensor(x).type).lo;
    xin = pad_tensor(c, x, {{0, 0}, {ph.begin, end_pad(in_h, kh, sh, ph, out_h)}, {pw.begin, end_pad(in_w, kw, sw, pw, out_w)}, {0, 0}},
                     qmin);
    mode = fb::Padding::VALID;
  }
  pool_into_output(c, n, xin, l, max ? fb::BuiltinOperator::MAX_POOL_2D : fb::BuiltinOperator::AVERAGE_POOL_2D,
                   pool_options(*mode, sh, sw, kh, kw));
}

// MEAN over TFLite axes `axes` of x, keep_dims, output placed with `out_layout`.
void emit_mean_axes(Context& c, const Node& n, int x, const std::vector<int32_t>& axes, bool keep, const Layout& out_layout,
                    fb::BuiltinOperator op = fb::BuiltinOperator::MEAN) {
  const int at = c.const_i32(n.name + "_axes", axes);
  const int out = c.new_output(n.outputs[0], out_layout);
  fb::ReducerOptionsT o;
  o.keep_dims = keep;
  fb::BuiltinOptionsUnion u;
  u.Set(std::move(o));
  c.add_op(op, {x, at}, {out}, std::move(u));
}

void emit_adaptive_avg_pool(Context& c, const Node& n) {
  const Shape& is = c.g.value(n.inputs[0]).shape;
  const Shape& os = c.g.value(n.outputs[0]).shape;
  if (is.size() != 4) c.fail(n, "adaptive average pooling of a rank-" + std::to_string(is.size()) + " tensor (TFLite pools are NHWC)");
  const Layout l = nhwc_layout();
  const int x = c.in_layout(n.inputs[0], l);
  if (os[2] == 1 && os[3] == 1) return emit_mean_axes(c, n, x, {1, 2}, true, l);
  if (is[2] % os[2] != 0 || is[3] % os[3] != 0)
    c.fail(n, "adaptive average pooling to " + std::to_string(os[2]) + "x" + std::to_string(os[3]) +
                  " with uneven bins has no TFLite equivalent");
  const int64_t kh = is[2] / os[2], kw = is[3] / os[3];
  pool_into_output(c, n, x, l, fb::BuiltinOperator::AVERAGE_POOL_2D, pool_options(fb::Padding::VALID, kh, kw, kh, kw));
}

void emit_mean(Context& c, const Node& n) {
  const Placed p = c.placed(n.inputs[0]);
  const int rank = static_cast<int>(c.g.value(n.inputs[0]).shape.size());
  std::vector<int64_t> dims = n.attrs.ints("dim", {});
  if (dims.empty())
    for (int i = 0; i < rank; ++i) dims.push_back(i);
  for (int64_t& d : dims) d = d < 0 ? d + rank : d;
  const bool keep = n.attrs.i("keepdim", 0) != 0;
  std::vector<int32_t> axes;
  for (int64_t d : dims) axes.push_back(tflite_axis(p.src, static_cast<int>(d)));
  std::sort(axes.begin(), axes.end());
  Layout out_layout = p.src;
  if (!keep) {
    // Drop the reduced axes; the remaining IR dims are renumbered in order.
    out_layout.clear();
    for (size_t k = 0; k < p.src.size(); ++k) {
      const int a = p.src[k];
      if (std::find(axes.begin(), axes.end(), static_cast<int32_t>(k)) != axes.end()) continue;
      if (a < 0) {
        out_layout.push_back(-1);
        continue;
      }
      int below = 0;
      for (int64_t d : dims) below += d < a;
      out_layout.push_back(a - below);
    }
  }
  emit_mean_axes(c, n, p.tensor, axes, keep, out_layout,
                 n.op == "quantized.sum" ? fb::BuiltinOperator::SUM : fb::BuiltinOperator::MEAN);
}

}  // namespace

void register_pool_emitters(EmitterTable& t) {
  t["quantized.max_pool2d"] = [](Context& c, const Node& n) { emit_pool(c, n, false, true); };
  t["quantized.max_pool1d"] = [](Context& c, const Node& n) { emit_pool(c, n, true, true); };
  t["quantized.avg_pool2d"] = [](Context& c, const Node& n) { emit_pool(c, n, false, false); };
  t["quantized.avg_pool1d"] = [](Context& c, const Node& n) { emit_pool(c, n, true, false); };
  t["quantized.adaptive_avg_pool2d"] = emit_adaptive_avg_pool;
  t["quantized.mean"] = emit_mean;
  t["quantized.sum"] = emit_mean;
}

}  // namespace eq::tflite_export
