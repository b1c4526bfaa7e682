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
// int8 symmetric [weight_qmin, weight_qmax], per output channel or per tensor (MinMax); eps 2^-12
// everywhere; bias left float (XNNPACK quantizes it when it packs the weights).
QuantizationConfig get_symmetric_quantization_config(bool is_per_channel = false, bool is_qat = false,
                                                     bool is_dynamic = false, int64_t act_qmin = -128,
                                                     int64_t act_qmax = 127, int64_t weight_qmin = -127,
                                                     int64_t weight_qmax = 127);
}  // namespace xnnpack

// Patterns, first match wins: conv(+relu), conv_transpose, linear(+relu), add(+relu), mul(+relu),
// cat, adaptive_avg_pool2d; then relu, hardtanh, max_pool2d, mean, permute, reshape, flatten,
// slice, squeeze, dropout share their input's qparams when that input is annotated
// (propagate_annotation). A dynamic config annotates linear and conv2d only (no depthwise, no
// conv+relu). Precedence of the set_* configs: module name > module type > operator > global.
class XNNPACKQuantizer : public Quantizer {
 public:
  XNNPACKQuantizer() = default;
  std::string name() const override { return "xnnpack"; }
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

}  // namespace eq
