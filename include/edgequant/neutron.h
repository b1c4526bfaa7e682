// NXP eIQ Neutron NPU: the target description, the compile spec and the partitioner, after
// ExecuTorch's backends/nxp (neutron_target_spec.py, nxp_backend.py, neutron_partitioner.py and
// the per-op `_is_supported_on_target` / `_is_supported_in_IR` checks of its node converters).
//
//   eq::NeutronCompileSpec spec = eq::generate_neutron_compile_spec("imxrt700", {"aten.softmax.int"});
//   eq::NeutronPartitioner partitioner{spec};
//   eq::PartitionResult r = partitioner.partition(qdq_graph);   // convert_pt2e output
//
// Every rule and where it comes from is listed in docs/neutron.md.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/partition.h"
#include "edgequant/quantizer.h"

namespace eq {

enum class NeutronHwVersion { N1, N3 };

struct NeutronTargetSpec {
  std::string name;         // "imxrt700"
  std::string description;  // the device and its NPU
  NeutronHwVersion hw_version = NeutronHwVersion::N3;
  bool subsystem = false;   // Neutron-S (with its own controller/DMA, i.MX application processors)
  // MACs per compute unit: the channel alignment most Neutron kernels need (channels % num_macs == 0).
  int num_macs = 8;
  int num_pipes = 0;        // compute pipelines; 0 = not publicly known (rules that need it are skipped)

  // Limits of the Neutron-C kernels (neutron-library NeutronLibraryInterrogation, as quoted by the
  // ExecuTorch converters).
  int64_t max_kernel = 4096;    // kernel height/width (conv, pools)
  int64_t max_stride = 4096;    // stride (conv, pools)
  int64_t max_dilation = 4096;  // dilation (conv)
  int64_t max_conv_kernel_volume = 65535;  // kH * kW * roundup(in_channels, num_macs)
  int64_t max_softmax_spatial = 4096;      // product of the non-channel dims
  int64_t max_softmax_work = 65536;        // channels * spatial / num_macs

  int channel_alignment() const { return num_macs; }

  // The spec of a supported target. Throws eq::Error for an unknown name (listing the known
  // targets) and for a known Neutron target this partitioner cannot check (saying why).
  static NeutronTargetSpec from_name(const std::string& target);
  // Targets from_name accepts.
  static std::vector<std::string> supported_targets();
  // Every Neutron target name known (NXP's Neutron converter targets), supported or not.
  static std::vector<std::string> known_targets();
};

// ExecuTorch generate_neutron_compile_spec: what the backend is compiled for and which operators
// stay on the CPU.
struct NeutronCompileSpec {
  std::string output_format = "tflite";
  std::string compile_flags;
  NeutronTargetSpec target;
  // Canonical ATen op names (aten.conv2d.default, ...) never delegated.
  std::vector<std::string> operators_not_to_delegate;
};

// `operators_not_to_delegate` entries may be full ATen names ("aten.conv2d.default"), PyTorch's
// spelling ("aten::conv2d", "aten::conv2d.default", "aten_conv2d_default") or the bare name
// ("conv2d", every overload). Throws eq::Error for an unknown target or an entry that names no
// known operator.
NeutronCompileSpec generate_neutron_compile_spec(const std::string& target,
                                                 const std::vector<std::string>& operators_not_to_delegate = {});

class NeutronPartitioner {
 public:
  explicit NeutronPartitioner(NeutronCompileSpec spec) : spec_(std::move(spec)) {}
  const NeutronCompileSpec& compile_spec() const { return spec_; }

  // Delegated partitions of a QDQ graph (convert_pt2e's output, or a QDQ ONNX model loaded back).
  // A compute node is delegable when it is quantized (its float inputs are dequantized int8, its
  // outputs are quantized to int8 per tensor; weights int8, bias int32, constant) and passes the
  // rule of its op for the target; a relu/hardtanh/sigmoid/tanh (or clone) reading a conv/linear
  // output directly is fused into that node's cluster. Partition-level rules (no partition of only
  // no-ops, a lone reshape/relu, concat inputs from outside) are applied until the result is stable.
  PartitionResult partition(const Graph& qdq_graph) const;

 private:
  NeutronCompileSpec spec_;
};

// ExecuTorch NeutronQuantizer (backends/nxp/quantizer/neutron_quantizer.py): static int8 for the
// Neutron NPU. Activations int8 per-tensor affine [-128, 127] (HistogramObserver, eps 2^-12), the
// graph input included; weights int8 symmetric [-127, 127]: per tensor, as NXP documents the
// scheme, or — set_per_channel_conv(true), what ExecuTorch 1.5.1's code does — conv weights per
// output channel (linear stays per tensor); int32 derived bias; conv/linear fused with relu,
// relu6, hardtanh(0, inf), sigmoid, tanh; fixed qparams for softmax / sigmoid (1/256, -128) and
// tanh (1/128, 0), mul inputs fixed at 1/256 (as NXP's MulTensorPattern); pools, reshapes,
// permute, pad, slice, mean, abs, hardtanh share their input's qparams; cat shares one set.
// transform_for_annotation folds BatchNorm and rewrites conv1d as unsqueeze → conv2d → squeeze.
class NeutronQuantizer : public Quantizer {
 public:
  explicit NeutronQuantizer(NeutronTargetSpec spec, bool is_qat = false);
  std::string name() const override { return "neutron"; }
  void transform_for_annotation(Graph& g) const override;
  void annotate(const Graph& g, Annotations& annotations, std::vector<SkipReason>& skipped) const override;

  NeutronQuantizer& set_per_channel_conv(bool on);
  // Module / operator overrides: nullopt leaves those nodes in float; a config replaces the
  // default one (PT2E precedence, see QuantizerConfigs).
  NeutronQuantizer& set_module_name(const std::string& name, std::optional<QuantizationConfig> c);
  NeutronQuantizer& set_module_type(const std::string& type, std::optional<QuantizationConfig> c);
  NeutronQuantizer& set_operator_type(const std::string& op, std::optional<QuantizationConfig> c);
  // The config every node gets unless overridden (per_channel_conv and is_qat applied).
  QuantizationConfig default_config() const;
  const NeutronTargetSpec& target_spec() const { return spec_; }

 private:
  NeutronTargetSpec spec_;
  bool is_qat_ = false;
  bool per_channel_conv_ = false;
  QuantizerConfigs overrides_;  // global unused: default_config() is the global
};

// A NeutronQuantizer from a JSON config (format: include/edgequant/backends.h; "global" holds
// {"per_channel": bool, "is_qat": bool}).
std::unique_ptr<Quantizer> make_neutron_quantizer_from_json(const std::string& target, const nlohmann::json& config);

}  // namespace eq
