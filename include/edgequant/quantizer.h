// The PT2E quantizer vocabulary (torchao.quantization.pt2e.quantizer), in C++.
//
// A Quantizer annotates a Graph: for chosen nodes it says how each input edge and the output are
// to be quantized (a QuantizationAnnotation holding QuantizationSpecs). prepare_pt2e turns the
// annotations into observers, one per sharing group; convert_pt2e turns observed ranges into
// quantize/dequantize pairs. Positions are named by EdgeOrNode, as in torchao:
//   - an edge: the value flowing into input slot `input` of node `node`;
//   - a node: the (first) output of node `node`.
// torchao keys an edge by (producer node, consumer node); we key it by (consumer, slot), which
// says the same and stays unambiguous when a node reads one value twice (x * x).
#pragma once
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/observers.h"
#include "edgequant/qparams.h"

namespace eq {

struct EdgeOrNode {
  int node = -1;   // the consumer (edge) or the producer (node output)
  int input = -1;  // input slot for an edge; -1 for a node output

  static EdgeOrNode edge(int node, int input) { return {node, input}; }
  static EdgeOrNode output(int node) { return {node, -1}; }
  bool is_edge() const { return input >= 0; }
  auto operator<=>(const EdgeOrNode&) const = default;
  // The value this position carries in `g` (the edge's input value, or the node's output 0).
  int value(const Graph& g) const;
  std::string describe(const Graph& g) const;
};

// Which observer a QuantizationSpec asks for. Plain data, compared by value: two specs built the
// same way are equal, which is what implicit sharing tests (torchao compares the spec objects).
enum class ObserverKind : uint8_t {
  minmax,
  moving_average_minmax,
  per_channel_minmax,
  moving_average_per_channel_minmax,
  histogram,
  percentile,
  entropy,
  placeholder,  // dynamic quantization: qparams are computed at run time, nothing observed
};
std::string_view observer_kind_name(ObserverKind k);

struct ObserverSpec {
  ObserverKind kind = ObserverKind::minmax;
  float averaging_constant = 0.01f;  // moving-average kinds
  int bins = 2048;                   // histogram (torch 2048), percentile (ORT 2048), entropy (ORT 128)
  double percentile = 99.999;        // percentile
  bool operator==(const ObserverSpec&) const = default;
};

// torchao QuantizationSpec: dtype, integer range, scheme, channel axis, observer.
struct QuantizationSpec {
  DType dtype = DType::i8;
  int64_t quant_min = -128;
  int64_t quant_max = 127;
  QuantizationScheme qscheme = QuantizationScheme::per_tensor_affine;
  int ch_axis = 0;  // per-channel schemes only
  bool is_dynamic = false;
  float eps = kDefaultQuantEps;
  bool reduce_range = false;
  ObserverSpec observer;
  bool operator==(const QuantizationSpec&) const = default;

  // An observer for this spec (the observer's options follow the spec's dtype, range, scheme, eps).
  std::unique_ptr<Observer> make_observer() const;
};

// Fixed qparams (sigmoid's 1/256 etc.): nothing is observed.
struct FixedQParamsQuantizationSpec {
  DType dtype = DType::i8;
  float scale = 1.0f;
  int32_t zero_point = 0;
  int64_t quant_min = -128;
  int64_t quant_max = 127;
  QuantizationScheme qscheme = QuantizationScheme::per_tensor_affine;
  bool operator==(const FixedQParamsQuantizationSpec&) const = default;
};

// Use the qparams of another position (cat's inputs and output, a pool's output).
struct SharedQuantizationSpec {
  EdgeOrNode edge_or_node;
  bool operator==(const SharedQuantizationSpec&) const = default;
};

// qparams computed from other positions' qparams (bias: input scale × weight scale, int32).
// derive receives the qparams of `derived_from`, in order.
using DeriveQParamsFn = std::function<QParams(const std::vector<QParams>&)>;
struct DerivedQuantizationSpec {
  std::vector<EdgeOrNode> derived_from;
  DeriveQParamsFn derive_qparams_fn;
  DType dtype = DType::i32;
  int64_t quant_min = std::numeric_limits<int32_t>::min();
  int64_t quant_max = std::numeric_limits<int32_t>::max();
  QuantizationScheme qscheme = QuantizationScheme::per_tensor_symmetric;
  int ch_axis = 0;
  // Function objects do not compare; two derived specs are never equal (as in torchao, where
  // each is a distinct object).
  bool operator==(const DerivedQuantizationSpec&) const { return false; }
};

using QuantizationSpecBase = std::variant<QuantizationSpec, FixedQParamsQuantizationSpec,
                                          SharedQuantizationSpec, DerivedQuantizationSpec>;

// The standard bias spec: int32, scale = input scale × weight scale (per channel when the weight
// is), zero point 0. `input` and `weight` are the conv/linear's input edges.
DerivedQuantizationSpec derived_bias_spec(EdgeOrNode input, EdgeOrNode weight);

struct QuantizationAnnotation {
  std::map<int, QuantizationSpecBase> input_qspec_map;  // input slot -> spec
  std::optional<QuantizationSpecBase> output_qspec;
  // torchao: an input edge whose spec equals the producer's output spec shares its observer.
  bool allow_implicit_sharing = true;
  bool annotated = true;  // torchao's _annotated: the node was claimed by a pattern
};

// Node index -> annotation. Kept beside the Graph (a Graph stays plain data).
using Annotations = std::map<int, QuantizationAnnotation>;

// Why a node was left in float, for the quantize summary.
struct SkipReason {
  int node = -1;
  std::string reason;
};

class Quantizer {
 public:
  virtual ~Quantizer() = default;
  virtual std::string name() const = 0;
  // Rewrites the graph before annotation (BatchNorm folding, decompositions). Default: nothing.
  virtual void transform_for_annotation(Graph& g) const;
  // Marks nodes to quantize. Nodes it leaves out stay float; it may record why in `skipped`.
  virtual void annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const = 0;
  // Checks the annotated graph for what this backend cannot take; throws eq::Error. Default: nothing.
  virtual void validate(const Graph& g, const Annotations& annotations) const;
};

// ---- The generic quantizer (until backend quantizers exist; the base the backends reuse) ----

struct QuantizationConfig {
  std::optional<QuantizationSpec> input_activation;
  std::optional<QuantizationSpec> output_activation;
  std::optional<QuantizationSpec> weight;
  bool bias = true;  // derived int32 bias when a weight spec is given
  bool is_qat = false;
};

// Which QuantizationConfig applies to which node, with PT2E's set_* precedence:
// module name > module type > operator type > global (ExecuTorch XNNPACKQuantizer /
// EthosUQuantizer). A nullopt config means "leave these nodes in float".
//   - module name: the node's module path equals `name` or lies under it ("blocks.1" covers
//     "blocks.1.conv.0"), as torch's get_module_name_filter reads nn_module_stack;
//   - module type: a torch.nn class name ("Conv2d", "torch.nn.Conv2d", "torch.nn.modules.conv.Conv2d"),
//     matched against module_types_of(node);
//   - operator type: an ATen op ("aten.conv2d.default"; "aten.conv2d", "conv2d" match every overload).
class QuantizerConfigs {
 public:
  void set_global(std::optional<QuantizationConfig> c) { global_ = std::move(c); }
  void set_module_name(const std::string& name, std::optional<QuantizationConfig> c);
  void set_module_type(const std::string& type, std::optional<QuantizationConfig> c);
  void set_operator_type(const std::string& op, std::optional<QuantizationConfig> c);

