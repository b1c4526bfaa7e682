// State of one ONNX import and the per-node helper the op importers use (internal to src/onnx).
#pragma once
#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgequant/graph.h"

namespace eq::onnx_impl {

struct ImportState {
  Graph g;
  std::unordered_map<std::string, int> env;  // ONNX tensor name -> value index
  std::set<std::string> used_names;          // ONNX names read by some node or graph output
  std::string base_dir;                      // for external data; empty when loading from bytes
};

// One ONNX node being converted. Helpers throw eq::Error; plain messages are prefixed with the node
// by the caller.
class NodeImport {
 public:
  NodeImport(ImportState& st, const ::onnx::NodeProto& proto, std::string name, int64_t opset);

  Graph& g;
  const ::onnx::NodeProto& proto;
  const std::string name;  // ONNX node name (generated when empty)
  const std::string& op_type;
  const int64_t opset;

  // --- inputs ---
  size_t num_inputs() const { return static_cast<size_t>(proto.input_size()); }
  bool has_input(size_t i) const { return i < num_inputs() && !proto.input(static_cast<int>(i)).empty(); }
  int input(size_t i) const;           // throws when absent
  int input_or_none(size_t i) const;   // kNoValue when absent
  const Value& value(int id) const { return g.value(id); }
  const Shape& shape(size_t i) const { return g.value(input(i)).shape; }
  int64_t rank(size_t i) const { return static_cast<int64_t>(shape(i).size()); }
  DType dtype(size_t i) const { return g.value(input(i)).dtype; }
  const Tensor* constant(size_t i) const;  // nullptr when absent or not constant
  bool all_inputs_constant() const;
  const Tensor& require_constant(size_t i, const std::string& what) const;
  std::vector<int64_t> const_ints(size_t i, const std::string& what) const;

  // --- outputs ---
  size_t num_outputs() const { return static_cast<size_t>(proto.output_size()); }
  bool output_used(size_t k) const;
  // Throws unless outputs k.. are absent or unread.
  void require_outputs_unused_from(size_t k) const;

  // --- attributes ---
  const ::onnx::AttributeProto* attr(const std::string& n) const;
  bool has_attr(const std::string& n) const { return attr(n) != nullptr; }
  int64_t attr_i(const std::string& n, int64_t fallback) const;
  double attr_f(const std::string& n, double fallback) const;
  std::string attr_s(const std::string& n, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& n, const std::vector<int64_t>& fallback) const;
  std::vector<double> attr_floats(const std::string& n, const std::vector<double>& fallback) const;
  const ::onnx::TensorProto* attr_tensor(const std::string& n) const;

  // --- building ---
  // Appends an IR node (named after the ONNX node, suffixed after the first), infers its shapes and
  // folds it when its inputs are constants. Returns the node index.
  int emit(const std::string& op, std::vector<int> inputs, Attrs attrs = {}, int num_outputs = 1);
  // emit() for a single-output op; returns the output value.
  int emit1(const std::string& op, std::vector<int> inputs, Attrs attrs = {});
  int add_constant(Tensor t, const std::string hint = "");  // hint by value: it may name a value
  // Makes ONNX output k refer to `value` (an alias when the value existed before this node).
  void bind(size_t k, int value);

  // Throws unless every entry is within ±2^31 (kBatchToken allowed): keeps attribute arithmetic
  // in shape inference far from int64 overflow.
  const std::vector<int64_t>& check_small(const std::vector<int64_t>& v, const std::string& what) const;

  Error error(const std::string& msg) const;
  Error unsupported(const std::string& why = "") const;
  void require(bool cond, const std::string& msg) const {
    if (!cond) throw error(msg);
  }

 private:
  ImportState& st_;
  int emitted_ = 0;
  size_t first_value_ = 0;  // values at index >= this were created by this node
};

using OpImporter = std::function<void(NodeImport&)>;
using OpImporterTable = std::map<std::string, OpImporter>;

// One registration function per family (op_importers_*.cpp).
void register_elementwise_importers(OpImporterTable& t);
void register_nn_importers(OpImporterTable& t);
void register_shape_importers(OpImporterTable& t);
void register_misc_importers(OpImporterTable& t);
const OpImporter* find_op_importer(const std::string& op_type);

// "shape arithmetic on the batch dimension at node X; ..." when any constant input holds kBatchToken.
void reject_batch_token_arithmetic(const NodeImport& n);

// Post-import fusions (fusions.cpp). Return the number of rewrites.
int fuse_matmul_linear(Graph& g);
int fuse_gelu(Graph& g);

}  // namespace eq::onnx_impl
