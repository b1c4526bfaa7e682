// The decompositions of ExecuTorch's Arm transform_for_annotation pipeline (ArmPassManager) that
// change what gets annotated: mean.dim → reshape, sum, mul by 1/N, reshape (DecomposeMeanDimPass);
// adaptive_avg_pool2d → slices + avg_pool2d (+ cat) (DecomposeAdaptiveAvgPool2dPass, static
// shapes); div → reciprocal, mul (DecomposeDivPass); softmax → amax, sub, exp, sum, reciprocal,
// mul (DecomposeSoftmaxPass). The new nodes take the replaced node's place in the node order
// (the annotator's fusion and the golden mapping read the order) and its module path.
#include <cmath>
#include <map>

#include "edgequant/error.h"
#include "edgequant/ops.h"
#include "internal.h"

namespace eq::ethosu {
namespace {

// Builds the replacement of one node: nodes are appended to the graph and inferred at once.
class Rewriter {
 public:
  Rewriter(Graph& g, int node) : g_(g), node_(node), name_(g.nodes[static_cast<size_t>(node)].name),
                                 module_(g.nodes[static_cast<size_t>(node)].module) {}

  int add(const std::string& op, const std::string& suffix, std::vector<int> inputs, Attrs attrs = {}) {
    const int id = g_.add_node(op, name_ + "/" + suffix, std::move(inputs), 1, std::move(attrs));
    g_.nodes[static_cast<size_t>(id)].module = module_;
    infer_node(g_, g_.nodes[static_cast<size_t>(id)]);
    built_.push_back(id);
    return g_.nodes[static_cast<size_t>(id)].outputs[0];
  }
  int constant(const std::string& suffix, Tensor t) {
    return g_.add_constant(g_.unique_value_name(name_ + "/" + suffix), std::move(t));
  }
  // The replaced node's output becomes the output of the node producing `v` (the last one built).
  void finish(int v, std::map<int, std::vector<int>>& replacements) {
    const int last = g_.value(v).producer;
    check(last == built_.back(), "ethos-u transform: the replacement of node '" + name_ + "' must end in its last node");
    Node& old = g_.nodes[static_cast<size_t>(node_)];
    const int out = old.outputs.at(0);
    check(g_.value(out).shape == g_.value(v).shape,
          "ethos-u transform: the decomposition of node '" + name_ + "' changed its output shape");
    g_.nodes[static_cast<size_t>(last)].outputs[0] = out;
    g_.value(out).producer = last;
    old.outputs[0] = v;
    g_.value(v).producer = node_;
    replacements[node_] = built_;
  }

