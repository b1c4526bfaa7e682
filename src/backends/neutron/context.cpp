// The QDQ graph view the Neutron rules read (qparams of Q/DQ nodes, tensor layouts), shared
// helpers, the rule table, and PartitionResult's small methods.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "edgequant/partition.h"
#include "rules.h"

namespace eq {

bool is_quantize_node(const Node& n) { return n.op.rfind("quantized_decomposed.quantize_per_", 0) == 0; }
bool is_dequantize_node(const Node& n) { return n.op.rfind("quantized_decomposed.dequantize_per_", 0) == 0; }

int64_t PartitionResult::delegated_nodes() const {
  int64_t n = 0;
  for (const NodeDecision& d : decisions) n += d.delegated ? 1 : 0;
  return n;
}

double PartitionResult::delegated_share() const {
  return decisions.empty() ? 0.0 : static_cast<double>(delegated_nodes()) / static_cast<double>(decisions.size());
}

const NodeDecision* PartitionResult::decision_for(int node) const {
  auto it = std::lower_bound(decisions.begin(), decisions.end(), node,
                             [](const NodeDecision& d, int n) { return d.node < n; });
  return it != decisions.end() && it->node == node ? &*it : nullptr;
}

}  // namespace eq

namespace eq::neutron {
namespace {

bool is_layout_source(const std::string& op) {
  static const std::set<std::string> ops = {
      "aten.conv1d.default",         "aten.conv2d.default",         "aten.conv_transpose1d.default",
      "aten.conv_transpose2d.input", "aten.max_pool1d.default",     "aten.max_pool2d.default",
      "aten.avg_pool1d.default",     "aten.avg_pool2d.default",     "aten.adaptive_avg_pool2d.default",
      "aten.upsample.default"};
  return ops.count(op) != 0;
}

// Ops through which the layout of one activation carries to the others (same rank).
bool is_layout_agnostic(const Node& n) {
  static const std::set<std::string> ops = {
      "aten.add.Tensor",       "aten.sub.Tensor",        "aten.mul.Tensor",         "aten.div.Tensor",
      "aten.relu.default",     "aten.hardtanh.default",  "aten.sigmoid.default",    "aten.tanh.default",
      "aten.abs.default",      "aten.clone.default",     "aten.dropout.default",    "aten.cat.default",
      "aten.pad.default",      "aten.slice_copy.Tensor", "aten.mean.dim",           "aten.softmax.int",
      "aten.leaky_relu.default", "aten.hardswish.default", "aten.hardsigmoid.default", "aten.gelu.default"};
  return is_quantize_node(n) || is_dequantize_node(n) || ops.count(n.op) != 0;
}

}  // namespace

std::string QdqParams::str() const {
  std::string s = std::string(dtype_name(dtype));
  if (per_channel) return s + " per channel (axis " + std::to_string(axis) + ")";
  char buf[96];
  std::snprintf(buf, sizeof buf, " scale %.6g zp %lld", scale.empty() ? 0.0 : scale[0],
                static_cast<long long>(zero_point.empty() ? 0 : zero_point[0]));
  return s + buf;
}

Context::Context(const Graph& graph, const NeutronTargetSpec& target) : g(graph), spec(target) {
  consumers_ = g.consumers();
  infer_formats();
}

bool Context::is_qdq(int n) const { return is_quantize_node(node(n)) || is_dequantize_node(node(n)); }

Shape Context::concrete(const Shape& s) {
  Shape c = s;
  for (int64_t& d : c) d = dim(d);
  return c;
}

int Context::channels_dim(int value) const {
  const int r = rank(value);
  if (r <= 1) return 0;
  return channels_first(value) ? 1 : r - 1;
}

int64_t Context::channels(int value) const {
  const Shape& s = shape(value);
  return s.empty() ? 1 : dim(s[static_cast<size_t>(channels_dim(value))]);
}

void Context::infer_formats() {
  channels_first_.assign(g.values.size(), 0);
  auto mark = [&](int v) {
    if (v < 0 || g.is_constant(v) || g.value(v).shape.size() < 3 || channels_first_[static_cast<size_t>(v)]) return false;
    channels_first_[static_cast<size_t>(v)] = 1;
    return true;
  };
  for (const Node& n : g.nodes) {
    if (!is_layout_source(n.op)) continue;
    if (!n.inputs.empty()) mark(n.inputs[0]);
    if (!n.outputs.empty()) mark(n.outputs[0]);
  }
  // Propagate through layout-agnostic ops between activations of equal rank until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (const Node& n : g.nodes) {
      if (!is_layout_agnostic(n)) continue;
      std::vector<int> acts;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        // Q/DQ: only the tensor itself (inputs 1, 2 are scale and zero point).
        if ((is_quantize_node(n) || is_dequantize_node(n)) && i > 0) break;
        if (n.inputs[i] >= 0 && !g.is_constant(n.inputs[i])) acts.push_back(n.inputs[i]);
      }
      for (int o : n.outputs) acts.push_back(o);
      for (int a : acts) {
        if (!channels_first_[static_cast<size_t>(a)]) continue;
        for (int b : acts)
          if (g.value(b).shape.size() == g.value(a).shape.size()) changed |= mark(b);
      }
    }
  }
}

