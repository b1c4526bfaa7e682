// edgequant partition Q.onnx --backend neutron|xnnpack|ethos-u [--target T] [--exclude OP ...] [--json]:
// which parts of a quantized (QDQ) model a backend delegates, and why each other node stays on
// the CPU.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>

#include "edgequant/ethos_u.h"
#include "edgequant/neutron.h"
#include "edgequant/quantize.h"
#include "edgequant/xnnpack.h"
#include "json_writer.h"
#include "verbs.h"

namespace eqcli {
namespace {

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : in) {
    size_t start = 0;
    while (start <= s.size()) {
      const size_t comma = s.find(',', start);
      const std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// "aten.conv2d.default ×2, aten.relu.default" for a partition's compute nodes.
std::string op_summary(const eq::Graph& g, const std::vector<int>& nodes) {
  std::map<std::string, int> count;
  std::vector<std::string> order;
  for (int n : nodes) {
    const std::string& op = g.nodes[static_cast<size_t>(n)].op;
    if (count[op]++ == 0) order.push_back(op);
  }
  std::string s;
  for (const std::string& op : order) s += (s.empty() ? "" : ", ") + op + (count[op] > 1 ? " ×" + std::to_string(count[op]) : "");
  return s;
}

}  // namespace

const Command& partition_command() {
  static const Command c{
      "partition",
      {"MODEL.onnx"},
      "Split a quantized (QDQ) model into backend-delegated partitions and CPU nodes, with reasons.",
      "Reads a QDQ model (the output of `edgequant quantize`) and applies the backend's per-op support\n"
      "rules. Neutron (NXP eIQ Neutron NPU): a node is delegated when it is quantized (int8 activations\n"
      "per tensor behind dequantize/quantize nodes, int8 weights, int32 bias, constant) and passes its\n"
      "op's rule for the target (docs/neutron.md lists every rule and its source); a relu, hardtanh,\n"
      "sigmoid or tanh right after a conv/linear is fused into it. Connected delegated nodes form a\n"
      "partition. For every compute node left on the CPU the reason is printed: the rule that failed,\n"
      "with the parameter and the limit. The summary is compute nodes delegated / total.\n"
      "Targets: imxrt700 (i.MX RT700). --exclude keeps an operator on the CPU (ExecuTorch's\n"
      "operators_not_to_delegate): aten.conv2d.default, aten::conv2d or conv2d; repeat it or give a\n"
      "comma-separated list (neutron only).\n"
      "XNNPACK: the model is lowered to integer ops first (what `run` executes), then every maximal\n"
      "convex run of ops libxnnpack supports becomes one delegate; nodes are those of the integer graph.\n"
      "Ethos-U (--target ethos-u55-128 default, ethos-u55-32..256, ethos-u65-256/512, ethos-u85-128..2048):\n"
      "TOSA INT-profile support plus the target's Vela constraints (docs/ethos_u.md).\n"
      "--json prints one JSON object: model, backend, target {name, description, num_macs},\n"
      "operators_not_to_delegate, partitions [{id, nodes, compute_nodes [{node, op}]}],\n"
      "nodes [{node, op, delegated, partition, reason}], summary {compute_nodes, delegated, cpu, share}.",
      {{"--backend", "", "NAME", "neutron | xnnpack | ethos-u"},
       {"--target", "", "TARGET", "neutron: imxrt700 (default); ethos-u: ethos-u55-128 (default), ..."},
       {"--exclude", "", "OP", "an operator never delegated (repeatable; comma-separated lists too)", true},
       {"--json", "", "", "print one JSON object instead of the summary"}},
  };
  return c;
}

int run_partition(const Args& args) {
  const std::string model_path = args.positionals()[0];
  if (!args.has("--backend")) throw UsageError("partition needs --backend neutron|xnnpack|ethos-u");
  const std::string backend = *args.get("--backend");
  if (backend != "neutron" && backend != "xnnpack" && backend != "ethos-u")
    throw UsageError("unknown --backend '" + backend + "' (neutron, xnnpack, ethos-u)");
  const std::vector<std::string> exclude = split_commas(args.get_all("--exclude"));
  if (!exclude.empty() && backend != "neutron") throw UsageError("--exclude applies to --backend neutron");
  if (args.has("--target") && backend == "xnnpack") throw UsageError("--target does not apply to --backend xnnpack");
  const bool json = args.has("--json");

  // What the result is about: the target's name, a description and (Neutron) its MAC count.
  std::string target_name, target_description;
  int num_macs = 0;
  eq::NeutronCompileSpec spec;
  std::optional<eq::EthosUCompileSpec> ethos;
  try {
    if (backend == "neutron") {
      spec = eq::generate_neutron_compile_spec(args.get("--target", "imxrt700"), exclude);
      target_name = spec.target.name;
      target_description = spec.target.description;
      num_macs = spec.target.num_macs;
    } else if (backend == "ethos-u") {
      ethos = eq::EthosUCompileSpec(args.get("--target", "ethos-u55-128"));
      target_name = ethos->target;
      target_description = "Arm Ethos-U" + ethos->family.substr(1) + ", " + std::to_string(ethos->macs) + " MACs/cycle (" +
                           ethos->tosa_spec + ")";
      num_macs = ethos->macs;
    } else {
      target_name = "cpu";
      target_description = "libxnnpack on this CPU";
    }
  } catch (const eq::Error& e) {
    throw UsageError(e.what());  // a wrong --target or --exclude is a command-line mistake
  }
  eq::Graph g = load_model(model_path);
  eq::PartitionResult r;
  int xnnpack_partitions = -1;
  if (backend == "neutron") {
    r = eq::NeutronPartitioner(spec).partition(g);
  } else if (backend == "ethos-u") {
    r = eq::EthosUPartitioner(*ethos).partition(g);
  } else {
    // XNNPACK delegates integer ops: lower first, then report on the lowered graph's nodes.
    eq::lower_to_integer(g);
    eq::Graph partitioned = g;
    const eq::XnnpackPartitionReport rep = eq::partition_for_xnnpack(partitioned);
    xnnpack_partitions = rep.partitions;
    std::map<int, std::string> cpu(rep.cpu_nodes_with_reason.begin(), rep.cpu_nodes_with_reason.end());
    for (int n = 0; n < static_cast<int>(g.nodes.size()); ++n) {
      const eq::Node& nd = g.nodes[static_cast<size_t>(n)];
      if (eq::is_quantize_node(nd) || eq::is_dequantize_node(nd)) continue;
      eq::NodeDecision d;
      d.node = n;
      d.delegated = std::find(rep.delegated_nodes.begin(), rep.delegated_nodes.end(), n) != rep.delegated_nodes.end();
      if (!d.delegated) d.reason = cpu.count(n) ? cpu[n] : "not supported by libxnnpack";
      r.decisions.push_back(d);
    }
  }
  bool qdq = false;
  for (const eq::Node& n : g.nodes) qdq |= eq::is_quantize_node(n) || eq::is_dequantize_node(n);

  auto compute_of = [&](const std::vector<int>& part) {
    std::vector<int> c;
    for (int n : part)
      if (r.decision_for(n)) c.push_back(n);
    return c;
  };
  const int64_t total = r.compute_nodes(), delegated = r.delegated_nodes();

  if (json) {
    JsonWriter j;
    j.begin_object()
        .field("model", model_path)
        .field("backend", backend)
        .key("target")
        .begin_object()
        .field("name", target_name)
        .field("description", target_description)
        .field("num_macs", num_macs)
        .end_object()
        .key("operators_not_to_delegate")
        .begin_array();
    for (const std::string& op : spec.operators_not_to_delegate) j.value(op);
    j.end_array().key("partitions").begin_array();
    for (size_t p = 0; p < r.partitions.size(); ++p) {
      j.begin_object().field("id", static_cast<int64_t>(p)).field("nodes", static_cast<int64_t>(r.partitions[p].size()));
      j.key("compute_nodes").begin_array();
      for (int n : compute_of(r.partitions[p]))
        j.begin_object().field("node", g.nodes[static_cast<size_t>(n)].name).field("op", g.nodes[static_cast<size_t>(n)].op).end_object();
      j.end_array().end_object();
    }
    j.end_array().key("nodes").begin_array();
    for (const eq::NodeDecision& d : r.decisions) {
      const eq::Node& n = g.nodes[static_cast<size_t>(d.node)];
      j.begin_object().field("node", n.name).field("op", n.op).field("delegated", d.delegated);
      if (d.delegated) {
        j.field("partition", static_cast<int64_t>(d.partition)).key("reason").null();
      } else {
        j.key("partition").null().field("reason", d.reason);
      }
      j.end_object();
    }
    j.end_array()
        .key("summary")
        .begin_object()
        .field("compute_nodes", total)
        .field("delegated", delegated)
        .field("cpu", total - delegated)
        .field("share", r.delegated_share())
        .end_object()
        .end_object();
    std::puts(j.str().c_str());
    return 0;
  }

  std::printf("model       %s\n", model_path.c_str());
  std::printf("backend     %s, target %s (%s)\n", backend.c_str(), target_name.c_str(), target_description.c_str());
  if (!spec.operators_not_to_delegate.empty()) {
    std::string ex;
    for (const std::string& op : spec.operators_not_to_delegate) ex += (ex.empty() ? "" : ", ") + op;
    std::printf("excluded    %s\n", ex.c_str());
  }
  if (!qdq) std::printf("note        the model has no quantize/dequantize nodes: quantize it first (edgequant quantize)\n");
  std::printf("partitions  %zu\n", xnnpack_partitions >= 0 ? static_cast<size_t>(xnnpack_partitions) : r.partitions.size());
  for (size_t p = 0; p < r.partitions.size(); ++p) {
    const std::vector<int> c = compute_of(r.partitions[p]);
    std::printf("  #%zu  %zu compute nodes (%s) + %zu quantize/dequantize\n", p, c.size(), op_summary(g, c).c_str(),
                r.partitions[p].size() - c.size());
  }
  std::printf("on CPU      %lld compute node%s\n", static_cast<long long>(total - delegated), total - delegated == 1 ? "" : "s");
  for (const eq::NodeDecision& d : r.decisions) {
    if (d.delegated) continue;
    const eq::Node& n = g.nodes[static_cast<size_t>(d.node)];
    std::printf("  '%s' (%s): %s\n", n.name.c_str(), n.op.c_str(), d.reason.c_str());
  }
  std::printf("delegated   %lld / %lld compute nodes (%.1f%%)\n", static_cast<long long>(delegated),
              static_cast<long long>(total), 100.0 * r.delegated_share());
  return 0;
}

}  // namespace eqcli
