// softmax on the channel dim.
// Source: ExecuTorch ops_converters/softmax_converter.py: softmax only over the channel dim (dim 1
// for channels-first input, the last dim otherwise), rank >= 2, channels % num_macs == 0,
// channels < 4096 / num_pipes * 4 (only when num_pipes is known), N*H*W <= 4096,
// channels * N*H*W / num_macs <= 65536.
#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_softmax(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const int x = nd.inputs[0];
  const int rank = ctx.rank(x);
  if (rank < 2) return "rank " + std::to_string(rank) + ": Neutron has no 1-D softmax";
  int64_t dim = nd.attrs.i("dim", -1);
  if (dim < 0) dim += rank;
  const int cdim = ctx.channels_dim(x);
  if (dim != cdim)
    return "softmax over dim " + str(dim) + "; Neutron only takes the channel dim (" + str(cdim) +
           (ctx.channels_first(x) ? ", channels-first input)" : ", the last dim)");
  const Shape s = Context::concrete(ctx.shape(x));
  const int64_t c = s[static_cast<size_t>(cdim)];
  int64_t spatial = 1;
  for (size_t d = 0; d < s.size(); ++d)
    if (static_cast<int>(d) != cdim) spatial *= s[d];
  const NeutronTargetSpec& t = ctx.spec;
  if (c % t.num_macs != 0) return "channels " + str(c) + " not a multiple of num_macs " + std::to_string(t.num_macs);
  if (t.num_pipes > 0 && c * t.num_pipes >= 4096 * 4)
    return "channels " + str(c) + " >= 4096 / num_pipes * 4 = " + str(4096 * 4 / t.num_pipes);
  if (spatial > t.max_softmax_spatial)
    return "spatial size (product of the non-channel dims) " + str(spatial) + " exceeds " + str(t.max_softmax_spatial);
  if (c * spatial / t.num_macs > t.max_softmax_work)
    return "channels * spatial / num_macs = " + str(c * spatial / t.num_macs) + " exceeds " + str(t.max_softmax_work);
  return "";
}

}  // namespace

void add_softmax_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.softmax.int"};
  r.check = check_softmax;
  rules.push_back(r);
}

}  // namespace eq::neutron
