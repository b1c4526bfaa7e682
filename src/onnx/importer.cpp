// ONNX ModelProto -> Graph: model checks, initializers, inputs, node order, per-node conversion.
#include <algorithm>
#include <fstream>
#include <limits>
#include <queue>
#include <sstream>
#include <unordered_set>

#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "import_context.h"
#include "tensor_proto.h"

namespace eq::onnx {
namespace {

using namespace eq::onnx_impl;

constexpr int64_t kMinOpset = 11, kMaxOpset = 21;

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), "cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  check(!in.bad(), "cannot read '" + path + "'");
  return ss.str();
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

int64_t default_opset(const ::onnx::ModelProto& m, const std::string& origin) {
  int64_t opset = -1;
  for (const auto& o : m.opset_import())
    if (is_default_domain(o.domain())) opset = o.version();
  check(opset >= 0, origin + ": the model imports no default-domain (ai.onnx) opset");
  check(opset >= kMinOpset && opset <= kMaxOpset, origin + ": opset " + std::to_string(opset) + " is not supported (supported: " +
                                                       std::to_string(kMinOpset) + " to " + std::to_string(kMaxOpset) + ")");
  return opset;
}

void add_inputs(ImportState& st, const ::onnx::GraphProto& graph, const LoadOptions& options) {
  for (const auto& in : graph.input()) {
    const std::string& name = in.name();
    if (st.env.count(name)) continue;  // an initializer listed as an input: a constant
    check(!name.empty(), "graph input with an empty name");
    const std::string what = "input '" + name + "'";
    check(in.type().has_tensor_type(), what + ": only tensor inputs are supported");
    const auto& tt = in.type().tensor_type();
    const std::optional<DType> dt = dtype_from_onnx(tt.elem_type());
    check(dt.has_value(), what + ": element type " + onnx_type_name(tt.elem_type()) + " is not supported");
    Shape shape;
    if (auto it = options.input_shapes.find(name); it != options.input_shapes.end()) {
      shape = it->second;
      for (int64_t d : shape) check(d >= 0 || d == kBatch, what + ": invalid shape override " + shape_str(shape));
    } else {
      check(tt.has_shape(), what + ": has no shape; give one in LoadOptions.input_shapes");
      for (int i = 0; i < tt.shape().dim_size(); ++i) {
        const auto& d = tt.shape().dim(i);
        if (d.has_dim_value()) {
          check(d.dim_value() >= 0, what + ": negative dimension " + std::to_string(d.dim_value()));
          shape.push_back(d.dim_value());
        } else if (i == 0) {
          shape.push_back(kBatch);
        } else {
          throw Error(what + ": dimension " + std::to_string(i) + (d.has_dim_param() ? " ('" + d.dim_param() + "')" : "") +
                      " is symbolic; only dimension 0 (the batch) may be; fix it with LoadOptions.input_shapes");
        }
      }
    }
    int64_t numel = 1;
    for (int64_t d : shape)
      check(d == kBatch || (!__builtin_mul_overflow(numel, d, &numel) && numel <= (int64_t{1} << 40)),
            what + ": shape " + shape_str(shape) + " is too large");
    const int v = st.g.add_value(name, *dt, shape);
    st.g.inputs.push_back(v);
    st.env[name] = v;
  }
}

bool is_dequantize(const Graph& g, int v) {
  if (v < 0) return false;
  const int p = g.value(v).producer;
  return p >= 0 && g.nodes[static_cast<size_t>(p)].op.rfind("quantized_decomposed.dequantize", 0) == 0;
}

// A QDQ linear, linear(x, dequantize(w), dequantize(b)), is exported as Gemm(transB=1) on rank-2
// inputs and as Transpose + MatMul (+ Add) otherwise; its weight is not a constant, so the Gemm
// and MatMul importers produce permute(w, [1,0]) -> matmul (-> add). This folds that back into
// aten.linear.default when the weight comes from a dequantize, so a QDQ graph round-trips. The
// linear keeps the ONNX node's name (Gemm: the permute's, which import named first; MatMul: its
// own) and the ONNX output's name, which the permute's output may have taken first. Returns the
// number of rewrites.
int fuse_qdq_linear(ImportState& st) {
  Graph& g = st.g;
  const std::vector<std::vector<int>> cons = g.consumers();
  std::unordered_map<int, std::string> onnx_name;  // value -> an ONNX tensor name bound to it
  std::unordered_map<const void*, int> initializer_of;  // constant storage -> its initializer's value
  for (const auto& [name, v] : st.env) {
    onnx_name.emplace(v, name);
    if (g.is_constant(v) && g.value(v).constant->numel() > 0) initializer_of.emplace(g.value(v).constant->raw(), v);
  }
  std::vector<char> is_output(g.values.size(), 0);
  for (int v : g.outputs) is_output[static_cast<size_t>(v)] = 1;
  auto single_reader = [&](int v) {
    return !is_output[static_cast<size_t>(v)] && cons[static_cast<size_t>(v)].size() == 1 ? cons[static_cast<size_t>(v)][0] : -1;
  };
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != "aten.matmul.default" || g.nodes[i].outputs.empty() ||
        g.value(g.nodes[i].outputs[0]).producer != static_cast<int>(i))
      continue;
    const int x = g.nodes[i].inputs[0], wt = g.nodes[i].inputs[1];
    if (x < 0 || wt < 0 || g.value(x).dtype != DType::f32 || g.value(x).shape.size() < 2) continue;
    const int pi = g.value(wt).producer;
    if (pi < 0 || single_reader(wt) != static_cast<int>(i)) continue;
    const Node& perm = g.nodes[static_cast<size_t>(pi)];
    if (perm.op != "aten.permute.default" || perm.attrs.ints("dims", {}) != std::vector<int64_t>{1, 0}) continue;
    const int w = perm.inputs[0];
    if (!is_dequantize(g, w) || g.value(w).shape.size() != 2) continue;
    const int64_t out = g.value(w).shape[0];
    const std::string name = g.nodes[i].name == perm.name + "_1" ? perm.name : g.nodes[i].name;
    const int y = g.nodes[i].outputs[0];
    int target = static_cast<int>(i), bias = kNoValue;
    if (const int a = single_reader(y); a >= 0) {
      const Node& add = g.nodes[static_cast<size_t>(a)];
      if (add.op == "aten.add.Tensor" && add.inputs.size() == 2 && add.inputs[0] == y && add.inputs[1] != y) {
        const int b = add.inputs[1];
        const Value& bv = g.value(b);
        if (bv.dtype == DType::f32 && bv.shape == Shape{out} && (is_dequantize(g, b) || g.is_constant(b))) {
          target = a;
          bias = b;
          // A float bias of a Gemm was copied into a new constant (sharing storage, scaled by
          // beta = 1): use the initializer itself, with its name.
          if (g.is_constant(b) && bv.constant->numel() > 0)
            if (auto it = initializer_of.find(bv.constant->raw()); it != initializer_of.end()) {
              const Value& init = g.value(it->second);
              if (init.dtype == DType::f32 && init.shape == bv.shape) bias = it->second;
            }
        }
      }
    }
    Node& n = g.nodes[static_cast<size_t>(target)];
    n.op = "aten.linear.default";
    n.inputs = {x, w, bias};
    n.attrs = Attrs();
    n.name = name;
    n.module = module_path_from_node_name(name);
    infer_node(g, n);
    if (target != static_cast<int>(i)) g.value(y).producer = -1;  // the matmul is now dead
    const int fused_out = n.outputs[0];
    if (auto it = onnx_name.find(fused_out); it != onnx_name.end() && g.value(fused_out).name != it->second) {
      const int holder = g.find_value(it->second);
      if (holder == wt || holder == y) {  // a value about to die holds the name: take it over
        g.value(holder).name = g.unique_value_name(it->second + "/unfused");
        g.value(fused_out).name = it->second;
      }
    }
    ++count;
  }
  return count;
}

