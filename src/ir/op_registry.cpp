#include <map>
#include <mutex>

#include "edgequant/ops.h"
#include "ops/op_families.h"

namespace eq {
namespace {

std::map<std::string, OpSchema>& schemas() {
  static std::map<std::string, OpSchema> table;
  return table;
}

}  // namespace

const ValueInfo& InferContext::in(size_t i) const {
  if (!has(i)) throw error("input " + std::to_string(i) + " is required");
  return inputs[i];
}

Error InferContext::error(const std::string& msg) const { return Error(node.describe() + ": " + msg); }

void register_op_schema(OpSchema schema) {
  std::string name = schema.name;
  schemas()[name] = std::move(schema);
}

const OpSchema* find_op_schema(const std::string& name) {
  register_builtin_op_schemas();
  auto it = schemas().find(name);
  return it == schemas().end() ? nullptr : &it->second;
}

std::vector<std::string> registered_op_names() {
  register_builtin_op_schemas();
  std::vector<std::string> out;
  for (const auto& [k, v] : schemas()) out.push_back(k);
  return out;
}

std::vector<OutputInfo> infer_outputs(const Node& node, const std::vector<ValueInfo>& inputs,
                                      const std::vector<bool>& present, int64_t batch) {
  const OpSchema* schema = find_op_schema(node.op);
  if (!schema) throw Error(node.describe() + ": unknown op");
  const int n = static_cast<int>(inputs.size());
  if (n < schema->min_inputs || n > schema->max_inputs)
    throw Error(node.describe() + ": takes " + std::to_string(schema->min_inputs) +
                (schema->max_inputs != schema->min_inputs ? " to " + std::to_string(schema->max_inputs) : "") +
                " inputs, got " + std::to_string(n));
  InferContext ctx{node, inputs, present, batch};
  for (int i = 0; i < schema->min_inputs; ++i) ctx.require(ctx.has(static_cast<size_t>(i)), "input " + std::to_string(i) + " is required");
  std::vector<OutputInfo> out;
  try {
    out = schema->infer(ctx);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("node '", 0) == 0) throw;
    throw ctx.error(msg);
  }
  if (schema->num_outputs >= 0 && static_cast<int>(out.size()) != schema->num_outputs)
    throw Error(node.describe() + ": schema produced " + std::to_string(out.size()) + " outputs");
  if (out.size() != node.outputs.size() && !node.outputs.empty())
    throw Error(node.describe() + ": has " + std::to_string(node.outputs.size()) + " outputs, the op produces " +
                std::to_string(out.size()));
  return out;
}

void infer_node(Graph& g, const Node& node) {
  std::vector<ValueInfo> ins;
  std::vector<bool> present;
  for (int v : node.inputs) {
    if (v < 0) {
      ins.push_back({});
      present.push_back(false);
      continue;
    }
    const Value& val = g.value(v);
    ins.push_back({val.dtype, val.shape, val.constant ? &*val.constant : nullptr});
    present.push_back(true);
  }
  std::vector<OutputInfo> out = infer_outputs(node, ins, present, kBatch);
  for (size_t k = 0; k < out.size(); ++k) {
    Value& v = g.value(node.outputs[k]);
    v.dtype = out[k].first;
    v.shape = out[k].second;
  }
}

void infer_graph(Graph& g) {
  for (const Node& n : g.nodes) infer_node(g, n);
}

void register_builtin_op_schemas() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_linalg_schemas();
    register_elementwise_schemas();
    register_normalization_schemas();
    register_pooling_schemas();
    register_movement_schemas();
    register_quant_schemas();
    register_quantized_schemas();
    register_dynamic_quant_schemas();
  });
}

}  // namespace eq
