#include "edgequant/graph.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

namespace eq {

std::string Node::describe() const {
  return "node '" + name + "' (" + op + ")";
}

int Graph::add_value(std::string vname, DType dtype, Shape shape) {
  Value v;
  v.name = std::move(vname);
  v.dtype = dtype;
  v.shape = std::move(shape);
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_constant(std::string vname, Tensor t) {
  const int id = add_value(std::move(vname), t.dtype(), t.shape());
  values.back().constant = std::move(t);
  return id;
}

int Graph::add_node(std::string op, std::string nname, std::vector<int> ins, int num_outputs, Attrs attrs) {
  Node n;
  n.op = std::move(op);
  n.name = std::move(nname);
  n.module = module_path_from_node_name(n.name);
  n.inputs = std::move(ins);
  n.attrs = std::move(attrs);
  const int id = static_cast<int>(nodes.size());
  for (int k = 0; k < num_outputs; ++k) {
    const int v = add_value(unique_value_name(n.name + (num_outputs > 1 ? ":" + std::to_string(k) : "")), DType::f32, {});
    values[static_cast<size_t>(v)].producer = id;
    n.outputs.push_back(v);
  }
  nodes.push_back(std::move(n));
  return id;
}

std::string Graph::unique_value_name(const std::string& base) {
  if (find_value(base) < 0) return base;
  for (int k = 1;; ++k) {
    std::string candidate = base + "_" + std::to_string(k);
    if (find_value(candidate) < 0) return candidate;
  }
}

int Graph::find_value(const std::string& vname) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == vname) return static_cast<int>(i);
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> out(values.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].inputs)
      if (v >= 0) out[static_cast<size_t>(v)].push_back(static_cast<int>(n));
  return out;
}

void Graph::sort() {
  // Kahn's algorithm, taking ready nodes in their current order so a sorted graph is unchanged.
  const size_t n = nodes.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (size_t i = 0; i < n; ++i)
    for (int v : nodes[i].inputs) {
      if (v < 0) continue;
      const int p = values.at(static_cast<size_t>(v)).producer;
      if (p >= 0) {
        ++pending[i];
        users[static_cast<size_t>(p)].push_back(static_cast<int>(i));
      }
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[static_cast<size_t>(i)])
      if (--pending[static_cast<size_t>(u)] == 0) ready.push(u);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0) throw Error("graph has a cycle through " + nodes[i].describe());
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  std::vector<int> new_index(n);
  for (size_t k = 0; k < n; ++k) {
    new_index[static_cast<size_t>(order[k])] = static_cast<int>(k);
    sorted.push_back(std::move(nodes[static_cast<size_t>(order[k])]));
  }
  nodes = std::move(sorted);
  for (Value& v : values)
    if (v.producer >= 0) v.producer = new_index[static_cast<size_t>(v.producer)];
}

void Graph::remove_dead() {
  std::vector<char> live_value(values.size(), 0), live_node(nodes.size(), 0);
  std::vector<int> stack(outputs.begin(), outputs.end());
  for (int v : inputs) live_value[static_cast<size_t>(v)] = 1;
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    if (v < 0 || live_value[static_cast<size_t>(v)] == 2) continue;
    live_value[static_cast<size_t>(v)] = 2;
    const int p = values[static_cast<size_t>(v)].producer;
    if (p >= 0 && !live_node[static_cast<size_t>(p)]) {
      live_node[static_cast<size_t>(p)] = 1;
      for (int in : nodes[static_cast<size_t>(p)].inputs) stack.push_back(in);
      for (int out : nodes[static_cast<size_t>(p)].outputs) if (!live_value[static_cast<size_t>(out)]) live_value[static_cast<size_t>(out)] = 1;
    }
  }
  std::vector<int> vmap(values.size(), -1), nmap(nodes.size(), -1);
  std::vector<Value> nv;
  for (size_t i = 0; i < values.size(); ++i)
    if (live_value[i]) {
      vmap[i] = static_cast<int>(nv.size());
      nv.push_back(std::move(values[i]));
    }
  std::vector<Node> nn;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (live_node[i]) {
      nmap[i] = static_cast<int>(nn.size());
      nn.push_back(std::move(nodes[i]));
    }
  for (Node& node : nn) {
    for (int& v : node.inputs) if (v >= 0) v = vmap[static_cast<size_t>(v)];
    for (int& v : node.outputs) v = vmap[static_cast<size_t>(v)];
  }
  for (Value& v : nv)
    if (v.producer >= 0) v.producer = nmap[static_cast<size_t>(v.producer)];
  for (int& v : inputs) v = vmap[static_cast<size_t>(v)];
  for (int& v : outputs) v = vmap[static_cast<size_t>(v)];
  values = std::move(nv);
  nodes = std::move(nn);
}