std::string node_name(const ::onnx::NodeProto& n, int index) {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
}

// Node indices in a topological order (stable for already ordered models).
std::vector<int> topo_order(const ::onnx::GraphProto& graph, const ImportState& st, const std::vector<std::string>& names) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i)
    for (const std::string& o : graph.node(i).output()) {
      if (o.empty()) continue;
      check(!st.env.count(o), "node '" + names[static_cast<size_t>(i)] + "': output '" + o + "' is also an initializer or graph input");
      check(producer.emplace(o, i).second, "node '" + names[static_cast<size_t>(i)] + "': output '" + o + "' is produced by two nodes");
    }
  std::vector<int> pending(static_cast<size_t>(n), 0);
  std::vector<std::vector<int>> users(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    for (const std::string& in : graph.node(i).input()) {
      if (in.empty() || st.env.count(in)) continue;
      auto it = producer.find(in);
      check(it != producer.end(), "node '" + names[static_cast<size_t>(i)] + "': input '" + in +
                                      "' is not produced by any node, initializer or graph input");
      ++pending[static_cast<size_t>(i)];
      users[static_cast<size_t>(it->second)].push_back(i);
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < n; ++i)
    if (pending[static_cast<size_t>(i)] == 0) ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(u)] == 0) ready.push(u);
  }
  if (static_cast<int>(order.size()) != n)
    for (int i = 0; i < n; ++i)
      if (pending[static_cast<size_t>(i)] > 0)
        throw Error("graph has a cycle through node '" + names[static_cast<size_t>(i)] + "' (" + graph.node(i).op_type() + ")");
  return order;
}

