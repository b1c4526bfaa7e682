// Internal to the Ethos-U backend: the pieces EthosUQuantizer is built from (one .cpp each).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "edgequant/ethos_u.h"
#include "edgequant/quantizer.h"

namespace eq::ethosu {

// Which config a node gets, with the composable quantizer's precedence as far as QuantizerConfigs
// expresses it (module name > module type > global). `has` is false when no pass selects the node.
struct NodeConfig {
  bool has = false;
  int pass = -1;  // index into configs.passes()
  std::optional<QuantizationConfig> config;
};
std::vector<NodeConfig> configs_per_node(const QuantizerConfigs& configs, const Graph& g);

// transform_for_annotation's decompositions (transforms.cpp). `allowed(node)` says whether the
// node may be rewritten (ExecuTorch's DISALLOW_TFA: nodes left float are not decomposed).
// Each returns how many nodes it rewrote; the graph stays topologically sorted and inferred.
using AllowFn = std::function<bool(const Graph&, int)>;
int decompose_softmax(Graph& g, const AllowFn& allowed);
int decompose_mean_dim(Graph& g, const AllowFn& allowed);
int decompose_adaptive_avg_pool2d(Graph& g, const AllowFn& allowed);
int decompose_div(Graph& g, const AllowFn& allowed);

// The annotator (annotator.cpp): ExecuTorch's composable TOSA quantizer — the PatternQuantizer
// over TOSA_QUANTIZER_SUPPORT_DICT, then SharedQspecQuantizer. `io` is the config of the graph
// inputs and outputs (nullopt: left float).
void annotate_graph(const Graph& g, const QuantizerConfigs& configs, const std::optional<QuantizationConfig>& io,
                    Annotations& annotations, std::vector<SkipReason>& skipped);

// Ops SharedQspecQuantizer makes share their neighbours' qparams (our IR's names).
bool is_shared_qspec_op(const std::string& op);
// Ops the PatternQuantizer annotates on their own (single-op patterns of the support dict).
bool is_single_op_pattern(const std::string& op);

}  // namespace eq::ethosu
