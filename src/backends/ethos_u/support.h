// Internal to the Ethos-U partitioner: which compute nodes of a QDQ graph the backend takes, one
// rule per question, each returning "" (supported) or the reason.
#pragma once
#include <string>

#include "edgequant/ethos_u.h"

namespace eq::ethosu {

// Quantized as the TOSA INT profile needs: every float input from a dequantize (int8 or, with the
// int16 extension, int16 activations; int8 weights; int32 bias; per channel only weights and bias),
// the output read only by quantize nodes of the same kinds.
// A conv/linear with a fused activation (`output_fused`: its output goes straight into the
// activation, whose `fused_input` slot then needs no dequantize) is checked as one unit.
std::string check_quantized(const Graph& g, int node, bool output_fused = false, int fused_input = -1);
// The relu / hardtanh reading conv/linear `node`'s output alone, which the Arm backend folds into
// it (FuseQuantizedActivationPass); -1 if none.
int fused_activation(const Graph& g, int node, const std::vector<std::vector<int>>& consumers);
// The op is one the Arm backend lowers to TOSA (INT profile), with its TOSA-level checks.
std::string check_tosa_op(const Graph& g, int node);
// The target's restrictions: U55 / U65 (the "+u55" TOSA subset) as ExecuTorch's
// ethos_u55_support.py, convolution_support.py and pool_2d_support.py check Vela's constraints.
std::string check_target(const Graph& g, int node, const EthosUCompileSpec& spec);
// Ops the TOSA lowering removes (reshape, flatten, clone, no-op squeeze/unsqueeze/permute): a
// partition of only these is rejected.
bool is_no_compute(const Graph& g, int node);

}  // namespace eq::ethosu
