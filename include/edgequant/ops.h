// Op schemas: for each ATen-style op name, how many inputs and outputs it takes and how it infers
// output dtypes and shapes from its inputs and attributes (checking the attributes on the way).
// Shape inference runs twice: at import with the symbolic batch (kBatch in shapes), and in the
// executor with the real batch. One function serves both: `batch` says which.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "edgequant/graph.h"

namespace eq {

struct ValueInfo {
  DType dtype = DType::f32;
  Shape shape;
  const Tensor* constant = nullptr;  // the value, when it is a constant
};

struct InferContext {
  const Node& node;
  std::vector<ValueInfo> inputs;  // one per node input; an omitted optional input has present=false
  std::vector<bool> present;
  int64_t batch = kBatch;         // the concrete batch size, or kBatch while symbolic

  size_t num_inputs() const { return inputs.size(); }
  bool has(size_t i) const { return i < present.size() && present[i]; }
  const ValueInfo& in(size_t i) const;  // throws eq::Error if absent
  // An eq::Error whose message starts with the node's description.
  Error error(const std::string& msg) const;
  void require(bool cond, const std::string& msg) const { if (!cond) throw error(msg); }
};

using OutputInfo = std::pair<DType, Shape>;
using InferFn = std::function<std::vector<OutputInfo>(const InferContext&)>;

struct OpSchema {
  std::string name;
  int min_inputs = 1;
  int max_inputs = 1;
  int num_outputs = 1;  // -1: variable (given by the node)
  InferFn infer;
};

void register_op_schema(OpSchema schema);
const OpSchema* find_op_schema(const std::string& name);  // nullptr if unknown
std::vector<std::string> registered_op_names();

// Infers outputs of `node` in `g` from the current input values; writes dtypes and shapes to the
// output values. Throws eq::Error (naming the node) on invalid attributes or shapes.
void infer_node(Graph& g, const Node& node);
// Infers every node in order.
void infer_graph(Graph& g);
// Pure form used by the executor: inputs given, outputs returned.
std::vector<OutputInfo> infer_outputs(const Node& node, const std::vector<ValueInfo>& inputs,
                                      const std::vector<bool>& present, int64_t batch);

// Registers every built-in schema once (idempotent). Called by the importer and executor.
void register_builtin_op_schemas();

}  // namespace eq