  // One annotation pass of a backend: nodes `applies(node)` selects get `config`. Passes come in
  // precedence order; a node claimed by an earlier pass (annotated) is never re-annotated.
  struct Pass {
    std::string what;  // "module name 'fc'", "global", ... (for skip reasons)
    std::optional<QuantizationConfig> config;
    std::function<bool(const Graph&, int node)> applies;
    // Set for operator-type passes: only patterns anchored at this op run (torch's operator_target).
    std::string operator_type;
  };
  std::vector<Pass> passes() const;

  const std::optional<QuantizationConfig>& global() const { return global_; }
  using Entries = std::vector<std::pair<std::string, std::optional<QuantizationConfig>>>;
  const Entries& module_names() const { return by_name_; }
  const Entries& module_types() const { return by_type_; }
  const Entries& operator_types() const { return by_op_; }
  bool empty_overrides() const { return by_name_.empty() && by_type_.empty() && by_op_.empty(); }

 private:
  std::optional<QuantizationConfig> global_;
  std::vector<std::pair<std::string, std::optional<QuantizationConfig>>> by_name_, by_type_, by_op_;
};

// torch.nn class names (short form, "Conv2d") of the modules a node came from. ONNX models keep
// module paths in node names but not module classes, so the leaf module's class is inferred from
// the op it produced (aten.conv2d → Conv2d, aten.linear → Linear, aten.hardtanh(0, 6) → ReLU6, ...).
std::vector<std::string> module_types_of(const Graph& g, int node);
// "torch.nn.modules.conv.Conv2d" / "nn.Conv2d" / "Conv2d" -> "Conv2d".
std::string short_module_type(const std::string& type);
// True when `op` (a full ATen name) is named by `pattern` ("aten.conv2d.default", "aten.conv2d",
// "aten::conv2d", "conv2d").
bool operator_matches(const std::string& op, const std::string& pattern);

// int8 affine activations [-128, 127], int8 symmetric weights [-127, 127] (per tensor, or per
// output channel), int32 bias; `activation_observer` for activations, minmax (per-channel minmax)
// for weights; eps 2^-12 as XNNPACK's and Neutron's configs use.
QuantizationConfig symmetric_int8_config(bool per_channel, ObserverSpec activation_observer = {ObserverKind::histogram},
                                         float eps = 1.0f / 4096.0f);

// Annotates conv1d/conv2d (+ fused relu/hardtanh/sigmoid/tanh), linear, matmul, add, mul, cat,
// pools, mean, the reshape family, pad, slice, softmax, sigmoid/tanh/hardswish/abs/relu with one
// QuantizationConfig. Data-movement ops and max/avg pools share their input's qparams; cat shares
// one set across its inputs and output.
class GenericQuantizer : public Quantizer {
 public:
  explicit GenericQuantizer(QuantizationConfig config) : config_(std::move(config)) {}
  std::string name() const override { return "generic"; }
  void transform_for_annotation(Graph& g) const override;
  void annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const override;
  const QuantizationConfig& config() const { return config_; }

 private:
  QuantizationConfig config_;
};

}  // namespace eq
