// linear / addmm / mm (Neutron FullyConnected).
// Source: ExecuTorch ops_converters/addmm_converter.py and mm_converter.py (weights 2-D, int8,
// static; int8 input and output). aten.linear is decomposed by ExecuTorch into (view →) addmm/mm
// (→ view); the views are no-ops, so linear takes the same rule.
#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_weights(const Context& ctx, int n, int w_slot, int b_slot) {
  const Node& nd = ctx.node(n);
  if (static_cast<size_t>(w_slot) >= nd.inputs.size() || nd.inputs[static_cast<size_t>(w_slot)] < 0) return "no weights";
  if (!ctx.input_is_static(n, w_slot))
    return "weights (input " + std::to_string(w_slot) + ") must be a dequantized constant; Neutron FullyConnected has no dynamic weights";
  if (ctx.rank(nd.inputs[static_cast<size_t>(w_slot)]) != 2)
    return "weights must be 2-D, got " + list_str(ctx.shape(nd.inputs[static_cast<size_t>(w_slot)]));
  if (b_slot >= 0 && static_cast<size_t>(b_slot) < nd.inputs.size() && nd.inputs[static_cast<size_t>(b_slot)] >= 0 &&
      !ctx.input_is_static(n, b_slot))
    return "bias (input " + std::to_string(b_slot) + ") must be a dequantized constant";
  return "";
}

std::string check_linear(const Context& ctx, int n) {
  if (std::string r = check_weights(ctx, n, 1, 2); !r.empty()) return r;
  if (ctx.rank(ctx.node(n).inputs[0]) < 2)
    return "input rank " + std::to_string(ctx.rank(ctx.node(n).inputs[0])) + " < 2 (FullyConnected takes [batch, features])";
  return "";
}

std::string check_addmm(const Context& ctx, int n) {
  if (ctx.node(n).inputs.size() != 3) return "addmm needs bias, input and weights";
  return check_weights(ctx, n, 2, 0);
}

std::string check_mm(const Context& ctx, int n) {
  if (ctx.node(n).inputs.size() != 2) return "mm needs input and weights";
  return check_weights(ctx, n, 1, -1);
}

}  // namespace

void add_linear_rules(std::vector<OpRule>& rules) {
  OpRule linear;
  linear.ops = {"aten.linear.default"};
  linear.check = check_linear;
  linear.weight_slot = 1;
  linear.bias_slot = 2;
  rules.push_back(linear);
  OpRule addmm;
  addmm.ops = {"aten.addmm.default"};
  addmm.check = check_addmm;
  addmm.weight_slot = 2;
  addmm.bias_slot = 0;
  rules.push_back(addmm);
  OpRule mm;
  mm.ops = {"aten.mm.default"};
  mm.check = check_mm;
  mm.weight_slot = 1;
  rules.push_back(mm);
}

}  // namespace eq::neutron