QdqParams Context::params_of(const Graph& g, int qdq_node) {
  const Node& n = g.nodes[static_cast<size_t>(qdq_node)];
  QdqParams p;
  p.node = qdq_node;
  p.per_channel = n.op.find("per_channel") != std::string::npos;
  if (p.per_channel) p.axis = n.attrs.i("axis", 1);
  const bool quantize = is_quantize_node(n);
  p.dtype = quantize ? g.value(n.outputs[0]).dtype : g.value(n.inputs[0]).dtype;
  p.constant_input = !quantize && g.is_constant(n.inputs[0]);
  if (n.inputs.size() > 1 && g.is_constant(n.inputs[1])) p.scale = g.value(n.inputs[1]).constant->to_double_vector();
  if (n.inputs.size() > 2 && g.is_constant(n.inputs[2])) {
    p.zero_point = g.value(n.inputs[2]).constant->to_int64_vector();
  } else {
    p.zero_point.assign(std::max<size_t>(p.scale.size(), 1), 0);
  }
  return p;
}

std::optional<QdqParams> Context::input_dq(int n, int slot) const {
  const Node& nd = node(n);
  if (slot < 0 || static_cast<size_t>(slot) >= nd.inputs.size() || nd.inputs[static_cast<size_t>(slot)] < 0) return std::nullopt;
  const int p = g.value(nd.inputs[static_cast<size_t>(slot)]).producer;
  if (p < 0 || !is_dequantize_node(node(p))) return std::nullopt;
  return params_of(g, p);
}

std::optional<QdqParams> Context::output_q(int n) const {
  const Node& nd = node(n);
  if (nd.outputs.empty()) return std::nullopt;
  for (int c : consumers(nd.outputs[0]))
    if (is_quantize_node(node(c))) return params_of(g, c);
  return std::nullopt;
}

bool Context::input_is_static(int n, int slot) const {
  const auto dq = input_dq(n, slot);
  return dq && dq->constant_input;
}

int Context::upstream_compute(int value) const {
  int v = value;
  for (int guard = 0; guard < 64; ++guard) {
    if (v < 0 || g.is_constant(v)) return -1;
    const int p = g.value(v).producer;
    if (p < 0) return -1;
    if (!is_qdq(p)) return p;
    v = node(p).inputs[0];
  }
  return -1;
}

