// Encoding of the xnnpack.subgraph program in node attributes, and the node's schema: its outputs
// are inferred by replaying the inner nodes' own schemas.
#include "program.h"

#include <string>

namespace eq::xnn {

Attrs encode(const Program& p) {
  Attrs a;
  a.set("n", static_cast<int64_t>(p.nodes.size()));
  for (size_t k = 0; k < p.nodes.size(); ++k) {
    const Node& n = p.nodes[k];
    const std::string pre = std::to_string(k);
    a.set(pre + ".op", n.op);
    a.set(pre + ".name", n.name);
    a.set(pre + ".in", std::vector<int64_t>(n.inputs.begin(), n.inputs.end()));
    a.set(pre + ".out", std::vector<int64_t>(n.outputs.begin(), n.outputs.end()));
    for (const auto& [name, v] : n.attrs.all()) a.set(pre + ":" + name, v);
  }
  a.set("outputs", std::vector<int64_t>(p.outputs.begin(), p.outputs.end()));
  a.set("batch_input", static_cast<int64_t>(p.batch_input));
  a.set("batch_axis", static_cast<int64_t>(p.batch_axis));
  return a;
}

Program decode(const Node& node) {
  const Attrs& a = node.attrs;
  const std::string who = node.describe() + ": ";
  Program p;
  p.num_inputs = static_cast<int>(node.inputs.size());
  int next = p.num_inputs;
  const int64_t n = a.i("n");
  check(n >= 1 && n < (1 << 20), who + "attribute 'n' must be a positive node count");
  std::vector<std::string> prefixes;
  for (int64_t k = 0; k < n; ++k) {
    Node inner;
    const std::string pre = std::to_string(k);
    inner.op = a.s(pre + ".op");
    inner.name = a.s(pre + ".name");
    inner.module = module_path_from_node_name(inner.name);
    for (int64_t v : a.ints(pre + ".in")) {
      check(v == kNoValue || (v >= 0 && v < next),
            who + "inner node " + pre + " reads local value " + std::to_string(v) + " before it is defined");
      inner.inputs.push_back(static_cast<int>(v));
    }
    for (int64_t v : a.ints(pre + ".out")) {
      check(v == next, who + "inner node " + pre + " must define local value " + std::to_string(next) + " next");
      inner.outputs.push_back(static_cast<int>(v));
      ++next;
    }
    p.nodes.push_back(std::move(inner));
    prefixes.push_back(pre + ":");
  }
  // Inner attributes: "<k>:<name>".
  for (const auto& [name, v] : a.all()) {
    const size_t colon = name.find(':');
    if (colon == std::string::npos) continue;
    const std::string k = name.substr(0, colon);
    size_t idx = 0;
    try {
      idx = static_cast<size_t>(std::stoul(k));
    } catch (const std::exception&) {
      throw Error(who + "malformed attribute '" + name + "'");
    }
    check(idx < p.nodes.size(), who + "attribute '" + name + "' names no inner node");
    p.nodes[idx].attrs.set(name.substr(colon + 1), v);
  }
  p.num_values = next;
  for (int64_t v : a.ints("outputs")) {
    check(v >= p.num_inputs && v < next, who + "output " + std::to_string(v) + " is not an inner node's output");
    p.outputs.push_back(static_cast<int>(v));
  }
  check(p.outputs.size() == node.outputs.size() || node.outputs.empty(),
        who + "attribute 'outputs' lists " + std::to_string(p.outputs.size()) + " values for " +
            std::to_string(node.outputs.size()) + " outputs");
  p.batch_input = static_cast<int>(a.i("batch_input", -1));
  p.batch_axis = static_cast<int>(a.i("batch_axis", -1));
  return p;
}

std::vector<ValueInfo> infer_locals(const Program& p, const Node& owner, const std::vector<ValueInfo>& inputs,
                                    int64_t batch) {
  check(static_cast<int>(inputs.size()) == p.num_inputs,
        owner.describe() + ": has " + std::to_string(inputs.size()) + " inputs, its program " +
            std::to_string(p.num_inputs));
  std::vector<ValueInfo> local(static_cast<size_t>(p.num_values));
  for (size_t i = 0; i < inputs.size(); ++i) local[i] = inputs[i];
  for (const Node& n : p.nodes) {
    std::vector<ValueInfo> ins;
    std::vector<bool> present;
    for (int v : n.inputs) {
      ins.push_back(v < 0 ? ValueInfo{} : local[static_cast<size_t>(v)]);
      present.push_back(v >= 0);
    }
    const std::vector<OutputInfo> outs = infer_outputs(n, ins, present, batch);
    for (size_t k = 0; k < outs.size(); ++k)
      local[static_cast<size_t>(n.outputs.at(k))] = ValueInfo{outs[k].first, outs[k].second, nullptr};
  }
  return local;
}

void register_subgraph_schema() {
  register_op_schema({kSubgraphOp, 1, 1 << 20, -1, [](const InferContext& ctx) {
                        const Program p = decode(ctx.node);
                        for (size_t i = 0; i < ctx.num_inputs(); ++i) ctx.in(i);  // all inputs required
                        const std::vector<ValueInfo> local = infer_locals(p, ctx.node, ctx.inputs, ctx.batch);
                        std::vector<OutputInfo> out;
                        for (int v : p.outputs) out.push_back({local[static_cast<size_t>(v)].dtype, local[static_cast<size_t>(v)].shape});
                        return out;
                      }});
}

}  // namespace eq::xnn
