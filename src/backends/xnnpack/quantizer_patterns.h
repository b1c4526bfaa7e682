// XNNPACKQuantizer's pattern table and propagate_annotation (ExecuTorch 1.5.1,
// backends/xnnpack/quantizer/xnnpack_quantizer_utils.py), on the shared pattern library.
#pragma once
#include <functional>
#include <vector>

#include "edgequant/quantizer.h"
#include "quant/patterns/annotation_context.h"

namespace eq::xnnpack_quant {

// Whether a node belongs to the pass being run. ExecuTorch applies its filter to every compute
// node of a fused partition (conv and its relu), not only to the anchor run_patterns checks.
using NodeFilter = std::function<bool(const Graph&, int)>;

// The patterns of one pass, in SUPPORTED_PATTERNS order; `selected` is that pass's filter.
std::vector<quant::Pattern> xnnpack_patterns(const NodeFilter& selected);

// After every pass: share-only ops (relu, pools, reshapes...) whose input node has an output spec
// take that spec (Shared with the producer's output) on their input edge and output, in graph
// order so that chains propagate. `held_float` nodes (a nullopt override) are left alone.
void propagate_annotation(quant::AnnotationContext& ctx, const std::function<bool(int)>& held_float);

bool is_dynamic_config(const QuantizationConfig& c);

}  // namespace eq::xnnpack_quant
