// conv1d / conv2d, regular and depthwise.
// Source: ExecuTorch backends/nxp/backend/ir/converter/node_converters/ops_converters/
// convolution_converter.py (_is_conv_quant_supported, _is_supported_on_target_regular_conv) and
// shared/conv_utils.py (group_conv_convertible_as_depthwise); conv1d is lowered to conv2d with
// H = 1 (aten_passes/convert_1d_conv_to_2d.py).
#include "rules.h"

namespace eq::neutron {
namespace {

int64_t round_up(int64_t x, int64_t n) { return (x + n - 1) / n * n; }

std::string check_conv(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const size_t k = nd.op == "aten.conv1d.default" ? 1 : 2;
  if (nd.inputs.size() < 2) return "convolution without weights";
  if (!ctx.input_is_static(n, 1))
    return "weights (input 1) must be a dequantized constant; Neutron has no dynamic convolution weights";
  if (nd.inputs.size() > 2 && nd.inputs[2] >= 0 && !ctx.input_is_static(n, 2))
    return "bias (input 2) must be a dequantized constant";
  const Shape& xs = ctx.shape(nd.inputs[0]);
  const Shape& ws = ctx.shape(nd.inputs[1]);
  if (xs.size() < k + 1 || ws.size() != k + 2) return "unexpected input " + list_str(xs) + " / weight " + list_str(ws) + " ranks";
  const int64_t in_c = Context::dim(xs[xs.size() - k - 1]);
  const int64_t out_c = ws[0];
  const int64_t groups = nd.attrs.i("groups", 1);
  if (groups != 1 && !(in_c == out_c && out_c == groups)) {
    std::string why = "grouped convolution with groups=" + str(groups) + ", in_channels=" + str(in_c) +
                      ", out_channels=" + str(out_c) + " is neither regular (groups=1) nor depthwise (in == out == groups)";
    if (in_c == groups && out_c % groups == 0) why += ": depthwise multiplier " + str(out_c / groups) + " is not supported";
    return why;
  }
  // As conv2d: conv1d gets H = 1 (kernel 1, stride 1, dilation 1).
  std::vector<int64_t> kernel(ws.begin() + 2, ws.end());
  std::vector<int64_t> stride = ints_attr(nd, "stride", std::vector<int64_t>(k, 1));
  std::vector<int64_t> dilation = ints_attr(nd, "dilation", std::vector<int64_t>(k, 1));
  if (k == 1) {
    kernel.insert(kernel.begin(), 1);
    stride.insert(stride.begin(), 1);
    dilation.insert(dilation.begin(), 1);
  }
  const NeutronTargetSpec& t = ctx.spec;
  if (std::string r = check_max("kernel size", kernel, t.max_kernel); !r.empty()) return r;
  if (std::string r = check_max("stride", stride, t.max_stride); !r.empty()) return r;
  if (std::string r = check_max("dilation", dilation, t.max_dilation); !r.empty()) return r;
  const int64_t volume = kernel[0] * kernel[1] * round_up(in_c, t.num_macs);
  if (volume > t.max_conv_kernel_volume)
    return "kernel volume kH*kW*roundup(in_channels, " + std::to_string(t.num_macs) + ") = " + str(kernel[0]) + "*" +
           str(kernel[1]) + "*" + str(round_up(in_c, t.num_macs)) + " = " + str(volume) + " exceeds " +
           std::to_string(t.max_conv_kernel_volume);
  return "";
}

}  // namespace

void add_conv_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.conv1d.default", "aten.conv2d.default"};
  r.check = check_conv;
  r.weight_slot = 1;
  r.bias_slot = 2;
  rules.push_back(r);
}

}  // namespace eq::neutron