 private:
  Graph& g_;
  int node_;
  std::string name_, module_;
  std::vector<int> built_;
};

// Puts each replacement where its node was, drops the replaced nodes and their orphaned values.
void splice(Graph& g, const std::map<int, std::vector<int>>& replacements) {
  if (replacements.empty()) return;
  const size_t original = g.nodes.size();
  std::vector<int> order;
  std::vector<char> appended(original, 0);
  for (const auto& [old, built] : replacements)
    for (int b : built) appended[static_cast<size_t>(b)] = 1;
  for (size_t i = 0; i < original; ++i) {
    if (appended[i]) continue;
    auto it = replacements.find(static_cast<int>(i));
    if (it == replacements.end()) order.push_back(static_cast<int>(i));
    else order.insert(order.end(), it->second.begin(), it->second.end());
  }
  std::vector<int> new_index(original, -1);
  std::vector<Node> nodes;
  for (int old : order) {
    new_index[static_cast<size_t>(old)] = static_cast<int>(nodes.size());
    nodes.push_back(std::move(g.nodes[static_cast<size_t>(old)]));
  }
  for (Value& v : g.values)
    if (v.producer >= 0) v.producer = new_index[static_cast<size_t>(v.producer)];
  g.nodes = std::move(nodes);
  g.remove_dead();  // the replaced nodes' swapped-out outputs
}

Shape as_target(const Shape& s) {
  Shape t = s;
  for (int64_t& d : t)
    if (d == kBatch) d = kBatchToken;
  return t;
}

template <typename F>
int rewrite_each(Graph& g, const std::string& op, const AllowFn& allowed, F&& decompose) {
  std::map<int, std::vector<int>> replacements;
  const size_t n = g.nodes.size();
  for (size_t i = 0; i < n; ++i) {
    if (g.nodes[i].op != op || !allowed(g, static_cast<int>(i))) continue;
    Rewriter r(g, static_cast<int>(i));
    const int v = decompose(r, static_cast<int>(i));
    if (v >= 0) r.finish(v, replacements);
  }
  splice(g, replacements);
  return static_cast<int>(replacements.size());
}

}  // namespace

int decompose_softmax(Graph& g, const AllowFn& allowed) {
  return rewrite_each(g, "aten.softmax.int", allowed, [&](Rewriter& r, int i) {
    const Node n = g.nodes[static_cast<size_t>(i)];
    const int x = n.inputs.at(0);
    const int64_t rank = static_cast<int64_t>(g.value(x).shape.size());
    int64_t dim = n.attrs.i("dim");
    if (dim < 0) dim += rank;
    Attrs reduce;
    reduce.set("dim", std::vector<int64_t>{dim});
    reduce.set("keepdim", int64_t{1});
    const int mx = r.add("aten.amax.default", "amax", {x}, reduce);
    const int sub = r.add("aten.sub.Tensor", "sub", {x, mx});
    const int ex = r.add("aten.exp.default", "exp", {sub});
    const int sum = r.add("aten.sum.dim_IntList", "sum", {ex}, reduce);
    const int rec = r.add("aten.reciprocal.default", "reciprocal", {sum});
    return r.add("aten.mul.Tensor", "mul", {ex, rec});
  });
}

int decompose_div(Graph& g, const AllowFn& allowed) {
  return rewrite_each(g, "aten.div.Tensor", allowed, [&](Rewriter& r, int i) {
    const Node n = g.nodes[static_cast<size_t>(i)];
    const int rec = r.add("aten.reciprocal.default", "reciprocal", {n.inputs.at(1)});
    return r.add("aten.mul.Tensor", "mul", {n.inputs.at(0), rec});
  });
}

int decompose_mean_dim(Graph& g, const AllowFn& allowed) {
  return rewrite_each(g, "aten.mean.dim", allowed, [&](Rewriter& r, int i) -> int {
    const Node n = g.nodes[static_cast<size_t>(i)];
    const int x = n.inputs.at(0);
    const Shape in = g.value(x).shape;
    const Shape out_shape = g.value(n.outputs.at(0)).shape;
    const int64_t rank = static_cast<int64_t>(in.size());
    std::vector<int64_t> dims = n.attrs.ints("dim", {});
    if (dims.empty())
      for (int64_t d = 0; d < rank; ++d) dims.push_back(d);
    std::vector<int64_t> reduce;
    for (int64_t d : dims) {
      const int64_t a = d < 0 ? d + rank : d;
      if (in[static_cast<size_t>(a)] == kBatch) return -1;  // N unknown: ExecuTorch's dynamic path, not taken
      if (in[static_cast<size_t>(a)] != 1) reduce.push_back(a);  // static shapes: size-1 dims are dropped
    }
    // To 4-D: pad with leading 1s, or merge leading dims (not through the symbolic batch).
    Shape shape4 = in;
    while (shape4.size() < 4) {
      shape4.insert(shape4.begin(), 1);
      for (int64_t& d : reduce) ++d;
    }
    while (shape4.size() > 4) {
      if (shape4[0] == kBatch || shape4[1] == kBatch) return -1;
      const int64_t f = shape4[0];
      shape4.erase(shape4.begin());
      shape4[0] *= f;
      for (int64_t& d : reduce) --d;
    }
    int v = x;
    if (rank != 4) {
      Attrs a;
      a.set("shape", as_target(shape4));
      v = r.add("aten.reshape.default", "reshape", {v}, a);
    }
    if (!reduce.empty()) {
      int64_t count = 1;
      for (int64_t d : reduce) count *= shape4[static_cast<size_t>(d)];
      Attrs a;
      a.set("dim", reduce);
      a.set("keepdim", int64_t{1});
      v = r.add("aten.sum.dim_IntList", "sum", {v}, a);
      // torch computes 1/N in double and stores the scalar as a float32 tensor of the sum's rank.
      Tensor k(DType::f32, Shape(g.value(v).shape.size(), 1));
      k.data<float>()[0] = static_cast<float>(1.0 / static_cast<double>(count));
      v = r.add("aten.mul.Tensor", "mul", {v, r.constant("inv_count", std::move(k))});
    }
    if (g.value(v).shape != out_shape) {
      Attrs a;
      a.set("shape", as_target(out_shape));
      v = r.add("aten.reshape.default", "reshape_out", {v}, a);
    }
    return v == x ? -1 : v;
  });
}

int decompose_adaptive_avg_pool2d(Graph& g, const AllowFn& allowed) {
  return rewrite_each(g, "aten.adaptive_avg_pool2d.default", allowed, [&](Rewriter& r, int i) -> int {
    const Node n = g.nodes[static_cast<size_t>(i)];
    const int x = n.inputs.at(0);
    const Shape in = g.value(x).shape;
    if (in.size() != 4 || in[2] == kBatch || in[3] == kBatch) return -1;
    const Shape out = g.value(n.outputs.at(0)).shape;
    const int64_t ih = in[2], iw = in[3], oh = out[2], ow = out[3];
    auto pool = [&](int v, int64_t kh, int64_t kw, int64_t sh, int64_t sw, const std::string& suffix) {
      Attrs a;
      a.set("kernel_size", std::vector<int64_t>{kh, kw});
      a.set("stride", std::vector<int64_t>{sh, sw});
      a.set("padding", std::vector<int64_t>{0, 0, 0, 0});
      a.set("ceil_mode", int64_t{0});
      a.set("count_include_pad", int64_t{1});
      return r.add("aten.avg_pool2d.default", suffix, {v}, a);
    };
    const int64_t sh = ih / oh, sw = iw / ow;
    auto direct = [](int64_t in_size, int64_t out_size) { return in_size % out_size == 0 || in_size % out_size == 1; };
    if (direct(ih, oh) && direct(iw, ow) && sh >= 1 && sh <= 3 && sw >= 1 && sw <= 3)
      return pool(x, sh + ih % oh, sw + iw % ow, sh, sw, "avg_pool2d");
    // One slice pair + pool per output bin, bins [floor(i*I/O), ceil((i+1)*I/O)).
    auto bounds = [](int64_t in_size, int64_t out_size, int64_t idx) {
      const int64_t start = (idx * in_size) / out_size;
      const int64_t end = ((idx + 1) * in_size + out_size - 1) / out_size;
      return std::pair<int64_t, int64_t>{start, end};
    };
    auto slice = [&](int v, int64_t dim, int64_t start, int64_t end, const std::string& suffix) {
      Attrs a;
      a.set("dim", dim);
      a.set("start", start);
      a.set("end", end);
      a.set("step", int64_t{1});
      return r.add("aten.slice_copy.Tensor", suffix, {v}, a);
    };
    std::vector<int> rows;
    for (int64_t oi = 0; oi < oh; ++oi) {
      std::vector<int> row;
      for (int64_t oj = 0; oj < ow; ++oj) {
        const auto [h0, h1] = bounds(ih, oh, oi);
        const auto [w0, w1] = bounds(iw, ow, oj);
        const std::string tag = std::to_string(oi) + "_" + std::to_string(oj);
        const int xh = slice(x, 2, h0, h1, "slice_h_" + tag);
        const int xhw = slice(xh, 3, w0, w1, "slice_w_" + tag);
        row.push_back(pool(xhw, h1 - h0, w1 - w0, 1, 1, "avg_pool2d_" + tag));
      }
      if (row.size() == 1) {
        rows.push_back(row[0]);
      } else {
        Attrs a;
        a.set("dim", int64_t{3});
        rows.push_back(r.add("aten.cat.default", "cat_row_" + std::to_string(oi), row, a));
      }
    }
    if (rows.size() == 1) return rows[0];
    Attrs a;
    a.set("dim", int64_t{2});
    return r.add("aten.cat.default", "cat", rows, a);
  });
}

}  // namespace eq::ethosu
