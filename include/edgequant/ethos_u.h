// Arm Ethos-U (U55 / U65 / U85): the compile spec and the quantizer, after ExecuTorch's
// backends/arm (EthosUCompileSpec, EthosUQuantizer, get_symmetric_quantization_config,
// get_symmetric_a16w8_quantization_config).
//
//   eq::EthosUQuantizer q{eq::EthosUCompileSpec("ethos-u55-128")};
//   q.set_global(eq::ethosu::get_symmetric_quantization_config());
//   eq::Graph qdq = q.quantize_with_submodules(model, calibration_samples);
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/partition.h"
#include "edgequant/quantizer.h"
#include "edgequant/tensor.h"

namespace eq {

// An Ethos-U configuration: "ethos-u55-32" ... "ethos-u85-2048" (Vela's accelerator names).
struct EthosUCompileSpec {
  std::string target;       // "ethos-u55-128"
  std::string family;       // "u55", "u65", "u85"
  int macs = 0;             // MACs per cycle (the number in the name)
  std::string tosa_spec;    // the TOSA profile the backend lowers to, e.g. "TOSA-1.0+INT+int16+int4+u55"
  std::string system_config;  // Vela system config, e.g. "Ethos_U55_High_End_Embedded"
  std::string memory_mode;    // Vela memory mode, e.g. "Shared_Sram"

  // Throws eq::Error for an unknown target, listing the known ones.
  explicit EthosUCompileSpec(const std::string& target = "ethos-u55-128");
  static std::vector<std::string> known_targets();
};

namespace ethosu {
// int8 activations per-tensor affine [act_qmin, act_qmax] (HistogramObserver), weights int8
// symmetric [-127, 127] per output channel (or per tensor), eps 2^-16, int32 bias per channel.
QuantizationConfig get_symmetric_quantization_config(bool is_per_channel = true, bool is_qat = false,
                                                     bool is_dynamic = false, int64_t act_qmin = -128,
                                                     int64_t act_qmax = 127, int64_t weight_qmin = -127,
                                                     int64_t weight_qmax = 127);
// 16x8: int16 activations symmetric [-32767, 32767] (eps 2^-12), int8 weights as above, int32
// bias (act_scale × weight_scale per channel; ExecuTorch 1.5.1 keeps int32 here too).
QuantizationConfig get_symmetric_a16w8_quantization_config(bool is_per_channel = true, bool is_qat = false,
                                                           bool is_dynamic = false);
}  // namespace ethosu

// Annotates every op the Ethos-U backend lowers, the graph input and output included;
// transform_for_annotation folds BatchNorm, turns scalar operands into tensors and decomposes
// what the annotator expects decomposed (adaptive_avg_pool2d → slices + avg_pool2d, softmax →
// amax/sub/exp/sum/reciprocal/mul, mean.dim → sum × 1/N).
class EthosUQuantizer : public Quantizer {
 public:
  explicit EthosUQuantizer(EthosUCompileSpec spec);
  std::string name() const override { return "ethos-u"; }
  void transform_for_annotation(Graph& g) const override;
  void annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const override;
  void validate(const Graph& g, const Annotations& annotations) const override;

  EthosUQuantizer& set_global(std::optional<QuantizationConfig> c);
  // The config of the graph inputs and outputs (ExecuTorch set_io).
  EthosUQuantizer& set_io(std::optional<QuantizationConfig> c);
  EthosUQuantizer& set_module_name(const std::string& name, std::optional<QuantizationConfig> c);
  EthosUQuantizer& set_module_type(const std::string& type, std::optional<QuantizationConfig> c);
  // Nodes of one ATen op ("aten.softmax.int"; ExecuTorch's set_node_target).
  EthosUQuantizer& set_operator_type(const std::string& op, std::optional<QuantizationConfig> c);
  const EthosUCompileSpec& compile_spec() const { return spec_; }

  // ExecuTorch's quantize_with_submodules: prepare, run the calibration samples, convert.
  Graph quantize_with_submodules(const Graph& g, const std::vector<std::vector<Tensor>>& calibration_samples,
                                 bool is_qat = false) const;

 private:
  EthosUCompileSpec spec_;
  QuantizerConfigs configs_;
  bool io_set_ = false;  // set_io called (else the graph inputs and outputs take the global config)
  std::optional<QuantizationConfig> io_config_;
};

// An EthosUQuantizer from the CLI's JSON config (edgequant/backends.h: "global", "module_name",
// "module_type", "io"; a backend config object is {"a16w8": bool, "is_per_channel": bool,
// "is_qat": bool}). Throws eq::Error naming an unknown target or key.
std::unique_ptr<Quantizer> make_ethos_u_quantizer_from_json(const std::string& target, const nlohmann::json& config);

// Which nodes of a QDQ graph the Ethos-U backend can take (TOSA INT profile + the target's
// constraints as Vela checks them), with a reason for every node left on the CPU.
class EthosUPartitioner {
 public:
  explicit EthosUPartitioner(EthosUCompileSpec spec) : spec_(std::move(spec)) {}
  PartitionResult partition(const Graph& qdq_graph) const;

 private:
  EthosUCompileSpec spec_;
};

}  // namespace eq
