#include "edgequant/passes.h"

#include "edgequant/kernel.h"

namespace eq {
namespace {

// Q/DQ nodes on constant weights are the quantized model's structure, not arithmetic to fold.
bool never_fold(const std::string& op) { return op.rfind("quantized_decomposed.", 0) == 0; }

}  // namespace

bool fold_node(Graph& g, int node_index) {
  const Node& node = g.nodes.at(static_cast<size_t>(node_index));
  if (never_fold(node.op)) return false;
  std::vector<ValueInfo> ins;
  std::vector<bool> present;
  std::vector<const Tensor*> tensors;
  for (int v : node.inputs) {
    if (v < 0) {
      ins.push_back({});
      present.push_back(false);
      tensors.push_back(nullptr);
      continue;
    }
    if (!g.is_constant(v)) return false;
    const Tensor& t = *g.value(v).constant;
    ins.push_back({t.dtype(), t.shape(), &t});
    present.push_back(true);
    tensors.push_back(&t);
  }
  bool produced_elsewhere = false;
  for (int v : node.outputs) produced_elsewhere = produced_elsewhere || g.value(v).producer != node_index;
  if (produced_elsewhere) return false;  // already folded
  const KernelFactory* factory = find_kernel(node.op);
  if (!factory) return false;
  std::vector<OutputInfo> outs = infer_outputs(node, ins, present, kBatch);
  for (const auto& o : outs)
    if (!shape_is_static(o.second)) return false;
  std::vector<Tensor> results;
  for (const auto& o : outs) results.emplace_back(o.first, o.second);
  KernelCreateInfo info{node, ins, present, outs, 1};
  std::unique_ptr<OpKernel> kernel = (*factory)(info);
  KernelContext ctx{node, tensors, {}};
  for (Tensor& r : results) ctx.outputs.push_back(&r);
  kernel->run(ctx);
  for (size_t k = 0; k < results.size(); ++k) {
    Value& out = g.value(node.outputs[k]);
    out.dtype = results[k].dtype();
    out.shape = results[k].shape();
    out.constant = std::move(results[k]);
    out.producer = -1;
  }
  return true;
}

int fold_constants(Graph& g) {
  int folded = 0;
  for (size_t n = 0; n < g.nodes.size(); ++n) folded += fold_node(g, static_cast<int>(n));
  // Drop every node whose outputs are constants now: folded here, or earlier by the importer.
  std::vector<int> remap(g.nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    bool detached = !g.nodes[n].outputs.empty();
    for (int v : g.nodes[n].outputs) detached = detached && g.value(v).producer != static_cast<int>(n);
    if (detached) continue;
    remap[n] = static_cast<int>(kept.size());
    kept.push_back(std::move(g.nodes[n]));
  }
  g.nodes = std::move(kept);
  for (Value& v : g.values)
    if (v.producer >= 0) v.producer = remap[static_cast<size_t>(v.producer)];
  return folded;
}

int remove_dead_code(Graph& g) {
  const size_t before = g.nodes.size();
  g.remove_dead();
  return static_cast<int>(before - g.nodes.size());
}

int PassManager::run(Graph& g, int max_rounds) const {
  int total = 0;
  for (int round = 0; round < max_rounds; ++round) {
    int changed = 0;
    for (const Pass& p : passes_) changed += p.run(g);
    total += changed;
    if (!changed) break;
  }
  return total;
}

void run_default_passes(Graph& g) {
  PassManager pm;
  pm.add({"fold_constants", fold_constants}).add({"remove_dead_code", remove_dead_code});
  pm.run(g);
}

}  // namespace eq
