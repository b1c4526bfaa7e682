// relu, hardtanh, sigmoid, tanh, abs.
// Sources (ExecuTorch ops_converters/): relu_converter.py and hardtanh_converter.py (hardtanh only
// with the bounds of Relu (0, inf), Relu6 (0, 6), ReluN1To1 (-1, 1), Relu0To1 (0, 1); partition
// level: a Relu/Relu6 alone in its partition needs channels % num_macs == 0,
// neutron_operator_support.py activation_supported_on_target), sigmoid_converter.py,
// tanh_converter.py, abs_converter.py (no extra target check in the default Neutron-C flow).
// After a conv/linear they are fused into it (neutron_target_spec.py
// is_supported_fused_activation__aten): the partitioner puts them in that node's cluster.
#include <cmath>
#include <cstdio>
#include <limits>

#include "rules.h"

namespace eq::neutron {
namespace {

std::string ok(const Context&, int) { return ""; }

bool relu_like_bounds(double lo, double hi) { return lo == 0.0 && (hi == 6.0 || std::isinf(hi)); }

std::string check_hardtanh(const Context& ctx, int n) {
  const double lo = ctx.node(n).attrs.f("min_val", -1.0), hi = ctx.node(n).attrs.f("max_val", 1.0);
  const bool supported = (lo == 0.0 && (hi == 6.0 || hi == 1.0 || (std::isinf(hi) && hi > 0))) || (lo == -1.0 && hi == 1.0);
  if (!supported) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "bounds (%g, %g) are none of Relu (0, inf), Relu6 (0, 6), ReluN1To1 (-1, 1), Relu0To1 (0, 1)",
                  lo, hi);
    return buf;
  }
  return "";
}

std::string alone_channels(const Context& ctx, int n) {
  const int64_t c = ctx.channels(ctx.node(n).inputs[0]);
  if (c % ctx.spec.num_macs != 0)
    return "alone in its partition, a Relu needs channels (" + str(c) + ") to be a multiple of num_macs " +
           std::to_string(ctx.spec.num_macs);
  return "";
}

std::string check_relu_partition(const Context& ctx, int n, const PartitionView& pv) {
  return pv.alone(n) ? alone_channels(ctx, n) : "";
}

std::string check_hardtanh_partition(const Context& ctx, int n, const PartitionView& pv) {
  const double lo = ctx.node(n).attrs.f("min_val", -1.0), hi = ctx.node(n).attrs.f("max_val", 1.0);
  return pv.alone(n) && relu_like_bounds(lo, hi) ? alone_channels(ctx, n) : "";
}

}  // namespace

void add_activation_rules(std::vector<OpRule>& rules) {
  OpRule relu;
  relu.ops = {"aten.relu.default"};
  relu.check = ok;
  relu.partition_check = check_relu_partition;
  rules.push_back(relu);
  OpRule hardtanh;
  hardtanh.ops = {"aten.hardtanh.default"};
  hardtanh.check = check_hardtanh;
  hardtanh.partition_check = check_hardtanh_partition;
  rules.push_back(hardtanh);
  OpRule plain;
  plain.ops = {"aten.sigmoid.default", "aten.tanh.default", "aten.abs.default"};
  plain.check = ok;
  rules.push_back(plain);
}

}  // namespace eq::neutron
