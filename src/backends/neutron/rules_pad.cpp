// pad (constant and reflect modes).
// Sources: ExecuTorch ops_converters/constant_pad_nd_converter.py (constant mode: the channel dim
// must not be padded, shared qparams) and pad_converter.py (aten.pad: only "reflect" beside
// "constant", which ExecuTorch decomposes to constant_pad_nd; "replicate"/"circular" are not
// converted).
#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_pad(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const std::string mode = nd.attrs.s("mode", "constant");
  if (mode != "constant" && mode != "reflect")
    return "mode '" + mode + "' is not supported (constant or reflect)";
  if (mode == "reflect") return "";
  const int x = nd.inputs[0];
  const int rank = ctx.rank(x);
  const std::vector<int64_t> pad = ints_attr(nd, "pad", {});
  if (pad.size() != static_cast<size_t>(2 * rank)) return "pad " + list_str(pad) + " must have 2*rank entries";
  const int c = ctx.channels_dim(x);
  if (rank >= 2 && (pad[static_cast<size_t>(c)] != 0 || pad[static_cast<size_t>(c + rank)] != 0))
    return "pads the channel dim " + std::to_string(c) + " (pad " + list_str(pad) + "); Neutron cannot pad channels";
  return check_shared_qparams(ctx, n);
}

}  // namespace

void add_pad_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.pad.default"};
  r.check = check_pad;
  rules.push_back(r);
}

}  // namespace eq::neutron
