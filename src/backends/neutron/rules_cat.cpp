// cat.
// Source: ExecuTorch ops_converters/cat_converter.py: all inputs and the output share one set of
// qparams (_all_io_shares_quantization_parameters); at least 2 inputs; the channels of every input
// and of the output are multiples of num_macs (neutron-library NeutronLibraryInterrogation.cpp
// #1492-1493) unless all inputs have the same shape and the concatenation is along the last
// (channels-last) dim; partition level (supports_partitioning_result): when an input comes from
// outside the partition, some dim before the concatenated one must be != 1 (Neutron converter
// bug).
#include <algorithm>

#include "rules.h"

namespace eq::neutron {
namespace {

int normalized_dim(const Context& ctx, int n) {
  const int rank = ctx.rank(ctx.node(n).outputs[0]);
  int64_t dim = ctx.node(n).attrs.i("dim", 0);
  if (dim < 0) dim += rank;
  return static_cast<int>(dim);
}

std::string check_cat(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  if (nd.inputs.size() < 2) return "concatenation of " + std::to_string(nd.inputs.size()) + " input (needs at least 2)";
  const auto out_q = ctx.output_q(n);
  if (!out_q) return "output is not quantized";
  for (size_t i = 0; i < nd.inputs.size(); ++i) {
    const auto in = ctx.input_dq(n, static_cast<int>(i));
    if (!in || !in->same_qparams(*out_q))
      return "inputs and output must share one set of qparams: input " + std::to_string(i) + " has " +
             (in ? in->str() : std::string("none")) + ", output " + out_q->str();
  }
  const int out = nd.outputs[0];
  const int rank = ctx.rank(out);
  int dim = normalized_dim(ctx, n);
  const bool cf = ctx.channels_first(out);
  if (cf && rank >= 3) {
    const std::vector<int64_t> to_nhwc = to_channels_last_perm(rank);
    dim = static_cast<int>(std::find(to_nhwc.begin(), to_nhwc.end(), dim) - to_nhwc.begin());
  }
  bool same_shapes = true;
  for (int v : nd.inputs) same_shapes &= Context::concrete(ctx.shape(v)) == Context::concrete(ctx.shape(nd.inputs[0]));
  const bool padded_last = same_shapes && dim == rank - 1;  // Neutron pads the last dim itself
  const int64_t macs = ctx.spec.num_macs;
  for (size_t i = 0; i < nd.inputs.size() && !padded_last; ++i) {
    const int64_t c = ctx.channels(nd.inputs[i]);
    if (c % macs != 0)
      return "input " + std::to_string(i) + " has " + str(c) + " channels, not a multiple of num_macs " + std::to_string(macs);
  }
  if (!padded_last && ctx.channels(out) % macs != 0)
    return "output has " + str(ctx.channels(out)) + " channels, not a multiple of num_macs " + std::to_string(macs);
  return "";
}

std::string check_cat_partition(const Context& ctx, int n, const PartitionView& pv) {
  const Node& nd = ctx.node(n);
  bool outside = false;
  for (int v : nd.inputs) {
    const int up = ctx.upstream_compute(v);
    outside |= up < 0 || !pv.same_partition(up, n);
  }
  if (!outside) return "";
  const int rank = ctx.rank(nd.outputs[0]);
  int dim = normalized_dim(ctx, n);
  std::vector<int64_t> perm;
  if (ctx.channels_first(nd.outputs[0]) && rank >= 3) {
    perm = to_channels_last_perm(rank);
    dim = static_cast<int>(std::find(perm.begin(), perm.end(), dim) - perm.begin());
  }
  for (int v : nd.inputs) {
    Shape s = Context::concrete(ctx.shape(v));
    if (!perm.empty()) s = apply_perm(s, perm);
    bool any = false;
    for (int d = 0; d < dim; ++d) any |= s[static_cast<size_t>(d)] != 1;
    if (!any)
      return "an input comes from outside the partition and input shape " + list_str(s) +
             " has only 1s before the concatenated dim " + std::to_string(dim) + " (Neutron converter limitation)";
  }
  return "";
}

}  // namespace

void add_cat_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.cat.default"};
  r.check = check_cat;
  r.partition_check = check_cat_partition;
  rules.push_back(r);
}

}  // namespace eq::neutron
