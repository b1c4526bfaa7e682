// Post-import rewrites: MatMul(+Add) with a constant weight -> linear, and the exported erf form
// of GELU -> gelu.
#include <cmath>
#include <map>

#include "const_eval.h"
#include "edgequant/ops.h"
#include "import_context.h"

namespace eq::onnx_impl {
namespace {

bool is_f32_scalar(const Graph& g, int v, double want) {
  if (!g.is_constant(v)) return false;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != DType::f32 || t.numel() != 1) return false;
  const double got = t.data<float>()[0];
  return std::fabs(got - want) <= 1e-4 * std::fabs(want);
}

// The input of binary node `n` that is not `v` (-2 when `v` is not an input, or is both).
int other_input(const Node& n, int v) {
  if (n.inputs.size() != 2) return -2;
  if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
  if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
  return -2;
}

bool is_live(const Graph& g, int node) {
  const Node& n = g.nodes[static_cast<size_t>(node)];
  for (int v : n.outputs)
    if (g.value(v).producer != node) return false;
  return true;
}

}  // namespace

int fuse_matmul_linear(Graph& g) {
  const std::vector<std::vector<int>> cons = g.consumers();
  std::vector<char> is_output(g.values.size(), 0);
  for (int v : g.outputs) is_output[static_cast<size_t>(v)] = 1;
  std::map<int, int> transposed;  // B -> B^T constant
  int count = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != "aten.matmul.default" || !is_live(g, static_cast<int>(i))) continue;
    const int x = g.nodes[i].inputs[0], b = g.nodes[i].inputs[1];
    if (!g.is_constant(b) || x < 0) continue;
    const Tensor bt = *g.value(b).constant;  // a copy: add_constant below may reallocate values
    if (bt.dtype() != DType::f32 || bt.rank() != 2 || g.value(x).dtype != DType::f32 || g.value(x).shape.empty()) continue;
    int w;
    if (auto it = transposed.find(b); it != transposed.end()) {
      w = it->second;
    } else {
      w = g.add_constant(g.unique_value_name(g.value(b).name + ".T"), ce_transpose(bt, {1, 0}));
      transposed[b] = w;
    }
    const int64_t out = bt.dim(1);
    const int y = g.nodes[i].outputs[0];
    const std::vector<int>& users = cons[static_cast<size_t>(y)];
    if (!is_output[static_cast<size_t>(y)] && users.size() == 1 && g.nodes[static_cast<size_t>(users[0])].op == "aten.add.Tensor") {
      Node& add = g.nodes[static_cast<size_t>(users[0])];
      const int bias = other_input(add, y);
      if (bias >= 0 && g.is_constant(bias)) {
        const Tensor& c = *g.value(bias).constant;
        if (c.dtype() == DType::f32 && c.rank() == 1 && c.numel() == out) {
          add.op = "aten.linear.default";
          add.inputs = {x, w, bias};
          add.attrs = Attrs();
          add.name = g.nodes[i].name;
          add.module = g.nodes[i].module;
          infer_node(g, add);
          ++count;
          continue;
        }
      }
    }
    Node& mm = g.nodes[i];
    mm.op = "aten.linear.default";
    mm.inputs = {x, w, kNoValue};
    infer_node(g, mm);
    ++count;
  }
  return count;
}

int fuse_gelu(Graph& g) {
  const std::vector<std::vector<int>> cons = g.consumers();
  auto mul_users = [&](int v, const char* op) {
    std::vector<int> out;
    for (int u : cons[static_cast<size_t>(v)])
      if (g.nodes[static_cast<size_t>(u)].op == op) out.push_back(u);
    return out;
  };
  int count = 0;
  for (size_t e = 0; e < g.nodes.size(); ++e) {
    if (g.nodes[e].op != "aten.erf.default" || !is_live(g, static_cast<int>(e))) continue;
    const int d = g.nodes[e].inputs[0];
    const int pd = d >= 0 ? g.value(d).producer : -1;
    if (pd < 0) continue;
    const Node& p = g.nodes[static_cast<size_t>(pd)];
    int x = -1;
    if (p.op == "aten.div.Tensor" && p.inputs.size() == 2 && is_f32_scalar(g, p.inputs[1], std::sqrt(2.0))) x = p.inputs[0];
    if (p.op == "aten.mul.Tensor" && p.inputs.size() == 2) {
      if (is_f32_scalar(g, p.inputs[1], std::sqrt(0.5))) x = p.inputs[0];
      else if (is_f32_scalar(g, p.inputs[0], std::sqrt(0.5))) x = p.inputs[1];
    }
    if (x < 0 || g.value(x).dtype != DType::f32) continue;
    const int erf_out = g.nodes[e].outputs[0];
    int final_node = -1;
    for (int a : mul_users(erf_out, "aten.add.Tensor")) {
      if (!is_f32_scalar(g, other_input(g.nodes[static_cast<size_t>(a)], erf_out), 1.0)) continue;
      const int a_out = g.nodes[static_cast<size_t>(a)].outputs[0];
      for (int m1 : mul_users(a_out, "aten.mul.Tensor")) {
        const int o = other_input(g.nodes[static_cast<size_t>(m1)], a_out);
        if (o == -2) continue;
        const int m1_out = g.nodes[static_cast<size_t>(m1)].outputs[0];
        if (o == x || is_f32_scalar(g, o, 0.5)) {
          for (int m2 : mul_users(m1_out, "aten.mul.Tensor")) {
            const int o2 = other_input(g.nodes[static_cast<size_t>(m2)], m1_out);
            if ((o == x && is_f32_scalar(g, o2, 0.5)) || (o != x && o2 == x)) final_node = m2;
          }
        } else if (const int ph = g.value(o).producer; ph >= 0 && g.nodes[static_cast<size_t>(ph)].op == "aten.mul.Tensor") {
          const int o2 = other_input(g.nodes[static_cast<size_t>(ph)], x);
          if (is_f32_scalar(g, o2, 0.5)) final_node = m1;
        }
        if (final_node >= 0) break;
      }
      if (final_node >= 0) break;
    }
    if (final_node < 0) continue;
    Node& f = g.nodes[static_cast<size_t>(final_node)];
    if (g.value(f.outputs[0]).shape != g.value(x).shape) continue;
    f.op = "aten.gelu.default";
    f.inputs = {x};
    f.attrs = Attrs();
    f.attrs.set("approximate", std::string("none"));
    infer_node(g, f);
    ++count;
  }
  return count;
}

}  // namespace eq::onnx_impl
