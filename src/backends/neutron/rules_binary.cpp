// add / sub / mul between two tensors.
// Source: ExecuTorch ops_converters/add_tensor_converter.py, sub_tensor_converter.py (at least one
// input shape equals the output shape; no channels-first input with inputs of different ranks,
// which would need a Transpose) and mul_tensor_converter.py (default Neutron-C flow: no shape
// broadcasting; some output dim divisible by num_macs, or all dims 1; ExecuTorch writes 8, the
// imxrt700 num_macs).
#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_add_sub(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  if (nd.inputs.size() != 2) return "needs exactly two tensor inputs";
  const Shape out = Context::concrete(ctx.shape(nd.outputs[0]));
  const Shape a = Context::concrete(ctx.shape(nd.inputs[0]));
  const Shape b = Context::concrete(ctx.shape(nd.inputs[1]));
  if (a != out && b != out)
    return "broadcasting on both inputs: neither input " + list_str(a) + " nor " + list_str(b) + " has the output shape " +
           list_str(out);
  const bool cf = ctx.channels_first(nd.inputs[0]) || ctx.channels_first(nd.inputs[1]);
  if (cf && a.size() != b.size())
    return "broadcasting a channels-first input across ranks " + std::to_string(a.size()) + " and " +
           std::to_string(b.size()) + " needs a Transpose";
  return "";
}

std::string check_mul(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  if (nd.inputs.size() != 2) return "needs exactly two tensor inputs";
  const Shape out = Context::concrete(ctx.shape(nd.outputs[0]));
  const Shape a = Context::concrete(ctx.shape(nd.inputs[0]));
  const Shape b = Context::concrete(ctx.shape(nd.inputs[1]));
  if (a != out || b != out)
    return "shape broadcasting (inputs " + list_str(a) + " and " + list_str(b) + ", output " + list_str(out) +
           ") is not supported for mul";
  bool divisible = false, all_one = true;
  for (int64_t d : out) {
    divisible |= d % ctx.spec.num_macs == 0;
    all_one &= d == 1;
  }
  if (!divisible && !all_one)
    return "no output dim of " + list_str(out) + " is a multiple of num_macs " + std::to_string(ctx.spec.num_macs);
  return "";
}

}  // namespace

void add_binary_rules(std::vector<OpRule>& rules) {
  OpRule add_sub;
  add_sub.ops = {"aten.add.Tensor", "aten.sub.Tensor"};
  add_sub.check = check_add_sub;
  rules.push_back(add_sub);
  OpRule mul;
  mul.ops = {"aten.mul.Tensor"};
  mul.check = check_mul;
  rules.push_back(mul);
}

}  // namespace eq::neutron
