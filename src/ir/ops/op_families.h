// One registration function per family of op schemas (src/ir/ops/<family>.cpp).
#pragma once

namespace eq {
struct InferContext;
// conv / linear integer ops (static and dynamic): attribute w_scales holds 1 or Cout finite,
// positive scales for weight input 1 (which must not be a scalar).
void require_weight_scales(const InferContext& ctx);

void register_linalg_schemas();         // conv1d/2d, conv_transpose, linear, matmul
void register_elementwise_schemas();    // add/sub/mul/div/pow, unary activations
void register_normalization_schemas();  // softmax, log_softmax, layer_norm, batch_norm
void register_pooling_schemas();        // max/avg/adaptive pools, mean/sum/amax
void register_movement_schemas();       // reshape family, cat, slice, split, index_select, pad, upsample, clone
void register_quant_schemas();          // quantize/dequantize per tensor and per channel
void register_quantized_schemas();      // integer ops (quantized.*) emitted by lower_to_integer
void register_dynamic_quant_schemas();  // choose_qparams, dynamic integer conv/linear (dynamic_quant.cpp)
}  // namespace eq
