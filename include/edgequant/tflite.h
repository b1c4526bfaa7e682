// Fully-integer TFLite export: the input of NXP's Neutron converter, Arm's Vela and the TFLite
// interpreter (LiteRT).
//
//   eq::Graph q = eq::convert_pt2e(prepared);      // or eq::onnx::load("model.qdq.onnx")
//   eq::tflite::ExportReport report;
//   eq::tflite::save(q, "model.tflite", {}, &report);
//
// The graph is lowered first (lower_to_integer on a copy), so the file computes what our integer
// runtime computes: every quantized.* op maps to the TFLite builtin whose reference arithmetic the
// runtime implements (docs/tflite.md lists the mapping and the few places where the two differ by
// at most one step of the output scale). Layout: activations become NHWC (conv2d/pool tensors) or
// [N, 1, L, C] (conv1d) and the exporter keeps track of each tensor's permutation, so movement ops
// (permute, reshape, flatten) cost a TRANSPOSE only where the memory order really changes.
// Model inputs of rank 4 are NHWC (TFLite's convention; [N, 28, 28, 1] for a [N, 1, 28, 28] ONNX
// input), everything else keeps the ONNX shape. The batch dimension is written as 1, with -1 in
// shape_signature where the source model's batch is symbolic.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "edgequant/graph.h"

namespace eq::tflite {

struct ExportOptions {
  // Model inputs and outputs in float32, with QUANTIZE / DEQUANTIZE at the edges (the TFLite
  // converter's inference_input_type=float). Default: int8 (int16 for 16x8) inputs and outputs
  // carrying the quantization of the first/last quantized tensor.
  bool float_io = false;
  // An op with no integer TFLite equivalent stays float between DEQUANTIZE and QUANTIZE (an
  // island the NPU compilers leave on the CPU). Default: such an op is an eq::Error naming it.
  bool float_fallback = false;
  std::string description = "edgequant";
};

// What the exporter wrote.
struct ExportReport {
  size_t operators = 0;                          // TFLite operators in the subgraph
  std::map<std::string, int> builtins;          // builtin name (CONV_2D, ...) -> count
  size_t float_operators = 0;                    // operators computing in float (islands, float IO edges excluded)
  std::vector<std::string> float_nodes;          // IR nodes kept float (float_fallback), "name (op)"
  size_t transposes = 0;                         // TRANSPOSE ops the layout change needed
  size_t bytes = 0;                              // file size
};

// Serialises a quantized graph (QDQ from convert_pt2e or a QDQ ONNX model; lowered or not) as a
// TFLite flatbuffer. Deterministic: the same graph and options give the same bytes. Throws
// eq::Error naming the node for an op, dtype or attribute TFLite cannot express.
std::string export_to_bytes(const Graph& g, const ExportOptions& options = {}, ExportReport* report = nullptr);

// export_to_bytes written atomically (temporary file, then rename): no partial file on error.
void save(const Graph& g, const std::string& path, const ExportOptions& options = {}, ExportReport* report = nullptr);

// The FlatBuffers verifier over our TFLite schema subset (identifier "TFL3", offsets, vectors,
// strings, unions in bounds), plus TFLite's own structural rules: every operator's opcode index,
// tensor indices and every tensor's buffer index in range. Returns "" when valid, else a
// one-line reason.
std::string verify(const void* data, size_t size);

}  // namespace eq::tflite
