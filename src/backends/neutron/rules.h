// Internal to the Neutron backend: the view of a QDQ graph the support rules read, and the rule
// table. One rules_<family>.cpp per op family (as ExecuTorch has one node converter per op), each
// contributing its OpRules through add_<family>_rules().
//
// A rule returns "" when the node is supported, otherwise the reason: the check that failed, with
// the parameter, its value and the limit ("kernel volume kH*kW*roundup(in_channels, 8) = 73728 >
// 65535"). Rules assume the node is already known to be quantized (the partitioner checks that
// first): activations int8 per tensor behind dequantize/quantize nodes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/neutron.h"

namespace eq::neutron {

// The quantization of a tensor as the QDQ graph shows it: the parameters of a quantize or
// dequantize node.
struct QdqParams {
  int node = -1;  // the quantize or dequantize node
  DType dtype = DType::i8;
  bool per_channel = false;
  int64_t axis = -1;
  std::vector<double> scale;
  std::vector<int64_t> zero_point;
  bool constant_input = false;  // a dequantize of a constant (weights, bias)
  // Same dtype, scales and zero points.
  bool same_qparams(const QdqParams& o) const {
    return dtype == o.dtype && scale == o.scale && zero_point == o.zero_point;
  }
  std::string str() const;  // "i8 scale 0.0123 zp -3"
};

class Context {
 public:
  Context(const Graph& g, const NeutronTargetSpec& spec);

  const Graph& g;
  const NeutronTargetSpec& spec;

  const Node& node(int i) const { return g.nodes[static_cast<size_t>(i)]; }
  const std::vector<int>& consumers(int value) const { return consumers_[static_cast<size_t>(value)]; }
  bool is_qdq(int node) const;
  const Shape& shape(int value) const { return g.value(value).shape; }
  int rank(int value) const { return static_cast<int>(shape(value).size()); }
  // A dimension with the symbolic batch counted as 1 (the NPU runs batch 1).
  static int64_t dim(int64_t d) { return d == kBatch ? 1 : d; }
  // The shape with kBatch as 1.
  static Shape concrete(const Shape& s);
  // Whether the value is in channels-first (NCHW) layout: read or written by an op that needs it
  // (conv, pools) or connected to one through layout-agnostic ops (ExecuTorch NodeFormatInference).
  bool channels_first(int value) const { return channels_first_[static_cast<size_t>(value)] != 0; }
  // The channel dimension Neutron sees: 1 for channels-first values, the last dim otherwise.
  int channels_dim(int value) const;
  int64_t channels(int value) const;

  // The parameters of the dequantize node producing input `slot` of `node`, if one does.
  std::optional<QdqParams> input_dq(int node, int slot) const;
  // The parameters of the (first) quantize node reading output 0 of `node`, if one does.
  std::optional<QdqParams> output_q(int node) const;
  static QdqParams params_of(const Graph& g, int qdq_node);
  // Whether input `slot` of `node` is a dequantized constant (static weights).
  bool input_is_static(int node, int slot) const;

  // The compute node upstream of `value`, skipping dequantize/quantize nodes; -1 for a graph input
  // or a constant.
  int upstream_compute(int value) const;
  // The compute nodes reading output 0 of `node`, skipping quantize/dequantize nodes.
  std::vector<int> downstream_compute(int node) const;

 private:
  void infer_formats();
  std::vector<std::vector<int>> consumers_;
  std::vector<char> channels_first_;
};

// Where the partitioner put the nodes, for partition-level rules.
struct PartitionView {
  std::vector<int> partition_of;                // per node: partition index, -1 when on the CPU
  std::vector<std::vector<int>> compute_nodes;  // per partition: its compute nodes
  bool same_partition(int a, int b) const {
    return partition_of[static_cast<size_t>(a)] >= 0 && partition_of[static_cast<size_t>(a)] == partition_of[static_cast<size_t>(b)];
  }
  // Whether `node` is the only compute node of its partition.
  bool alone(int node) const;
};

using NodeRule = std::string (*)(const Context&, int node);
using PartitionRule = std::string (*)(const Context&, int node, const PartitionView&);

struct OpRule {
  std::vector<std::string> ops;  // ATen names this rule serves
  NodeRule check = nullptr;
  PartitionRule partition_check = nullptr;  // optional: needs the partitioning result
  bool no_op = false;  // computes nothing on Neutron (a partition of only such ops is not delegated)
  int bias_slot = -1;  // input slot holding an int32 bias (conv, linear)
  int weight_slot = -1;  // input slot holding int8 weights (may be per channel on axis 0)
};

void add_conv_rules(std::vector<OpRule>& rules);        // rules_conv.cpp
void add_linear_rules(std::vector<OpRule>& rules);      // rules_linear.cpp
void add_binary_rules(std::vector<OpRule>& rules);      // rules_binary.cpp
void add_pool_rules(std::vector<OpRule>& rules);        // rules_pool.cpp
void add_mean_rules(std::vector<OpRule>& rules);        // rules_mean.cpp
void add_softmax_rules(std::vector<OpRule>& rules);     // rules_softmax.cpp
void add_cat_rules(std::vector<OpRule>& rules);         // rules_cat.cpp
void add_pad_rules(std::vector<OpRule>& rules);         // rules_pad.cpp
void add_reshape_rules(std::vector<OpRule>& rules);     // rules_reshape.cpp
void add_slice_rules(std::vector<OpRule>& rules);       // rules_slice.cpp
void add_activation_rules(std::vector<OpRule>& rules);  // rules_activation.cpp
void add_noop_rules(std::vector<OpRule>& rules);        // rules_noop.cpp

// The rule for an op, nullptr when Neutron has none.
const OpRule* find_rule(const std::string& op);
// Every op with a rule, sorted.
std::vector<std::string> supported_ops();

// ---- helpers shared by the rules ----

std::string str(int64_t v);
std::string list_str(const std::vector<int64_t>& v);
// "" when the dequantize of input 0 and the quantize of the output carry the same qparams (ops
// that move data without rescaling: pools, pad, ...), else the reason.
std::string check_shared_qparams(const Context& ctx, int node);
// "" when every element of `v` is <= `limit`; else "<what> <list> exceeds <limit>".
std::string check_max(const std::string& what, const std::vector<int64_t>& v, int64_t limit);
// Spatial attribute list of length k (fallback when absent).
std::vector<int64_t> ints_attr(const Node& n, const std::string& name, const std::vector<int64_t>& fallback);
// Neutron's support for a Transpose of `shape` (4-D) by `perm` (neutron_operator_support.py
// transposition_is_supported_on_neutron); "" or the reason.
std::string transposition_support(const Shape& shape, const std::vector<int64_t>& perm, int64_t num_macs);
// Channels-first <-> channels-last permutations of a given rank.
std::vector<int64_t> to_channels_last_perm(int rank);
std::vector<int64_t> to_channels_first_perm(int rank);
Shape apply_perm(const Shape& s, const std::vector<int64_t>& perm);
// The permutation `second` applied after `first`.
std::vector<int64_t> combine_perms(const std::vector<int64_t>& first, const std::vector<int64_t>& second);

}  // namespace eq::neutron
