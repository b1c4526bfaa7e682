// The graph IR. Values and nodes live in vectors and refer to each other by index, so a Graph is
// a plain value: copying it is cheap (constant tensors share storage) and passes can build a new
// graph from an old one. Ops carry ATen-style names (aten.conv2d.default, ...); see docs/ops.md.
//
// Invariant kept by every producer of a Graph: `nodes` is in topological order (call sort()
// after edits that may break it).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "edgequant/attrs.h"
#include "edgequant/tensor.h"

namespace eq {

inline constexpr int kNoValue = -1;  // an omitted optional input

struct Value {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;                     // may hold kBatch
  int producer = -1;               // node index, -1 for graph inputs and constants
  std::optional<Tensor> constant;  // set for initializers and folded values
};

struct Node {
  std::string name;          // as in the source model (PyTorch: /features/1/conv/conv.0/Conv)
  std::string op;            // ATen-style name
  std::vector<int> inputs;   // value indices, kNoValue for an omitted optional input
  std::vector<int> outputs;  // value indices
  Attrs attrs;
  std::string module;        // module path (features.1.conv.0), from the name

  // "node '/features/0/Conv' (aten.conv2d.default)": the prefix of every error about a node.
  std::string describe() const;
};

class Graph {
 public:
  std::vector<Value> values;
  std::vector<Node> nodes;
  std::vector<int> inputs;   // value indices of the model inputs, in order
  std::vector<int> outputs;  // value indices of the model outputs, in order
  std::string name;
  int64_t opset = 17;  // the ONNX opset the model came from (or will be written with)

  int add_value(std::string name, DType dtype, Shape shape);
  int add_constant(std::string name, Tensor t);
  // Appends a node; creates `num_outputs` output values named after the node. Returns the node index.
  int add_node(std::string op, std::string name, std::vector<int> inputs, int num_outputs, Attrs attrs = {});
  // A name not used by any value yet, derived from `base`.
  std::string unique_value_name(const std::string& base);

  const Value& value(int id) const { return values.at(static_cast<size_t>(id)); }
  Value& value(int id) { return values.at(static_cast<size_t>(id)); }
  bool is_constant(int id) const { return id >= 0 && value(id).constant.has_value(); }
  int find_value(const std::string& name) const;  // -1 if absent
  // consumers[v] = indices of nodes reading value v.
  std::vector<std::vector<int>> consumers() const;

  // Reorders nodes topologically (stable); throws eq::Error naming a node on a cycle.
  void sort();
  // Drops nodes whose outputs nobody reads and values nobody references; renumbers.
  void remove_dead();
  // Structural checks (indices in range, each value produced once, inputs defined before use).
  void validate() const;
  // Sum of constant element counts and bytes (parameter statistics).
  int64_t parameter_count() const;
  int64_t parameter_bytes() const;
};

// "/features/1/conv/conv.0/Conv" -> "features.1.conv.0"; "/f/f.0/f.0.0/Conv" -> "f.0.0"; "" for unscoped names.
std::string module_path_from_node_name(const std::string& node_name);

}  // namespace eq
