// max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d.
// Sources (ExecuTorch ops_converters/):
//   max_pool2d_with_indices_converter.py (default Neutron-C flow): no dilation, no ceil_mode,
//     shared qparams, batch 1, stride_h in {1, 2}, channels % num_macs == 0, padding <= kernel;
//     max_pool1d is lowered to max_pool2d with H = 1 (tests/.../test_max_pool_2d_converter.py).
//   avg_pool_2d_converter.py: no ceil_mode, no divisor_override, no count_include_pad=False with
//     padding, shared qparams, kernel and stride <= 4096.
//   adaptive_avg_pool_2d_converter.py: input H, W divisible by the output size (becomes an
//     AveragePool2D with stride in/out), shared qparams, kernel and stride <= 4096.
#include "rules.h"

namespace eq::neutron {
namespace {

size_t spatial_dims(const std::string& op) { return op.find("1d") != std::string::npos ? 1 : 2; }

// kernel, stride, padding (begins then ends) as 2-D lists (H = 1 for 1-D pools).
struct PoolGeometry {
  std::vector<int64_t> kernel, stride, dilation, padding;
};

PoolGeometry geometry(const Node& nd) {
  const size_t k = spatial_dims(nd.op);
  PoolGeometry p;
  p.kernel = ints_attr(nd, "kernel_size", std::vector<int64_t>(k, 1));
  p.stride = ints_attr(nd, "stride", p.kernel);
  if (p.stride.empty()) p.stride = p.kernel;
  p.dilation = ints_attr(nd, "dilation", std::vector<int64_t>(k, 1));
  p.padding = ints_attr(nd, "padding", std::vector<int64_t>(2 * k, 0));
  if (p.padding.size() == k) p.padding.insert(p.padding.end(), p.padding.begin(), p.padding.end());
  if (k == 1) {
    p.kernel.insert(p.kernel.begin(), 1);
    p.stride.insert(p.stride.begin(), 1);
    p.dilation.insert(p.dilation.begin(), 1);
    p.padding = {0, p.padding[0], 0, p.padding.size() > 1 ? p.padding[1] : 0};
  }
  return p;
}

std::string check_max_pool(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const PoolGeometry p = geometry(nd);
  for (int64_t d : p.dilation)
    if (d != 1) return "dilation " + list_str(p.dilation) + ": Neutron MaxPool2D has no dilation";
  if (nd.attrs.i("ceil_mode", 0) != 0) return "ceil_mode=True is not supported";
  if (std::string r = check_shared_qparams(ctx, n); !r.empty()) return r;
  const Shape& out = ctx.shape(nd.outputs[0]);
  const size_t k = spatial_dims(nd.op);
  if (out.size() == k + 2 && out[0] != kBatch && out[0] != 1) return "batch " + str(out[0]) + " must be 1";
  if (p.stride[0] != 1 && p.stride[0] != 2) return "stride_h " + str(p.stride[0]) + " must be 1 or 2";
  const int64_t channels = Context::dim(out[out.size() - k - 1]);
  if (channels % ctx.spec.num_macs != 0)
    return "channels " + str(channels) + " not a multiple of num_macs " + std::to_string(ctx.spec.num_macs);
  for (size_t d = 0; d < 2; ++d)
    if (p.padding[d] > p.kernel[d] || p.padding[d + 2] > p.kernel[d])
      return "padding " + list_str(p.padding) + " exceeds the kernel " + list_str(p.kernel);
  return "";
}

std::string check_avg_pool(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const PoolGeometry p = geometry(nd);
  if (nd.attrs.i("ceil_mode", 0) != 0) return "ceil_mode=True is not supported";
  if (nd.attrs.has("divisor_override")) return "divisor_override is not supported";
  bool padded = false;
  for (int64_t v : p.padding) padded |= v != 0;
  if (padded && nd.attrs.i("count_include_pad", 1) == 0)
    return "count_include_pad=False with padding " + list_str(p.padding) +
           " is not supported (Neutron pads explicitly and averages the padded values)";
  if (std::string r = check_shared_qparams(ctx, n); !r.empty()) return r;
  if (std::string r = check_max("kernel size", p.kernel, ctx.spec.max_kernel); !r.empty()) return r;
  if (std::string r = check_max("stride", p.stride, ctx.spec.max_stride); !r.empty()) return r;
  return "";
}

std::string check_adaptive_avg_pool(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const Shape& in = ctx.shape(nd.inputs[0]);
  if (in.size() < 3) return "input " + list_str(in) + " must be (N)CHW";
  const std::vector<int64_t> out = ints_attr(nd, "output_size", {1, 1});
  if (out.size() != 2 || out[0] <= 0 || out[1] <= 0) return "output_size " + list_str(out) + " must be 2 positive sizes";
  const int64_t h = in[in.size() - 2], w = in[in.size() - 1];
  if (h % out[0] != 0 || w % out[1] != 0)
    return "input size " + list_str({h, w}) + " is not divisible by output_size " + list_str(out) +
           " (Neutron runs it as an AveragePool2D with stride input/output)";
  if (std::string r = check_shared_qparams(ctx, n); !r.empty()) return r;
  const std::vector<int64_t> stride = {h / out[0], w / out[1]};
  const std::vector<int64_t> kernel = {h - (out[0] - 1) * stride[0], w - (out[1] - 1) * stride[1]};
  if (std::string r = check_max("equivalent kernel size", kernel, ctx.spec.max_kernel); !r.empty()) return r;
  if (std::string r = check_max("equivalent stride", stride, ctx.spec.max_stride); !r.empty()) return r;
  return "";
}

}  // namespace

void add_pool_rules(std::vector<OpRule>& rules) {
  OpRule max_pool;
  max_pool.ops = {"aten.max_pool1d.default", "aten.max_pool2d.default"};
  max_pool.check = check_max_pool;
  rules.push_back(max_pool);
  OpRule avg_pool;
  avg_pool.ops = {"aten.avg_pool1d.default", "aten.avg_pool2d.default"};
  avg_pool.check = check_avg_pool;
  rules.push_back(avg_pool);
  OpRule adaptive;
  adaptive.ops = {"aten.adaptive_avg_pool2d.default"};
  adaptive.check = check_adaptive_avg_pool;
  rules.push_back(adaptive);
}

}  // namespace eq::neutron
