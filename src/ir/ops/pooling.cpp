// Schemas of the pooling family: max/avg pools (1-D, 2-D), adaptive average pool, and the
// reductions mean/sum/amax. See docs/ops.md.
//
// Pool output size follows PyTorch and ONNX (they agree): with the effective kernel
// ek = dilation*(k-1)+1 and padded = in + pad_begin + pad_end,
//   floor mode: out = (padded - ek) / stride + 1
//   ceil mode:  out = ceil((padded - ek) / stride) + 1, minus one if that last window would start
//               at or past in + pad_begin (every window must start inside the input or left padding).
#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "edgequant/ops.h"
#include "op_families.h"
#include "spatial_attrs.h"

namespace eq {
namespace {

using ops_detail::list_str;
using ops_detail::spatial_attr;

// k spatial dims. Both pools accept `dilation` (docs/ops.md lists it for max pool only; ONNX opset 19
// AveragePool has dilations too). count_include_pad defaults to 1 as in ATen.
std::vector<OutputInfo> infer_pool(const InferContext& ctx, size_t k, bool is_max) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  ctx.require(x.shape.size() == k + 2 || x.shape.size() == k + 1,
              "input " + shape_str(x.shape) + " must have rank " + std::to_string(k + 2) + " (or " +
                  std::to_string(k + 1) + " without batch)");
  const size_t s0 = x.shape.size() - k;
  for (size_t d = s0; d < x.shape.size(); ++d)
    ctx.require(x.shape[d] >= 0, "input " + shape_str(x.shape) + ": spatial dims must be static");
  ctx.require(ctx.node.attrs.has("kernel_size"), "attribute 'kernel_size' is required");
  const std::vector<int64_t> kernel = spatial_attr(ctx, "kernel_size", k, {}, 1);
  std::vector<int64_t> stride = ctx.node.attrs.ints("stride", std::vector<int64_t>(k, 1));
  if (stride.empty()) stride = kernel;  // ATen: an empty stride means stride = kernel_size
  ctx.require(stride.size() == k, "attribute 'stride' " + list_str(stride) + " must have " + std::to_string(k) +
                                      " elements (one per spatial dim)");
  for (int64_t e : stride) ctx.require(e >= 1, "attribute 'stride' " + list_str(stride) + " must be >= 1");
  const std::vector<int64_t> dilation = spatial_attr(ctx, "dilation", k, std::vector<int64_t>(k, 1), 1);
  std::vector<int64_t> pad = ctx.node.attrs.ints("padding", std::vector<int64_t>(2 * k, 0));
  if (pad.size() == k) pad.insert(pad.end(), pad.begin(), pad.end());
  ctx.require(pad.size() == 2 * k, "attribute 'padding' " + list_str(pad) + " must have " + std::to_string(2 * k) +
                                       " elements (begins then ends)");
  const int64_t ceil_mode = ctx.node.attrs.i("ceil_mode", 0);
  ctx.require(ceil_mode == 0 || ceil_mode == 1, "attribute 'ceil_mode' must be 0 or 1");
  if (!is_max) {
    const int64_t cip = ctx.node.attrs.i("count_include_pad", 1);
    ctx.require(cip == 0 || cip == 1, "attribute 'count_include_pad' must be 0 or 1");
  }
  Shape out(x.shape.begin(), x.shape.begin() + static_cast<std::ptrdiff_t>(s0));
  for (size_t d = 0; d < k; ++d) {
    const int64_t in = x.shape[s0 + d];
    const int64_t ek = dilation[d] * (kernel[d] - 1) + 1;
    const int64_t pb = pad[d], pe = pad[k + d];
    ctx.require(pb >= 0 && pe >= 0, "attribute 'padding' " + list_str(pad) + " must be non-negative");
    ctx.require(pb < ek && pe < ek, "padding " + list_str(pad) + " must be smaller than the effective kernel size " +
                                        std::to_string(ek) + " in spatial dim " + std::to_string(d));
    const int64_t span = in + pb + pe - ek;
    ctx.require(span >= 0, "kernel (effective size " + std::to_string(ek) + ") does not fit the padded input " +
                               std::to_string(in + pb + pe) + " in spatial dim " + std::to_string(d) + " of input " +
                               shape_str(x.shape));
    int64_t o;
    if (ceil_mode) {
      o = (span + stride[d] - 1) / stride[d] + 1;
      if ((o - 1) * stride[d] >= in + pb) --o;
    } else {
      o = span / stride[d] + 1;
    }
    out.push_back(o);
  }
  return {{DType::f32, out}};
}

std::vector<OutputInfo> infer_adaptive_avg_pool2d(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  ctx.require(x.shape.size() == 4 || x.shape.size() == 3,
              "input " + shape_str(x.shape) + " must have rank 4 [N,C,H,W] (or 3 without batch)");
  const size_t s0 = x.shape.size() - 2;
  for (size_t d = s0; d < x.shape.size(); ++d)
    ctx.require(x.shape[d] >= 1, "input " + shape_str(x.shape) + ": spatial dims must be static and non-empty");
  ctx.require(ctx.node.attrs.has("output_size"), "attribute 'output_size' is required");
  const std::vector<int64_t> os = spatial_attr(ctx, "output_size", 2, {}, 1);
  Shape out(x.shape.begin(), x.shape.begin() + static_cast<std::ptrdiff_t>(s0));
  out.push_back(os[0]);
  out.push_back(os[1]);
  return {{DType::f32, out}};
}

std::vector<OutputInfo> infer_reduce(const InferContext& ctx) {
  const ValueInfo& x = ctx.in(0);
  ctx.require(x.dtype == DType::f32, "input must be f32");
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> dims;
  if (ctx.node.attrs.has("dim")) {
    const AttrValue& v = ctx.node.attrs.all().at("dim");
    if (const int64_t* one = std::get_if<int64_t>(&v)) dims = {*one};
    else dims = ctx.node.attrs.ints("dim");
  }
  const int64_t keepdim = ctx.node.attrs.i("keepdim", 0);
  ctx.require(keepdim == 0 || keepdim == 1, "attribute 'keepdim' must be 0 or 1");
  std::vector<char> reduced(static_cast<size_t>(rank), dims.empty() ? 1 : 0);
  for (int64_t d : dims) {
    ctx.require(d >= -rank && d < rank, "attribute 'dim' " + list_str(dims) + " is out of range for input " +
                                            shape_str(x.shape));
    const size_t a = static_cast<size_t>(d < 0 ? d + rank : d);
    ctx.require(!reduced[a], "attribute 'dim' " + list_str(dims) + " names dim " + std::to_string(a) + " twice");
    reduced[a] = 1;
  }
  Shape out;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (!reduced[d]) out.push_back(x.shape[d]);
    else if (keepdim) out.push_back(1);
  }
  return {{DType::f32, out}};
}

}  // namespace

void register_pooling_schemas() {
  register_op_schema({"aten.max_pool1d.default", 1, 1, 1, [](const InferContext& c) { return infer_pool(c, 1, true); }});
  register_op_schema({"aten.max_pool2d.default", 1, 1, 1, [](const InferContext& c) { return infer_pool(c, 2, true); }});
  register_op_schema({"aten.avg_pool1d.default", 1, 1, 1, [](const InferContext& c) { return infer_pool(c, 1, false); }});
  register_op_schema({"aten.avg_pool2d.default", 1, 1, 1, [](const InferContext& c) { return infer_pool(c, 2, false); }});
  register_op_schema({"aten.adaptive_avg_pool2d.default", 1, 1, 1, infer_adaptive_avg_pool2d});
  register_op_schema({"aten.mean.dim", 1, 1, 1, infer_reduce});
  register_op_schema({"aten.sum.dim_IntList", 1, 1, 1, infer_reduce});
  register_op_schema({"aten.amax.default", 1, 1, 1, infer_reduce});
}

}  // namespace eq
