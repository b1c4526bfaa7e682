// edgequant inspect MODEL.onnx [--json]: what a model is made of, by ATen op name.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "json_writer.h"
#include "verbs.h"

namespace eqcli {
namespace {

struct OpCount {
  std::string op;
  int64_t count;
};

std::vector<OpCount> op_counts(const eq::Graph& g) {
  std::map<std::string, int64_t> m;
  for (const eq::Node& n : g.nodes) ++m[n.op];
  std::vector<OpCount> v;
  for (const auto& [op, c] : m) v.push_back({op, c});
  std::stable_sort(v.begin(), v.end(), [](const OpCount& a, const OpCount& b) { return a.count > b.count; });
  return v;
}

std::string value_shapes(const eq::Graph& g, const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : " ") + eq::shape_str(g.value(id).shape);
  return s;
}

void json_value(JsonWriter& j, const eq::Value& v) {
  j.begin_object().field("name", v.name).field("dtype", std::string(eq::dtype_name(v.dtype))).field("shape", eq::shape_str(v.shape));
  j.key("dims").begin_array(true);
  for (int64_t d : v.shape) j.value(d);
  j.end_array().end_object();
}

// Left-aligned table columns.
void print_table(const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], r[c].size());
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t c = 0; c < r.size(); ++c) {
      line += " " + r[c];
      if (c + 1 < r.size()) line += std::string(w[c] - r[c].size() + 1, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::puts(line.c_str());
  }
}

}  // namespace

const Command& inspect_command() {
  static const Command c{
      "inspect",
      {"MODEL.onnx"},
      "Show a model's inputs and outputs, op counts by ATen name, parameters and every node.",
      "Shapes show the symbolic batch as N. Module paths come from the node names PyTorch's exporter\n"
      "writes (/features/1/conv/conv.0/Conv is module features.1.conv.0).\n"
      "--json prints everything as one JSON object: model, opset, inputs, outputs (name, dtype, shape,\n"
      "dims with -1 for the batch), node_count, parameter_count, parameter_bytes, op_counts (op -> count,\n"
      "most frequent first) and nodes (name, op, module, outputs).",
      {{"--json", "", "", "print one JSON object instead of the report"}},
  };
  return c;
}

int run_inspect(const Args& args) {
  const std::string path = args.positionals()[0];
  const eq::Graph g = load_model(path);
  const std::vector<OpCount> counts = op_counts(g);
  struct stat st {};
  const int64_t file_bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;

  if (args.has("--json")) {
    JsonWriter j(2);
    j.begin_object().field("model", path).field("graph_name", g.name).field("file_bytes", file_bytes).field("opset", g.opset);
    j.key("inputs").begin_array();
    for (int v : g.inputs) json_value(j, g.value(v));
    j.end_array().key("outputs").begin_array();
    for (int v : g.outputs) json_value(j, g.value(v));
    j.end_array();
    j.field("node_count", static_cast<int64_t>(g.nodes.size()))
        .field("parameter_count", g.parameter_count())
        .field("parameter_bytes", g.parameter_bytes());
    j.key("op_counts").begin_object();
    for (const OpCount& c : counts) j.field(c.op, c.count);
    j.end_object().key("nodes").begin_array();
    for (const eq::Node& n : g.nodes) {
      j.begin_object().field("name", n.name).field("op", n.op).field("module", n.module);
      j.key("inputs").begin_array(true);
      for (int v : n.inputs) {
        if (v < 0) j.null();
        else j.value(g.value(v).name);
      }
      j.end_array().key("outputs").begin_array();
      for (int v : n.outputs) json_value(j, g.value(v));
      j.end_array().end_object();
    }
    j.end_array().end_object();
    std::puts(j.str().c_str());
    return 0;
  }

  std::printf("model       %s (%s, opset %lld%s)\n", path.c_str(), file_bytes >= 0 ? human_bytes(static_cast<double>(file_bytes)).c_str() : "?",
              static_cast<long long>(g.opset), g.name.empty() ? "" : (", graph '" + g.name + "'").c_str());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    const eq::Value& v = g.value(g.inputs[i]);
    std::printf("%-11s %s %s %s\n", i == 0 ? "inputs" : "", v.name.c_str(), std::string(eq::dtype_name(v.dtype)).c_str(),
                eq::shape_str(v.shape).c_str());
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const eq::Value& v = g.value(g.outputs[i]);
    std::printf("%-11s %s %s %s\n", i == 0 ? "outputs" : "", v.name.c_str(), std::string(eq::dtype_name(v.dtype)).c_str(),
                eq::shape_str(v.shape).c_str());
  }
  std::printf("nodes       %zu\n", g.nodes.size());
  std::printf("parameters  %s (%s)\n", thousands(g.parameter_count()).c_str(),
              human_bytes(static_cast<double>(g.parameter_bytes())).c_str());

  std::printf("\nops by count\n");
  std::vector<std::vector<std::string>> rows;
  for (const OpCount& c : counts) rows.push_back({std::to_string(c.count), c.op});
  print_table(rows);

  std::printf("\nnodes\n");
  rows.clear();
  rows.push_back({"#", "name", "op", "module", "output"});
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const eq::Node& n = g.nodes[i];
    rows.push_back({std::to_string(i), n.name.empty() ? "-" : n.name, n.op, n.module.empty() ? "-" : n.module, value_shapes(g, n.outputs)});
  }
  print_table(rows);
  return 0;
}

}  // namespace eqcli
