// fold_batch_norm: folds inference BatchNorm into the conv / conv_transpose / linear before it,
// the way torch.ao's fuse_conv_bn_weights / fuse_linear_bn_weights do:
//   scale = bn_w / sqrt(var + eps)
//   W'    = W * scale   (per output channel)
//   b'    = (b - mean) * scale + bn_b        (b = 0 when the conv has no bias)
// computed in double and stored as f32. The fused node keeps its name and takes over the
// BatchNorm's output value, so names downstream survive. Unlike torch, a transposed conv with
// groups > 1 is handled: its weight is [Cin, Cout/g, k..] and output channel
// g_i * Cout/g + j lives at [ci in group g_i, j].
#include <cmath>
#include <string>
#include <vector>

#include "edgequant/quantize.h"

namespace eq {
namespace {

constexpr const char* kBatchNorm = "aten._native_batch_norm_legit_no_training.default";

enum class Kind { none, conv, conv_transpose, linear };

Kind kind_of(const std::string& op) {
  if (op == "aten.conv1d.default" || op == "aten.conv2d.default") return Kind::conv;
  if (op == "aten.conv_transpose1d.default" || op == "aten.conv_transpose2d.input") return Kind::conv_transpose;
  if (op == "aten.linear.default") return Kind::linear;
  return Kind::none;
}

// The constant f32 tensor of value `v` with `numel` elements, or nullptr.
const Tensor* f32_constant(const Graph& g, int v, int64_t numel = -1) {
  if (!g.is_constant(v)) return nullptr;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != DType::f32 || (numel >= 0 && (t.rank() != 1 || t.numel() != numel))) return nullptr;
  return &t;
}

// Output channel of every element of a weight, laid out as [outer, inner] blocks:
// channel_of(i) for flat index i of the weight tensor.
struct ChannelMap {
  Kind kind;
  Shape w;
  int64_t groups = 1;
  int64_t spatial = 1;  // product of kernel dims (conv) or in-features (linear)

