// reshape / view / flatten (ExecuTorch view_copy) and permute.
// Sources (ExecuTorch):
//   ops_converters/view_copy_converter.py: output rank < 8, element count kept; partition level:
//     not the only compute op of its partition; a reshape that changes the layout (channels-first
//     in, channels-last out or the reverse) needs the implied Transpose to run on Neutron
//     (neutron_operator_support.py transposition_is_supported_on_neutron), or, for a
//     channels-first -> 2-D flatten, a following linear in the same partition whose weights get
//     permuted instead (PermuteFullyConnectedWeightsAfterReshape: batch kept, output [N, in_features]).
//   ops_converters/permute_copy_converter.py: a permutation that only moves size-1 dims is a
//     reshape; otherwise the permutation, merged with the layout conversions its input/output need,
//     must be a Transpose Neutron runs.
#include <algorithm>

#include "rules.h"

namespace eq::neutron {
namespace {

std::string check_view(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const Shape& in = ctx.shape(nd.inputs[0]);
  const Shape& out = ctx.shape(nd.outputs[0]);
  if (out.size() >= 8) return "output rank " + std::to_string(out.size()) + " must be < 8";
  int64_t a = 1, b = 1;
  for (int64_t d : Context::concrete(in)) a *= d;
  for (int64_t d : Context::concrete(out)) b *= d;
  if (a != b) return "element count changes from " + str(a) + " to " + str(b);
  return "";
}

bool is_linear(const std::string& op) {
  return op == "aten.linear.default" || op == "aten.addmm.default" || op == "aten.mm.default";
}

std::string check_view_partition(const Context& ctx, int n, const PartitionView& pv) {
  if (pv.alone(n)) return "a reshape cannot be the only compute op of its partition (Neutron would get an empty graph)";
  const Node& nd = ctx.node(n);
  const int x = nd.inputs[0], y = nd.outputs[0];
  const bool in_cf = ctx.channels_first(x), out_cf = ctx.channels_first(y);
  const Shape in = Context::concrete(ctx.shape(x)), out = Context::concrete(ctx.shape(y));
  const int64_t macs = ctx.spec.num_macs;
  if (in_cf && !out_cf) {
    const int r = static_cast<int>(in.size());
    const std::string t = transposition_support(apply_perm(in, to_channels_last_perm(r)), to_channels_first_perm(r), macs);
    if (t.empty()) return "";
    // The Transpose can be folded into the weights of a following linear in this partition.
    const std::vector<int> users = ctx.downstream_compute(n);
    if (users.size() != 1 || !is_linear(ctx.node(users[0]).op))
      return "channels-first to channels-last reshape needs a Transpose Neutron cannot run (" + t +
             ") and no single linear follows to absorb it";
    const int lin = users[0];
    if (!pv.same_partition(n, lin))
      return "channels-first to channels-last reshape needs a Transpose Neutron cannot run (" + t +
             ") and the following linear is not in the same partition";
    const Node& ln = ctx.node(lin);
    const int w = ln.op == "aten.addmm.default" ? ln.inputs.at(2) : ln.inputs.at(1);
    const Shape& ws = ctx.shape(w);
    const int64_t in_features = ln.op == "aten.linear.default" ? ws.back() : ws.front();
    if (!(out.size() == 2 && in[0] == out[0] && out[1] == in_features))
      return "channels-first to channels-last reshape needs a Transpose Neutron cannot run (" + t +
             ") and its output " + list_str(out) + " is not [batch, in_features] of the following linear";
    return "";
  }
  if (!in_cf && out_cf) {
    const int r = static_cast<int>(out.size());
    const std::string t = transposition_support(out, to_channels_last_perm(r), macs);
    if (!t.empty()) return "channels-last to channels-first reshape needs a Transpose Neutron cannot run: " + t;
    return "";
  }
  if (in_cf && out_cf) {
    const int ri = static_cast<int>(in.size()), ro = static_cast<int>(out.size());
    std::string t = transposition_support(apply_perm(in, to_channels_last_perm(ri)), to_channels_first_perm(ri), macs);
    if (t.empty()) t = transposition_support(out, to_channels_last_perm(ro), macs);
    if (!t.empty()) return "a reshape of channels-first data needs Transposes Neutron cannot run: " + t;
  }
  return "";
}

std::string check_permute(const Context& ctx, int n) {
  const Node& nd = ctx.node(n);
  const int x = nd.inputs[0], y = nd.outputs[0];
  const Shape in = Context::concrete(ctx.shape(x)), out = Context::concrete(ctx.shape(y));
  const int r = static_cast<int>(in.size());
  std::vector<int64_t> perm = ints_attr(nd, "dims", {});
  if (perm.size() != in.size()) return "dims " + list_str(perm) + " do not match rank " + std::to_string(r);
  for (int64_t& p : perm) p = p < 0 ? p + r : p;
  const std::vector<int64_t> to_cf = to_channels_first_perm(r), to_cl = to_channels_last_perm(r);
  const Shape cl_in = apply_perm(in, to_cl);
  const int64_t macs = ctx.spec.num_macs;
  auto ok = [&](const Shape& s, const std::vector<int64_t>& p) { return transposition_support(s, p, macs).empty(); };
  const bool main = ok(in, perm);
  const bool sep_pre = ok(cl_in, to_cf);
  const bool merged_pre = ok(cl_in, combine_perms(to_cf, perm));
  const bool sep_post = ok(out, to_cl);
  const bool merged_post = ok(in, combine_perms(perm, to_cl));
  const bool all_merged = ok(cl_in, combine_perms(combine_perms(to_cf, perm), to_cl));
  const bool in_cf = ctx.channels_first(x), out_cf = ctx.channels_first(y);
  bool supported;
  if (in_cf && !out_cf) supported = (sep_pre && main) || merged_pre;
  else if (!in_cf && out_cf) supported = (sep_post && main) || merged_post;
  else if (in_cf && out_cf) supported = all_merged || (merged_pre && sep_post) || (sep_pre && merged_post) || (sep_pre && main && sep_post);
  else supported = main;
  if (supported) return "";
  const std::string layout = std::string(in_cf ? "channels-first" : "channels-last") + " input, " +
                             (out_cf ? "channels-first" : "channels-last") + " output";
  return "no Transpose Neutron runs implements permute " + list_str(perm) + " of " + list_str(in) + " (" + layout +
         "): " + transposition_support(in, perm, macs);
}

}  // namespace

void add_reshape_rules(std::vector<OpRule>& rules) {
  OpRule view;
  // squeeze / unsqueeze are view_copy too (edge_passes/convert_reshaping_nodes_to_view.py); the
  // NeutronQuantizer's conv1d → conv2d rewrite produces them.
  view.ops = {"aten.reshape.default", "aten.view.default", "aten.flatten.using_ints", "aten.squeeze.dims",
              "aten.unsqueeze.default"};
  view.check = check_view;
  view.partition_check = check_view_partition;
  view.no_op = true;
  rules.push_back(view);
  OpRule permute;
  permute.ops = {"aten.permute.default"};
  permute.check = check_permute;
  rules.push_back(permute);
}

}  // namespace eq::neutron