std::vector<int> Context::downstream_compute(int n) const {
  std::vector<int> out;
  std::vector<int> todo(node(n).outputs.begin(), node(n).outputs.end());
  std::set<int> seen;
  while (!todo.empty()) {
    const int v = todo.back();
    todo.pop_back();
    if (!seen.insert(v).second) continue;
    for (int c : consumers(v)) {
      if (is_qdq(c)) {
        for (int o : node(c).outputs) todo.push_back(o);
      } else if (std::find(out.begin(), out.end(), c) == out.end()) {
        out.push_back(c);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool PartitionView::alone(int n) const {
  const int p = partition_of[static_cast<size_t>(n)];
  return p >= 0 && compute_nodes[static_cast<size_t>(p)].size() == 1;
}

// ---- helpers ----

std::string str(int64_t v) { return v == kBatch ? std::string("N") : std::to_string(v); }

std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + str(v[i]);
  return s + "]";
}

std::string check_shared_qparams(const Context& ctx, int n) {
  const auto in = ctx.input_dq(n, 0);
  const auto out = ctx.output_q(n);
  if (!in || !out) return "input and output qparams cannot be compared (no dequantize/quantize around the node)";
  if (!in->same_qparams(*out))
    return "input and output must share qparams (Neutron moves the int8 data without rescaling): input " + in->str() +
           ", output " + out->str();
  return "";
}

std::string check_max(const std::string& what, const std::vector<int64_t>& v, int64_t limit) {
  for (int64_t e : v)
    if (e > limit) return what + " " + list_str(v) + " exceeds " + std::to_string(limit);
  return "";
}

std::vector<int64_t> ints_attr(const Node& n, const std::string& name, const std::vector<int64_t>& fallback) {
  if (!n.attrs.has(name)) return fallback;
  const AttrValue& v = n.attrs.all().at(name);
  if (const int64_t* one = std::get_if<int64_t>(&v)) return {*one};
  if (const auto* many = std::get_if<std::vector<int64_t>>(&v)) return *many;
  return fallback;
}

std::vector<int64_t> to_channels_last_perm(int rank) {
  std::vector<int64_t> p = {0};
  for (int d = 2; d < rank; ++d) p.push_back(d);
  if (rank > 1) p.push_back(1);
  return p;
}

std::vector<int64_t> to_channels_first_perm(int rank) {
  std::vector<int64_t> p = {0};
  if (rank > 1) p.push_back(rank - 1);
  for (int d = 1; d < rank - 1; ++d) p.push_back(d);
  return p;
}

Shape apply_perm(const Shape& s, const std::vector<int64_t>& perm) {
  Shape out;
  for (int64_t p : perm) out.push_back(s.at(static_cast<size_t>(p)));
  return out;
}

std::vector<int64_t> combine_perms(const std::vector<int64_t>& first, const std::vector<int64_t>& second) {
  std::vector<int64_t> out;
  for (int64_t p : second) out.push_back(first.at(static_cast<size_t>(p)));
  return out;
}

namespace {
// A permutation that only moves size-1 dims is a reshape.
bool invariant_perm(const Shape& shape, const std::vector<int64_t>& perm) {
  std::vector<int64_t> kept;
  for (int64_t p : perm)
    if (Context::dim(shape.at(static_cast<size_t>(p))) != 1) kept.push_back(p);
  return std::is_sorted(kept.begin(), kept.end());
}
}  // namespace

std::string transposition_support(const Shape& shape_in, const std::vector<int64_t>& perm, int64_t num_macs) {
  const Shape s = Context::concrete(shape_in);
  if (s.size() != perm.size()) return "permutation " + list_str(perm) + " does not match shape " + list_str(s);
  if (invariant_perm(s, perm)) return "";
  const std::string what = "Transpose " + list_str(perm) + " of " + list_str(s) + ": ";
  const std::string macs = std::to_string(num_macs);
  if (perm == std::vector<int64_t>{0, 3, 1, 2}) {  // NHWC -> NCHW
    const int64_t n = s[0], h = s[1], w = s[2], c = s[3];
    if ((h * w * c) % num_macs != 0) return what + "h*w*c = " + str(h * w * c) + " is not a multiple of num_macs " + macs;
    if (c % num_macs != 0 || (h * w) % num_macs != 0)
      return what + "channels " + str(c) + " and h*w " + str(h * w) + " must be multiples of num_macs " + macs;
    if (n != 1) return what + "batch " + str(n) + " must be 1";
    return "";
  }
  if (perm == std::vector<int64_t>{0, 2, 3, 1}) {  // NCHW -> NHWC
    const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (w % num_macs != 0) return what + "width " + str(w) + " is not a multiple of num_macs " + macs;
    if (c % num_macs != 0 || (h * w) % num_macs != 0)
      return what + "channels " + str(c) + " and h*w " + str(h * w) + " must be multiples of num_macs " + macs;
    if (n != 1) return what + "batch " + str(n) + " must be 1";
    return "";
  }
  return what + "only NHWC<->NCHW transpositions (or ones moving size-1 dims) run on Neutron";
}

// ---- the rule table ----

namespace {
const std::vector<OpRule>& all_rules() {
  static const std::vector<OpRule> rules = [] {
    std::vector<OpRule> r;
    add_conv_rules(r);
    add_linear_rules(r);
    add_binary_rules(r);
    add_pool_rules(r);
    add_mean_rules(r);
    add_softmax_rules(r);
    add_cat_rules(r);
    add_pad_rules(r);
    add_reshape_rules(r);
    add_slice_rules(r);
    add_activation_rules(r);
    add_noop_rules(r);
    return r;
  }();
  return rules;
}
}  // namespace

const OpRule* find_rule(const std::string& op) {
  for (const OpRule& r : all_rules())
    for (const std::string& o : r.ops)
      if (o == op) return &r;
  return nullptr;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> out;
  for (const OpRule& r : all_rules()) out.insert(out.end(), r.ops.begin(), r.ops.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace eq::neutron