  int64_t channels() const {
    if (kind == Kind::conv_transpose) return w[1] * groups;
    return w[0];
  }
  int64_t channel_of(int64_t i) const {
    const int64_t k = i / spatial;  // index over the first two dims (conv) / rows (linear)
    if (kind != Kind::conv_transpose) return kind == Kind::linear ? k : k / w[1];
    const int64_t ci = k / w[1], j = k % w[1];
    const int64_t cin_per_group = w[0] / groups;
    return (ci / cin_per_group) * w[1] + j;
  }
};

// Rewrites node `p` (conv/linear) feeding BatchNorm `bn`; returns false when the pattern does
// not apply (nothing changed then).
bool fold_one(Graph& g, int bn_index, const std::vector<std::vector<int>>& consumers, std::vector<char>& is_output) {
  const Node bn = g.nodes[static_cast<size_t>(bn_index)];
  if (bn.inputs.size() != 5 || bn.outputs.size() != 1) return false;
  const int x = bn.inputs[0];
  if (x < 0 || is_output[static_cast<size_t>(x)] || consumers[static_cast<size_t>(x)].size() != 1) return false;
  const int pi = g.value(x).producer;
  if (pi < 0) return false;
  const Node& p = g.nodes[static_cast<size_t>(pi)];
  const Kind kind = kind_of(p.op);
  if (kind == Kind::none || p.outputs.size() != 1 || p.outputs[0] != x || p.inputs.size() < 2) return false;
  const Shape& xs = g.value(x).shape;
  if (xs.size() < 2 || xs[1] < 0) return false;
  const int64_t c = xs[1];
  // BatchNorm normalises axis 1; a linear's features are its last axis: only rank 2 matches.
  if (kind == Kind::linear && xs.size() != 2) return false;

  const Tensor* w = f32_constant(g, p.inputs[1]);
  if (!w || w->rank() < 2) return false;
  ChannelMap map{kind, w->shape(), kind == Kind::linear ? 1 : p.attrs.i("groups", 1), 1};
  if (map.groups <= 0 || (kind == Kind::conv_transpose && w->dim(0) % map.groups != 0)) return false;
  if (kind == Kind::linear && w->rank() != 2) return false;
  for (int64_t d = kind == Kind::linear ? 1 : 2; d < w->rank(); ++d) map.spatial *= w->dim(d);
  if (map.channels() != c) return false;
  const int b_in = p.inputs.size() >= 3 ? p.inputs[2] : kNoValue;
  const Tensor* b = b_in >= 0 ? f32_constant(g, b_in, c) : nullptr;
  if (b_in >= 0 && !b) return false;

  const Tensor* gamma = f32_constant(g, bn.inputs[1], c);
  const Tensor* beta = f32_constant(g, bn.inputs[2], c);
  const Tensor* mean = f32_constant(g, bn.inputs[3], c);
  const Tensor* var = f32_constant(g, bn.inputs[4], c);
  if (!gamma || !beta || !mean || !var) return false;
  const double eps = bn.attrs.f("eps", 1e-5);

  std::vector<double> scale(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k)
    scale[static_cast<size_t>(k)] =
        static_cast<double>(gamma->data<float>()[k]) / std::sqrt(static_cast<double>(var->data<float>()[k]) + eps);

  Tensor nw(DType::f32, w->shape());
  const float* wp = w->data<float>();
  float* nwp = nw.data<float>();
  for (int64_t i = 0; i < w->numel(); ++i)
    nwp[i] = static_cast<float>(static_cast<double>(wp[i]) * scale[static_cast<size_t>(map.channel_of(i))]);
  Tensor nb(DType::f32, {c});
  for (int64_t k = 0; k < c; ++k) {
    const double b0 = b ? static_cast<double>(b->data<float>()[k]) : 0.0;
    nb.data<float>()[k] = static_cast<float>((b0 - static_cast<double>(mean->data<float>()[k])) * scale[static_cast<size_t>(k)] +
                                             static_cast<double>(beta->data<float>()[k]));
  }

  // A constant only this node reads is replaced in place (keeps its name); a shared one is copied.
  auto replace = [&](int v, Tensor t, const std::string& fallback_name) {
    if (v >= 0 && consumers[static_cast<size_t>(v)].size() == 1 && !is_output[static_cast<size_t>(v)]) {
      g.value(v).constant = std::move(t);
      return v;
    }
    const std::string base = v >= 0 ? g.value(v).name : fallback_name;
    return g.add_constant(g.unique_value_name(base), std::move(t));
  };
  const std::string node_name = p.name;
  const int w_in = p.inputs[1];
  const int new_w = replace(w_in, std::move(nw), node_name + ".weight");
  const int new_b = replace(b_in, std::move(nb), node_name + ".bias");
  Node& fused = g.nodes[static_cast<size_t>(pi)];  // re-fetched: add_constant may not touch nodes, but be safe
  fused.inputs.resize(3, kNoValue);
  fused.inputs[1] = new_w;
  fused.inputs[2] = new_b;
  const int y = bn.outputs[0];
  fused.outputs[0] = y;
  g.value(y).producer = pi;
  g.value(x).producer = -1;  // detached; remove_dead drops it
  g.nodes[static_cast<size_t>(bn_index)].outputs.clear();
  g.nodes[static_cast<size_t>(bn_index)].inputs.clear();
  return true;
}

}  // namespace

int fold_batch_norm(Graph& g) {
  int folded = 0;
  std::vector<char> removed(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != kBatchNorm) continue;
    // Recomputed per fold: an earlier fold rewires values.
    const std::vector<std::vector<int>> consumers = g.consumers();
    std::vector<char> is_output(g.values.size(), 0);
    for (int v : g.outputs) is_output[static_cast<size_t>(v)] = 1;
    if (fold_one(g, static_cast<int>(i), consumers, is_output)) {
      removed[i] = 1;
      ++folded;
    }
  }
  if (!folded) return 0;
  std::vector<int> remap(g.nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (removed[i]) continue;
    remap[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
  for (Value& v : g.values)
    if (v.producer >= 0) v.producer = remap[static_cast<size_t>(v.producer)];
  g.remove_dead();
  return folded;
}

}  // namespace eq