void Graph::validate() const {
  const int nv = static_cast<int>(values.size());
  std::vector<char> defined(values.size(), 0);
  for (int v : inputs) {
    check(v >= 0 && v < nv, "graph input index out of range");
    defined[static_cast<size_t>(v)] = 1;
  }
  for (int i = 0; i < nv; ++i)
    if (values[static_cast<size_t>(i)].constant) defined[static_cast<size_t>(i)] = 1;
  for (size_t n = 0; n < nodes.size(); ++n) {
    const Node& node = nodes[n];
    for (int v : node.inputs) {
      if (v == kNoValue) continue;
      check(v >= 0 && v < nv, node.describe() + ": input index out of range");
      check(defined[static_cast<size_t>(v)], node.describe() + ": input '" + values[static_cast<size_t>(v)].name +
                                                   "' is not produced before it is used");
    }
    for (int v : node.outputs) {
      check(v >= 0 && v < nv, node.describe() + ": output index out of range");
      check(!defined[static_cast<size_t>(v)], node.describe() + ": output '" + values[static_cast<size_t>(v)].name + "' is defined twice");
      check(values[static_cast<size_t>(v)].producer == static_cast<int>(n), node.describe() + ": output '" +
                                                                               values[static_cast<size_t>(v)].name + "' has a wrong producer");
      defined[static_cast<size_t>(v)] = 1;
    }
  }
  for (int v : outputs) {
    check(v >= 0 && v < nv, "graph output index out of range");
    check(defined[static_cast<size_t>(v)], "graph output '" + values[static_cast<size_t>(v)].name + "' is never produced");
  }
}

int64_t Graph::parameter_count() const {
  int64_t n = 0;
  for (const Value& v : values)
    if (v.constant) n += v.constant->numel();
  return n;
}

int64_t Graph::parameter_bytes() const {
  int64_t n = 0;
  for (const Value& v : values)
    if (v.constant) n += static_cast<int64_t>(v.constant->nbytes());
  return n;
}

std::string module_path_from_node_name(const std::string& node_name) {
  // PyTorch writes one '/'-separated scope per module level and the op last. A scope is either
  // the child's attribute name ("1", "conv") or its qualified name ("conv.0", "f.0.0"); a
  // qualified name replaces the scope it extends.
  if (node_name.empty() || node_name[0] != '/') return "";
  std::vector<std::string> parts;
  size_t start = 1;
  std::vector<std::string> scopes;
  while (start <= node_name.size()) {
    size_t end = node_name.find('/', start);
    if (end == std::string::npos) end = node_name.size();
    scopes.push_back(node_name.substr(start, end - start));
    start = end + 1;
  }
  if (!scopes.empty()) scopes.pop_back();  // the op itself
  for (const std::string& s : scopes) {
    if (s.empty()) continue;
    if (!parts.empty() && s.size() > parts.back().size() && s.compare(0, parts.back().size() + 1, parts.back() + ".") == 0)
      parts.back() = s;
    else
      parts.push_back(s);
  }
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ".") + p;
  return out;
}

}  // namespace eq