void import_node(ImportState& st, const ::onnx::NodeProto& proto, const std::string& name, int64_t opset) {
  // Custom domains: only our own com.edgequant ops (ChooseQParams), looked up as "<domain>.<op>".
  const bool ours = proto.domain() == "com.edgequant" && find_op_importer("com.edgequant." + proto.op_type());
  if (!is_default_domain(proto.domain()) && !ours)
    throw Error("node '" + name + "' (" + proto.op_type() + "): domain '" + proto.domain() + "' is not supported");
  NodeImport n(st, proto, name, opset);
  const OpImporter* importer = find_op_importer(ours ? "com.edgequant." + proto.op_type() : proto.op_type());
  if (!importer) throw n.unsupported();
  try {
    (*importer)(n);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind("node '", 0) == 0 || msg.rfind("shape arithmetic", 0) == 0) throw;
    throw n.error(msg);
  }
}

// Names each graph output after the ONNX output; a graph input (or a value already listed) that is
// also an output gets a clone.
void bind_outputs(ImportState& st, const ::onnx::GraphProto& graph) {
  Graph& g = st.g;
  for (const auto& out : graph.output()) {
    const std::string& name = out.name();
    auto it = st.env.find(name);
    check(it != st.env.end(), "graph output '" + name + "' is not produced by any node, initializer or graph input");
    int v = it->second;
    const bool is_input = std::find(g.inputs.begin(), g.inputs.end(), v) != g.inputs.end();
    const bool listed = std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
    if (is_input || listed) {
      const int idx = g.add_node("aten.clone.default", name, {v}, 1);
      infer_node(g, g.nodes[static_cast<size_t>(idx)]);
      v = g.nodes[static_cast<size_t>(idx)].outputs[0];
    }
    if (g.value(v).name != name) {
      const int holder = g.find_value(name);
      const bool holder_is_input = std::find(g.inputs.begin(), g.inputs.end(), holder) != g.inputs.end();
      if (!holder_is_input) {
        if (holder >= 0) g.value(holder).name = g.unique_value_name(name + "_");
        g.value(v).name = name;
      }
    }
    g.outputs.push_back(v);
  }
}

Graph import_model(const ::onnx::ModelProto& model, const std::string& origin, const std::string& base_dir, const LoadOptions& options) {
  register_builtin_op_schemas();
  const int64_t opset = default_opset(model, origin);
  check(model.has_graph(), origin + ": the model has no graph");
  const ::onnx::GraphProto& graph = model.graph();
  check(graph.sparse_initializer_size() == 0, origin + ": sparse initializers are not supported");
  ImportState st;
  st.base_dir = base_dir;
  st.g.name = graph.name();
  st.g.opset = opset;
  for (const auto& init : graph.initializer()) {
    check(!init.name().empty(), "an initializer has an empty name");
    check(!st.env.count(init.name()), "initializer '" + init.name() + "' is defined twice");
    st.env[init.name()] = st.g.add_constant(init.name(), tensor_from_proto(init, "initializer '" + init.name() + "'", base_dir));
  }
  add_inputs(st, graph, options);
  for (const auto& node : graph.node())
    for (const std::string& in : node.input()) st.used_names.insert(in);
  for (const auto& out : graph.output()) st.used_names.insert(out.name());
  std::vector<std::string> names;
  for (int i = 0; i < graph.node_size(); ++i) names.push_back(node_name(graph.node(i), i));
  for (int i : topo_order(graph, st, names)) import_node(st, graph.node(i), names[static_cast<size_t>(i)], opset);
  bind_outputs(st, graph);
  fuse_qdq_linear(st);  // before remove_dead renumbers the values st.env refers to
  Graph& g = st.g;
  g.remove_dead();
  const int fused = fuse_matmul_linear(g) + fuse_gelu(g);
  if (fused) g.remove_dead();
  g.validate();
  return std::move(st.g);
}

::onnx::ModelProto parse_model(const void* data, size_t size, const std::string& origin) {
  ::onnx::ModelProto model;
  check(size <= static_cast<size_t>(std::numeric_limits<int>::max()), origin + ": model larger than 2 GiB is not supported");
  check(model.ParseFromArray(data, static_cast<int>(size)), origin + ": not a valid ONNX model (protobuf parse failed)");
  return model;
}

}  // namespace

Graph load(const std::string& path, const LoadOptions& options) {
  const std::string bytes = read_file(path);
  return import_model(parse_model(bytes.data(), bytes.size(), path), path, dir_of(path), options);
}

Graph load_from_bytes(const void* data, size_t size, const std::string& origin, const LoadOptions& options) {
  return import_model(parse_model(data, size, origin), origin, "", options);
}

Tensor read_tensor_proto(const std::string& path) {
  const std::string bytes = read_file(path);
  ::onnx::TensorProto p;
  check(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()) && p.ParseFromString(bytes),
        path + ": not a valid TensorProto (protobuf parse failed)");
  return tensor_from_proto(p, path, dir_of(path));
}

}  // namespace eq::onnx
