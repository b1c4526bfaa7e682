// ConvertConv1dToConv2dPass (ExecuTorch backends/nxp/aten_passes/convert_1d_conv_to_2d.py): the
// Neutron NPU runs 2-D convolutions only, so NeutronQuantizer.transform_for_annotation rewrites
//   conv1d(x[N,C,L], w[O,C/g,k], b)      →  squeeze(conv2d(unsqueeze(x, 2), w[O,C/g,1,k], b), 2)
// before annotating, and the quantizer sees (and quantizes) a conv2d: its weight is the reshaped
// constant, per channel like any conv2d weight. A fusable activation that is the conv's only
// reader is moved before the squeeze, so the conv2d still fuses it (NXP does the same; BatchNorm
// is folded before this runs). The conv2d keeps the conv1d's name, module path and output value
// id for the squeeze, so names downstream survive.
#include "edgequant/error.h"
#include "quantizer_patterns.h"

namespace eq::neutron {
namespace {

Shape insert_unit_dim(Shape s, size_t at) {
  s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), 1);
  return s;
}

// conv1d's spatial attributes as conv2d's, with H = 1 (stride 1, no padding, dilation 1 in H).
Attrs conv2d_attrs(const Node& c) {
  const std::vector<int64_t> stride = c.attrs.ints("stride", {1});
  const std::vector<int64_t> dilation = c.attrs.ints("dilation", {1});
  std::vector<int64_t> pad = c.attrs.ints("padding", {0, 0});
  if (pad.size() == 1) pad.push_back(pad[0]);  // a k-element list is symmetric
  check(stride.size() == 1 && dilation.size() == 1 && pad.size() == 2,
        c.describe() + ": conv1d stride / dilation / padding must have 1 / 1 / 2 elements");
  Attrs a;
  a.set("stride", std::vector<int64_t>{1, stride[0]});
  a.set("padding", std::vector<int64_t>{0, pad[0], 0, pad[1]});  // [top, left, bottom, right]
  a.set("dilation", std::vector<int64_t>{1, dilation[0]});
  a.set("groups", c.attrs.i("groups", 1));
  return a;
}

// Appends a node reading `in`, producing a fresh value of `shape`, in `module`.
int add_4d_node(Graph& g, const std::string& op, const std::string& name, const std::string& module,
                std::vector<int> ins, Attrs attrs, const Shape& shape) {
  const int k = g.add_node(op, name, std::move(ins), 1, std::move(attrs));
  g.nodes[static_cast<size_t>(k)].module = module;
  Value& out = g.value(g.nodes[static_cast<size_t>(k)].outputs[0]);
  out.dtype = DType::f32;
  out.shape = shape;
  return k;
}

}  // namespace

int convert_conv1d_to_conv2d(Graph& g) {
  const auto consumers = g.consumers();
  std::vector<char> graph_output(g.values.size(), 0);
  for (int v : g.outputs) graph_output[static_cast<size_t>(v)] = 1;
  const size_t original = g.nodes.size();
  int rewritten = 0;
  for (size_t i = 0; i < original; ++i) {
    if (g.nodes[i].op != "aten.conv1d.default") continue;
    const Node conv = g.nodes[i];  // a copy: add_node reallocates the node vector
    if (conv.inputs.size() < 2 || !g.is_constant(conv.inputs[1])) continue;  // non-static weight
    const bool has_bias = conv.inputs.size() > 2 && conv.inputs[2] != kNoValue;
    if (has_bias && !g.is_constant(conv.inputs[2])) continue;  // non-static bias
    const Tensor& w = *g.value(conv.inputs[1]).constant;
    if (w.rank() != 3) continue;
    const int x = conv.inputs[0];
    const int out = conv.outputs.at(0);

    const int w4 = g.add_constant(g.unique_value_name(g.value(conv.inputs[1]).name + "_2d"),
                                  w.reshaped({w.dim(0), w.dim(1), 1, w.dim(2)}));
    Attrs ua;
    ua.set("dim", std::vector<int64_t>{2});
    const int unsq = add_4d_node(g, "aten.unsqueeze.default", conv.name + "/unsqueeze", conv.module, {x}, ua,
                                 insert_unit_dim(g.value(x).shape, 2));
    std::vector<int> ins = {g.nodes[static_cast<size_t>(unsq)].outputs[0], w4};
    if (has_bias) ins.push_back(conv.inputs[2]);
    const Shape out4 = insert_unit_dim(g.value(out).shape, 2);
    // The conv1d node becomes the conv2d (same name and module), writing a new 4-D value.
    const int c4 = g.add_value(g.unique_value_name(g.value(out).name + "_2d"), DType::f32, out4);
    {
      Node& n = g.nodes[i];
      n.op = "aten.conv2d.default";
      n.inputs = ins;
      n.attrs = conv2d_attrs(conv);
      n.outputs[0] = c4;
      g.value(c4).producer = static_cast<int>(i);
      g.value(out).producer = -1;
    }
    int last = c4, result = out;
    // A fusable activation reading only the conv moves before the squeeze.
    const auto& users = consumers[static_cast<size_t>(out)];
    if (!graph_output[static_cast<size_t>(out)] && users.size() == 1 &&
        is_fusable_activation(g.nodes[static_cast<size_t>(users[0])])) {
      const int a = users[0];
      const int a_out = g.nodes[static_cast<size_t>(a)].outputs.at(0);
      const int a4 = g.add_value(g.unique_value_name(g.value(a_out).name + "_2d"), DType::f32, out4);
      Node& an = g.nodes[static_cast<size_t>(a)];
      an.inputs[0] = c4;
      an.outputs[0] = a4;
      g.value(a4).producer = a;
      g.value(a_out).producer = -1;
      last = a4;
      result = a_out;
    }
    Attrs sa;
    sa.set("dim", std::vector<int64_t>{2});
    const int sq = add_4d_node(g, "aten.squeeze.dims", conv.name + "/squeeze", conv.module, {last}, sa,
                               g.value(result).shape);
    // The squeeze writes the original value, so its readers and graph outputs are untouched; the
    // fresh value add_node made is dropped by remove_dead.
    g.nodes[static_cast<size_t>(sq)].outputs[0] = result;
    g.value(result).producer = sq;
    ++rewritten;
  }
  if (rewritten == 0) return 0;
  g.sort();
  g.remove_dead();
  g.validate();
  return rewritten;
}

}  // namespace eq::neutron
