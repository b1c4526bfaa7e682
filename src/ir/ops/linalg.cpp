// Schemas of the linear-algebra family: conv1d/conv2d, conv_transpose1d/2d, linear, matmul.
// See docs/ops.md for the contract. Batch-derived dims (kBatch) are propagated, never computed on;
// channel and spatial dims must be static.
#include <string>
#include <vector>

#include "edgequant/ops.h"
#include "op_families.h"
#include "spatial_attrs.h"

namespace eq {
namespace {

using ops_detail::list_str;
using ops_detail::spatial_attr;

// Padding in ONNX order [begins..., ends...] (2k elements); a k-element list means symmetric.
std::vector<int64_t> padding_attr(const InferContext& ctx, size_t k) {
  std::vector<int64_t> p = ctx.node.attrs.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (p.size() == k) p.insert(p.end(), p.begin(), p.end());
  ctx.require(p.size() == 2 * k, "attribute 'padding' " + list_str(p) + " must have " + std::to_string(2 * k) +
                                     " elements (begins then ends)");
  for (int64_t e : p) ctx.require(e >= 0, "attribute 'padding' " + list_str(p) + " must be non-negative");
  return p;
}

void require_static(const InferContext& ctx, const Shape& s, size_t from, const std::string& what) {
  for (size_t d = from; d < s.size(); ++d)
    ctx.require(s[d] >= 0, what + " " + shape_str(s) + ": dim " + std::to_string(d) + " must be static");
}

// conv1d/conv2d (transposed = false) and conv_transpose1d/2d (transposed = true).
std::vector<OutputInfo> infer_conv(const InferContext& ctx, size_t k, bool transposed) {
  const ValueInfo& x = ctx.in(0);
  const ValueInfo& w = ctx.in(1);
  ctx.require(x.dtype == DType::f32 && w.dtype == DType::f32, "input and weight must be f32");
  ctx.require(x.shape.size() == k + 2, "input " + shape_str(x.shape) + " must have rank " + std::to_string(k + 2) +
                                           " [N,C," + (k == 1 ? "L" : "H,W") + "]");
  ctx.require(w.shape.size() == k + 2, "weight " + shape_str(w.shape) + " must have rank " + std::to_string(k + 2));
  require_static(ctx, x.shape, 1, "input");
  require_static(ctx, w.shape, 0, "weight");
  const std::vector<int64_t> stride = spatial_attr(ctx, "stride", k, std::vector<int64_t>(k, 1), 1);
  const std::vector<int64_t> dilation = spatial_attr(ctx, "dilation", k, std::vector<int64_t>(k, 1), 1);
  const std::vector<int64_t> pad = padding_attr(ctx, k);
  const int64_t groups = ctx.node.attrs.i("groups", 1);
  ctx.require(groups >= 1, "attribute 'groups' must be >= 1, got " + std::to_string(groups));
  const int64_t cin = x.shape[1];
  ctx.require(cin % groups == 0, "groups " + std::to_string(groups) + " does not divide the " + std::to_string(cin) +
                                     " input channels");
  int64_t cout = 0;
  if (!transposed) {
    cout = w.shape[0];
    ctx.require(cout % groups == 0, "groups " + std::to_string(groups) + " does not divide the " +
                                        std::to_string(cout) + " output channels of weight " + shape_str(w.shape));
    ctx.require(w.shape[1] * groups == cin, "weight " + shape_str(w.shape) + " expects " +
                                                std::to_string(w.shape[1] * groups) + " input channels (groups " +
                                                std::to_string(groups) + "), input " + shape_str(x.shape) + " has " +
                                                std::to_string(cin));
  } else {
    ctx.require(w.shape[0] == cin, "weight " + shape_str(w.shape) + " [Cin,Cout/groups,k..] expects " +
                                       std::to_string(w.shape[0]) + " input channels, input " + shape_str(x.shape) +
                                       " has " + std::to_string(cin));
    cout = w.shape[1] * groups;
  }
  ctx.require(cout >= 1, "weight " + shape_str(w.shape) + " has no output channels");
  if (ctx.has(2)) {
    const ValueInfo& b = ctx.in(2);
    ctx.require(b.dtype == DType::f32, "bias must be f32");
    ctx.require(b.shape == Shape{cout}, "bias " + shape_str(b.shape) + " must be [" + std::to_string(cout) + "]");
  }
  std::vector<int64_t> out_pad(k, 0);
  if (transposed) {
    out_pad = spatial_attr(ctx, "output_padding", k, std::vector<int64_t>(k, 0), 0);
    for (size_t d = 0; d < k; ++d)
      ctx.require(out_pad[d] < stride[d] || out_pad[d] < dilation[d],
                  "output_padding " + list_str(out_pad) + " must be smaller than stride or dilation");
  }
  Shape out = {x.shape[0], cout};
  for (size_t d = 0; d < k; ++d) {
    const int64_t in = x.shape[2 + d], kk = w.shape[2 + d];
    ctx.require(kk >= 1, "weight " + shape_str(w.shape) + " has an empty kernel");
    const int64_t eff = dilation[d] * (kk - 1) + 1;
    int64_t o;
    if (!transposed) {
      const int64_t padded = in + pad[d] + pad[k + d];
      ctx.require(padded >= eff, "kernel (effective size " + std::to_string(eff) + ") does not fit the padded input " +
                                     std::to_string(padded) + " in spatial dim " + std::to_string(d) + " of input " +
                                     shape_str(x.shape));
      o = (padded - eff) / stride[d] + 1;
    } else {
      o = (in - 1) * stride[d] - pad[d] - pad[k + d] + eff + out_pad[d];
      ctx.require(o >= 1, "output size " + std::to_string(o) + " in spatial dim " + std::to_string(d) +
                              " is not positive (padding too large)");
    }
    out.push_back(o);
  }
  return {{DType::f32, out}};
}

std::vector<OutputInfo> infer_linear(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  const ValueInfo& w = ctx.in(1);
  ctx.require(x.dtype == DType::f32 && w.dtype == DType::f32, "input and weight must be f32");
  ctx.require(!x.shape.empty(), "input must have rank >= 1");
  ctx.require(w.shape.size() == 2, "weight " + shape_str(w.shape) + " must be 2-D [out,in]");
  require_static(ctx, w.shape, 0, "weight");
  ctx.require(x.shape.back() >= 0, "input " + shape_str(x.shape) + ": the last dim must be static");
  ctx.require(x.shape.back() == w.shape[1], "input " + shape_str(x.shape) + " has " + std::to_string(x.shape.back()) +
                                                " features, weight " + shape_str(w.shape) + " expects " +
                                                std::to_string(w.shape[1]));
  if (ctx.has(2)) {
    const ValueInfo& b = ctx.in(2);
    ctx.require(b.dtype == DType::f32, "bias must be f32");
    ctx.require(b.shape == Shape{w.shape[0]}, "bias " + shape_str(b.shape) + " must be [" +
                                                  std::to_string(w.shape[0]) + "]");
  }
  Shape out = x.shape;
  out.back() = w.shape[0];
  return {{DType::f32, out}};
}

std::vector<OutputInfo> infer_matmul(const InferContext& ctx) {
  const ValueInfo& a = ctx.in(0);
  const ValueInfo& b = ctx.in(1);
  ctx.require(a.dtype == DType::f32 && b.dtype == DType::f32, "inputs must be f32");
  ctx.require(!a.shape.empty() && !b.shape.empty(), "inputs " + shape_str(a.shape) + " and " + shape_str(b.shape) +
                                                        " must have rank >= 1");
  Shape sa = a.shape, sb = b.shape;
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const int64_t ka = sa.back(), kb = sb[sb.size() - 2];
  ctx.require(ka >= 0 && kb >= 0, "inputs " + shape_str(a.shape) + " and " + shape_str(b.shape) +
                                      ": the contracted dim must be static");
  ctx.require(ka == kb, "inputs " + shape_str(a.shape) + " and " + shape_str(b.shape) +
                            " do not match: contracted dims " + std::to_string(ka) + " and " + std::to_string(kb));
  const Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  Shape out = broadcast_shapes(ba, bb, "batch dims of " + shape_str(a.shape) + " and " + shape_str(b.shape));
  if (!a_vec) out.push_back(sa[sa.size() - 2]);
  if (!b_vec) out.push_back(sb.back());
  return {{DType::f32, out}};
}

}  // namespace

void register_linalg_schemas() {
  register_op_schema({"aten.conv1d.default", 2, 3, 1, [](const InferContext& c) { return infer_conv(c, 1, false); }});
  register_op_schema({"aten.conv2d.default", 2, 3, 1, [](const InferContext& c) { return infer_conv(c, 2, false); }});
  register_op_schema(
      {"aten.conv_transpose1d.default", 2, 3, 1, [](const InferContext& c) { return infer_conv(c, 1, true); }});
  register_op_schema(
      {"aten.conv_transpose2d.input", 2, 3, 1, [](const InferContext& c) { return infer_conv(c, 2, true); }});
  register_op_schema({"aten.linear.default", 2, 3, 1, infer_linear});
  register_op_schema({"aten.matmul.default", 2, 2, 1, infer_matmul});
}

}  // namespace eq
