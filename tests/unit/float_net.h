// A float graph built node by node in tests (shapes inferred as each node is added), for
// quantizer and lowering tests that need small conv / add / pool graphs.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/ops.h"
#include "edgequant/shape.h"

namespace eq::testnet {

struct FloatNet {
  Graph g;
  std::mt19937 rng;
  explicit FloatNet(unsigned seed = 7) : rng(seed) { register_builtin_op_schemas(); }
  int input(Shape s) {
    const int v = g.add_value("x" + std::to_string(g.inputs.size()), DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  int op(const std::string& o, std::vector<int> ins, Attrs a = {}, const std::string& name = "") {
    const int k = g.add_node(o, name.empty() ? "/" + o + "_" + std::to_string(g.nodes.size()) : name, std::move(ins), 1,
                             std::move(a));
    infer_node(g, g.nodes[static_cast<size_t>(k)]);
    return g.nodes[static_cast<size_t>(k)].outputs[0];
  }
  int weight(Shape s, float scale = 0.3f) {
    Tensor t(DType::f32, s);
    std::uniform_real_distribution<float> d(-scale, scale);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
    return g.add_constant(g.unique_value_name("w"), std::move(t));
  }
  int conv2d(int x, int64_t cout, int64_t k, int64_t stride = 1, int64_t pad = 0, int64_t groups = 1,
             const std::string& name = "") {
    const int64_t cin = g.value(x).shape[1];
    Attrs a;
    a.set("stride", std::vector<int64_t>{stride, stride});
    a.set("padding", std::vector<int64_t>{pad, pad, pad, pad});
    a.set("dilation", std::vector<int64_t>{1, 1});
    a.set("groups", groups);
    return op("aten.conv2d.default", {x, weight({cout, cin / groups, k, k}), weight({cout}, 0.1f)}, a, name);
  }
  void output(int v) { g.outputs.push_back(v); }
};

}  // namespace eq::testnet
