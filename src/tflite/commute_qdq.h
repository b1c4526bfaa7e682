// Pre-pass of the TFLite exporter: quantize/dequantize moved across data-movement ops at the float
// edges (see commute_qdq.cpp). Returns the number of moves.
#pragma once
#include "edgequant/graph.h"

namespace eq::tflite_export {
int commute_qdq_with_movement(Graph& g);
}
