// mean.dim over the spatial dims.
// Source: ExecuTorch ops_converters/mean_dim_converter.py (default Neutron-C flow: rank 4,
// keepdim, channels % num_macs == 0 since Neutron runs it as an AveragePool, reduction over H and
// W only: dims {2, 3} for channels-first input, {1, 2} otherwise; shared qparams).
#include <algorithm>

#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_mean(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const int x = nd.inputs[0];
  const int rank = ctx.rank(x);
  if (rank != 4) return "input rank " + std::to_string(rank) + " must be 4";
  if (nd.attrs.i("keepdim", 0) == 0) return "keepdim=False is not supported (keepdim must be True)";
  std::vector<int64_t> dims = ints_attr(nd, "dim", {});
  if (dims.empty()) dims = {0, 1, 2, 3};
  for (int64_t& d : dims) d = d < 0 ? d + rank : d;
  std::sort(dims.begin(), dims.end());
  const bool cf = ctx.channels_first(x);
  const std::vector<int64_t> spatial = cf ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{1, 2};
  if (dims != spatial)
    return "reduces dims " + list_str(dims) + "; Neutron reduces only H and W (" + list_str(spatial) +
           (cf ? " for channels-first input)" : " for channels-last input)");
  const int64_t c = ctx.channels(nd.outputs[0]);
  if (c % ctx.spec.num_macs != 0)
    return "channels " + str(c) + " not a multiple of num_macs " + std::to_string(ctx.spec.num_macs);
  return check_shared_qparams(ctx, n);
}

}  // namespace

void add_mean_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.mean.dim"};
  r.check = check_mean;
  rules.push_back(r);
}

}  // namespace eq::neutron
