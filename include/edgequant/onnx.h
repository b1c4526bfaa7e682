// ONNX import and export. Import maps ONNX ops (opsets 11 to 21) onto the ATen-named IR, folds
// Shape/Cast/Range chains to constants, and infers shapes with a symbolic batch. Export writes
// the IR back as ONNX so that import -> export -> import gives identical outputs.
#pragma once
#include <map>
#include <string>

#include "edgequant/graph.h"

namespace eq::onnx {

struct LoadOptions {
  // Overrides for input shapes by input name (e.g. to fix symbolic dimensions).
  std::map<std::string, Shape> input_shapes;
};

Graph load(const std::string& path, const LoadOptions& options = {});
// `origin` names the source in error messages.
Graph load_from_bytes(const void* data, size_t size, const std::string& origin, const LoadOptions& options = {});
// Writes atomically (temporary file, then rename).
void save(const Graph& g, const std::string& path);
std::string save_to_bytes(const Graph& g);
// Reads a serialized TensorProto file (the ONNX node tests' input_0.pb, output_0.pb).
Tensor read_tensor_proto(const std::string& path);

}  // namespace eq::onnx
