// Runs the integer partitions of a lowered graph (lower_to_integer's quantized.* ops) on Debian's
// libxnnpack (0.0~git20220216): qs8 / per-channel qc8 convolution, qs8 fully connected, add,
// multiply, max pooling, global average pooling, sigmoid/tanh, and qu8 average pooling.
//
//   eq::Graph g = eq::calibrate_and_quantize(model, calib, quantizer);
//   eq::lower_to_integer(g);
//   eq::XnnpackPartitionReport r = eq::partition_for_xnnpack(g);  // g now holds xnnpack.subgraph nodes
//   eq::Executor(g).run(...);
//
// One partition is a maximal connected, convex run of supported integer nodes (no path leaves it
// and comes back). It becomes ONE node, `xnnpack.subgraph`, whose attributes hold the replaced
// nodes verbatim (so its shapes are inferred by their own schemas) and whose inputs are the
// partition's external activations followed by the constants it reads. Inside, activations are
// NHWC (channels last): NCHW → NHWC transposes happen only where an activation enters the
// partition and NHWC → NCHW where one leaves; a flatten of an NHWC activation feeding a linear
// layer costs nothing (the linear weight's columns are permuted once instead). The kernel creates
// every XNNPACK operator once when the executor plans a batch size (weights packed once), binds
// them to its own activation buffers, and runs them on a pthreadpool of the executor's thread
// count; results do not depend on the thread count.
//
// Arithmetic: XNNPACK requantizes in fp32 (acc × float scale, round half to even), not with
// TFLite's fixed-point multiplier, so delegated outputs may differ from the integer kernels by one
// LSB where the exact product lies close to a rounding boundary (measured in
// src/backends/xnnpack/README.md).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>

#include "edgequant/graph.h"
#include "edgequant/quantizer.h"

namespace eq {

struct XnnpackPartitionReport {
  // Indices (in the graph as it was before partitioning) of the nodes moved into partitions.
  std::vector<int> delegated_nodes;
  // Every other node, with why it stays on our CPU kernels (op not supported by this libxnnpack, a
  // parameter outside its limits, a float op, ...).
  std::vector<std::pair<int, std::string>> cpu_nodes_with_reason;
  int partitions = 0;
};

// Replaces the supported runs of quantized.* nodes of `g` (lower_to_integer's output) by
// xnnpack.subgraph nodes; the graph keeps its inputs, outputs and value names. Registers the
// xnnpack.subgraph schema and kernel. Throws eq::Error if libxnnpack cannot initialise on this CPU.
XnnpackPartitionReport partition_for_xnnpack(Graph& g);

// Why `g.nodes[node]` cannot be delegated on its own merits ("" when it can). Partition-level
// rules (a partition needs at least one XNNPACK operator, convexity) come on top.
std::string xnnpack_unsupported_reason(const Graph& g, int node);

// Registers the xnnpack.subgraph op schema and kernel (idempotent; partition_for_xnnpack calls it).
void register_xnnpack_ops();

// ---- ExecuTorch XNNPACKQuantizer (backends/xnnpack/quantizer/xnnpack_quantizer.py) ----
namespace xnnpack {
// Activations int8 per-tensor affine [act_qmin, act_qmax] (HistogramObserver; static) or, with
// is_dynamic, quantized per call at run time (placeholder observer, no output observers); weights
// int8 symmetric [weight_qmin, weight_qmax], per output channel (PerChannelMinMax) or per tensor
// (MinMax); eps 2^-12 everywhere; bias left float (XNNPACK quantizes it when it packs the weights).
// is_qat: ExecuTorch's fake-quant observers, i.e. moving-average min/max (averaging 0.01) for
// activations and weights (per channel when is_per_channel); is_qat + is_dynamic: moving average
// with averaging constant 1 (the current batch only).
QuantizationConfig get_symmetric_quantization_config(bool is_per_channel = false, bool is_qat = false,
                                                     bool is_dynamic = false, int64_t act_qmin = -128,
                                                     int64_t act_qmax = 127, int64_t weight_qmin = -127,
                                                     int64_t weight_qmax = 127);
}  // namespace xnnpack

// Patterns, in ExecuTorch's SUPPORTED_PATTERNS order, first match wins: conv+bn(+relu) (QAT
// graphs), linear+relu, linear, conv (conv1d/conv2d), conv_transpose, conv+relu,
// conv_transpose+relu, adaptive_avg_pool2d, add+relu, add, mul+relu, mul, cat. Only relu fuses.
// Then relu, hardtanh, max_pool2d, mean, permute, squeeze, adaptive_avg_pool2d, reshape, slice,
// flatten, dropout share their input's qparams when that input has an output spec
// (propagate_annotation). A dynamic config annotates linear and conv2d only (no depthwise, no
// conv+relu). The graph input is not annotated. Precedence of the set_* configs: module name >
// module type > operator > global; a nullopt config leaves the nodes it selects in float (for
// set_operator_type too, where ExecuTorch ignores None: see src/backends/xnnpack/README.md).
class XNNPACKQuantizer : public Quantizer {
 public:
  XNNPACKQuantizer() = default;
  // With the set_* choices already made (the CLI builds them from its JSON config).
  explicit XNNPACKQuantizer(QuantizerConfigs configs) : configs_(std::move(configs)) {}
  std::string name() const override { return "xnnpack"; }
  // BatchNorm folding (what torch's prepare_pt2e does before the quantizer sees the graph) and
  // constant folding; ExecuTorch's own transform (scalars to tensor attributes) is already how our
  // importer represents scalars.
  void transform_for_annotation(Graph& g) const override;
  void annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const override;

  XNNPACKQuantizer& set_global(std::optional<QuantizationConfig> c);
  XNNPACKQuantizer& set_module_name(const std::string& name, std::optional<QuantizationConfig> c);
  XNNPACKQuantizer& set_module_type(const std::string& type, std::optional<QuantizationConfig> c);
  XNNPACKQuantizer& set_operator_type(const std::string& op, std::optional<QuantizationConfig> c);
  const QuantizerConfigs& configs() const { return configs_; }

 private:
  QuantizerConfigs configs_;
};

// The xnnpack entry of make_backend_quantizer: `config` is the envelope of edgequant/backends.h
// whose backend config objects hold get_symmetric_quantization_config's arguments
// ({"is_per_channel", "is_qat", "is_dynamic", "act_qmin", "act_qmax", "weight_qmin",
// "weight_qmax"}, each optional). Without a "global" key the global config is
// get_symmetric_quantization_config() (ExecuTorch's default). Throws eq::Error naming an unknown
// key or a wrong type.
std::unique_ptr<Quantizer> make_xnnpack_quantizer_from_json(const nlohmann::json& config);
// One backend config object (the inside of "global", a "module_name" entry, ...).
QuantizationConfig xnnpack_config_from_json(const nlohmann::json& j);

}  // namespace eq
