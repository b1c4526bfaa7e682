// fold_batch_norm: conv / conv_transpose / linear + inference BatchNorm folded as torch.ao's
// fuse_conv_bn_weights / fuse_linear_bn_weights do; the graph before and after must compute the
// same outputs (within 1e-5), names must survive, and the cases that must not fold stay.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

const std::string kBN = "aten._native_batch_norm_legit_no_training.default";

Tensor random_tensor(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

struct Builder {
  Graph g;
  std::mt19937 rng{1234};

  Builder() { register_builtin_op_schemas(); }
  int input(const std::string& name, Shape s) {
    const int v = g.add_value(name, DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  int constant(const std::string& name, Tensor t) { return g.add_constant(name, std::move(t)); }
  int rand_const(const std::string& name, Shape s, float lo = -0.5f, float hi = 0.5f) {
    return constant(name, random_tensor(std::move(s), rng, lo, hi));
  }
  int node(const std::string& op, const std::string& name, std::vector<int> ins, Attrs a = {}) {
    const int idx = g.add_node(op, name, std::move(ins), 1, std::move(a));
    infer_node(g, g.nodes[static_cast<size_t>(idx)]);
    return g.nodes[static_cast<size_t>(idx)].outputs[0];
  }
  // Inference BatchNorm over `c` channels with non-trivial statistics; output named `out`.
  int batch_norm(int x, int64_t c, const std::string& prefix, const std::string& out) {
    Attrs a;
    a.set("eps", 1e-5);
    a.set("momentum", 0.9);
    const int y = node(kBN, prefix + "/BatchNormalization",
                       {x, rand_const(prefix + ".weight", {c}, 0.5f, 1.5f), rand_const(prefix + ".bias", {c}, -0.3f, 0.3f),
                        rand_const(prefix + ".running_mean", {c}, -0.5f, 0.5f), rand_const(prefix + ".running_var", {c}, 0.3f, 2.0f)},
                       a);
    g.value(y).name = out;
    return y;
  }
  void output(int v) { g.outputs.push_back(v); }
};

Attrs conv_attrs(size_t k, int64_t groups, int64_t pad = 1, int64_t stride = 1) {
  Attrs a;
  a.set("stride", std::vector<int64_t>(k, stride));
  a.set("padding", std::vector<int64_t>(2 * k, pad));
  a.set("dilation", std::vector<int64_t>(k, 1));
  a.set("groups", groups);
  return a;
}

Attrs conv_transpose_attrs(size_t k, int64_t groups) {
  Attrs a = conv_attrs(k, groups, 1, 2);
  a.set("output_padding", std::vector<int64_t>(k, 1));
  return a;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op == op;
  return n;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

// Folds a copy of `g`, checks the count, that no BatchNorm feeding a fused node is left, and that
// outputs on random inputs stay within 1e-5. Returns the folded graph.
Graph expect_folds(const Graph& g, int want, uint32_t seed = 7) {
  Graph f = g;
  EXPECT_EQ(fold_batch_norm(f), want);
  f.validate();
  EXPECT_EQ(count_op(f, kBN), count_op(g, kBN) - want);
  std::mt19937 rng(seed);
  std::vector<Tensor> inputs;
  for (int v : g.inputs) {
    Shape s = g.value(v).shape;
    for (int64_t& d : s)
      if (d == kBatch) d = 3;
    inputs.push_back(random_tensor(s, rng));
  }
  Executor before(g), after(f);
  const std::vector<Tensor> a = before.run(inputs), b = after.run(inputs);
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) EXPECT_LE(max_abs_diff(a[i], b[i]), 1e-5f) << "output " << i;
  for (size_t i = 0; i < g.outputs.size(); ++i) EXPECT_EQ(f.value(f.outputs[i]).name, g.value(g.outputs[i]).name);
  return f;
}

// conv -> BN -> relu, for conv1d/conv2d, with or without bias, any groups.
Graph conv_bn(size_t k, int64_t cin, int64_t cout, int64_t groups, bool bias) {
  Builder b;
  Shape xs{kBatch, cin};
  for (size_t i = 0; i < k; ++i) xs.push_back(7);
  const int x = b.input("x", xs);
  Shape ws{cout, cin / groups};
  for (size_t i = 0; i < k; ++i) ws.push_back(3);
  const int w = b.rand_const("conv.weight", ws);
  const int bi = bias ? b.rand_const("conv.bias", {cout}) : kNoValue;
  const int c = b.node(k == 1 ? "aten.conv1d.default" : "aten.conv2d.default", "/conv/Conv", {x, w, bi}, conv_attrs(k, groups));
  const int bn = b.batch_norm(c, cout, "bn", "bn_out");
  const int r = b.node("aten.relu.default", "/relu/Relu", {bn});
  b.g.value(r).name = "y";
  b.output(r);
  return b.g;
}

void expect_conv_fused(const Graph& f) {
  ASSERT_EQ(f.nodes.size(), 2u);
  const Node& conv = f.nodes[0];
  EXPECT_EQ(conv.name, "/conv/Conv");
  EXPECT_EQ(f.value(conv.outputs[0]).name, "bn_out");  // the BatchNorm's output survives
  ASSERT_EQ(conv.inputs.size(), 3u);
  ASSERT_TRUE(f.is_constant(conv.inputs[1]));
  ASSERT_TRUE(f.is_constant(conv.inputs[2]));
  EXPECT_EQ(f.value(conv.inputs[1]).name, "conv.weight");
  EXPECT_EQ(f.value(conv.inputs[2]).constant->dtype(), DType::f32);
  EXPECT_EQ(f.nodes[1].inputs[0], conv.outputs[0]);
}

TEST(FoldBatchNorm, Conv2dWithBias) {
  const Graph f = expect_folds(conv_bn(2, 3, 8, 1, true), 1);
  expect_conv_fused(f);
  EXPECT_EQ(f.value(f.nodes[0].inputs[2]).name, "conv.bias");
}

TEST(FoldBatchNorm, Conv2dWithoutBiasGetsOne) {
  const Graph g = conv_bn(2, 3, 8, 1, false);
  const Graph f = expect_folds(g, 1);
  expect_conv_fused(f);
  EXPECT_EQ(f.value(f.nodes[0].inputs[2]).constant->shape(), (Shape{8}));
}

TEST(FoldBatchNorm, GroupedAndDepthwiseConv2d) {
  expect_conv_fused(expect_folds(conv_bn(2, 4, 6, 2, true), 1));
  expect_conv_fused(expect_folds(conv_bn(2, 4, 4, 4, false), 1));  // depthwise
  expect_conv_fused(expect_folds(conv_bn(2, 4, 8, 4, true), 1));   // depthwise, multiplier 2
}

TEST(FoldBatchNorm, Conv1d) {
  expect_conv_fused(expect_folds(conv_bn(1, 3, 5, 1, true), 1));
  expect_conv_fused(expect_folds(conv_bn(1, 6, 6, 3, false), 1));
}

TEST(FoldBatchNorm, MatchesTorchFormulaExactly) {
  // One channel by hand: W' = W*g/sqrt(v+eps), b' = (b-m)*g/sqrt(v+eps)+beta in double.
  Builder b;
  const int x = b.input("x", {1, 1, 1, 1});
  const int w = b.constant("w", Tensor::from_vector<float>({1, 1, 1, 1}, {0.7f}));
  const int bi = b.constant("b", Tensor::from_vector<float>({1}, {0.1f}));
  const int c = b.node("aten.conv2d.default", "/c", {x, w, bi}, conv_attrs(2, 1, 0));
  Attrs a;
  a.set("eps", 1e-3);
  const int y = b.node(kBN, "/bn", {c, b.constant("g", Tensor::from_vector<float>({1}, {1.5f})), b.constant("be", Tensor::from_vector<float>({1}, {0.25f})),
                                    b.constant("m", Tensor::from_vector<float>({1}, {-0.2f})), b.constant("v", Tensor::from_vector<float>({1}, {0.81f}))},
                       a);
  b.output(y);
  Graph f = b.g;
  ASSERT_EQ(fold_batch_norm(f), 1);
  const double s = 1.5 / std::sqrt(static_cast<double>(0.81f) + 1e-3);
  EXPECT_EQ(f.value(f.nodes[0].inputs[1]).constant->data<float>()[0], static_cast<float>(static_cast<double>(0.7f) * s));
  EXPECT_EQ(f.value(f.nodes[0].inputs[2]).constant->data<float>()[0],
            static_cast<float>((static_cast<double>(0.1f) - static_cast<double>(-0.2f)) * s + 0.25));
}

Graph conv_transpose_bn(size_t k, int64_t cin, int64_t cout, int64_t groups, bool bias) {
  Builder b;
  Shape xs{kBatch, cin};
  for (size_t i = 0; i < k; ++i) xs.push_back(5);
  const int x = b.input("x", xs);
  Shape ws{cin, cout / groups};
  for (size_t i = 0; i < k; ++i) ws.push_back(3);
  const int w = b.rand_const("up.weight", ws);
  const int bi = bias ? b.rand_const("up.bias", {cout}) : kNoValue;
  const int c = b.node(k == 1 ? "aten.conv_transpose1d.default" : "aten.conv_transpose2d.input", "/up/ConvTranspose", {x, w, bi},
                       conv_transpose_attrs(k, groups));
  const int bn = b.batch_norm(c, cout, "bn", "bn_out");
  b.output(bn);
  return b.g;
}

TEST(FoldBatchNorm, ConvTransposeScalesAxis1WithGroups) {
  for (const auto& [cin, cout, groups, bias] : std::vector<std::tuple<int64_t, int64_t, int64_t, bool>>{
           {4, 6, 1, true}, {4, 6, 2, true}, {6, 4, 2, false}, {4, 8, 4, false}, {6, 9, 3, true}}) {
    SCOPED_TRACE("cin " + std::to_string(cin) + " cout " + std::to_string(cout) + " groups " + std::to_string(groups));
    const Graph f = expect_folds(conv_transpose_bn(2, cin, cout, groups, bias), 1);
    ASSERT_EQ(f.nodes.size(), 1u);
    EXPECT_EQ(f.nodes[0].name, "/up/ConvTranspose");
    EXPECT_EQ(f.value(f.nodes[0].outputs[0]).name, "bn_out");
  }
  expect_folds(conv_transpose_bn(1, 4, 6, 2, true), 1);
}

Graph linear_bn(bool bias) {
  Builder b;
  const int x = b.input("x", {kBatch, 12});
  const int w = b.rand_const("fc.weight", {10, 12});
  const int bi = bias ? b.rand_const("fc.bias", {10}) : kNoValue;
  const int l = b.node("aten.linear.default", "/fc/Gemm", {x, w, bi});
  const int bn = b.batch_norm(l, 10, "bn", "bn_out");
  const int r = b.node("aten.relu.default", "/relu/Relu", {bn});
  b.output(r);
  return b.g;
}

TEST(FoldBatchNorm, LinearBatchNorm1d) {
  for (bool bias : {true, false}) {
    const Graph f = expect_folds(linear_bn(bias), 1);
    ASSERT_EQ(f.nodes.size(), 2u);
    EXPECT_EQ(f.nodes[0].op, "aten.linear.default");
    EXPECT_EQ(f.nodes[0].name, "/fc/Gemm");
    EXPECT_EQ(f.value(f.nodes[0].outputs[0]).name, "bn_out");
    EXPECT_TRUE(f.is_constant(f.nodes[0].inputs[2]));
  }
}

TEST(FoldBatchNorm, ChainsFoldAndDownstreamNamesSurvive) {
  Builder b;
  const int x = b.input("x", {kBatch, 3, 6, 6});
  const int c1 = b.node("aten.conv2d.default", "/c1", {x, b.rand_const("w1", {4, 3, 3, 3}), kNoValue}, conv_attrs(2, 1));
  const int n1 = b.batch_norm(c1, 4, "bn1", "bn1_out");
  const int r1 = b.node("aten.relu.default", "/r1", {n1});
  const int c2 = b.node("aten.conv2d.default", "/c2", {r1, b.rand_const("w2", {4, 1, 3, 3}), b.rand_const("b2", {4})}, conv_attrs(2, 4));
  const int n2 = b.batch_norm(c2, 4, "bn2", "bn2_out");
  const int add = b.node("aten.add.Tensor", "/add", {n2, r1});
  b.output(add);
  const Graph f = expect_folds(b.g, 2);
  EXPECT_NE(f.find_value("bn1_out"), -1);
  EXPECT_NE(f.find_value("bn2_out"), -1);
  EXPECT_EQ(f.value(f.find_value("bn2_out")).producer, 2);
}

TEST(FoldBatchNorm, SharedWeightIsCopiedNotMutated) {
  Builder b;
  const int x = b.input("x", {kBatch, 3, 5, 5});
  const int w = b.rand_const("w", {4, 3, 3, 3});
  const Tensor w_before = b.g.value(w).constant->clone();
  const int c1 = b.node("aten.conv2d.default", "/c1", {x, w, kNoValue}, conv_attrs(2, 1));
  const int c2 = b.node("aten.conv2d.default", "/c2", {x, w, kNoValue}, conv_attrs(2, 1));
  const int n1 = b.batch_norm(c1, 4, "bn", "bn_out");
  b.output(n1);
  b.output(c2);
  const Graph g = b.g;
  const Graph f = expect_folds(g, 1);
  EXPECT_TRUE(g.value(w).constant->identical(w_before));  // the original graph is untouched
  const int fw = f.find_value("w");
  ASSERT_NE(fw, -1);
  EXPECT_TRUE(f.value(fw).constant->identical(w_before));  // c2 still reads the original
}

TEST(FoldBatchNorm, OriginalGraphCopyUntouched) {
  const Graph g = conv_bn(2, 3, 8, 1, true);
  const Tensor w = g.value(g.find_value("conv.weight")).constant->clone();
  Graph f = g;
  ASSERT_EQ(fold_batch_norm(f), 1);
  EXPECT_TRUE(g.value(g.find_value("conv.weight")).constant->identical(w));
}

TEST(FoldBatchNorm, LeavesWhatMustNotFold) {
  // Conv output also read by another node.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int c = b.node("aten.conv2d.default", "/c", {x, b.rand_const("w", {4, 3, 3, 3}), kNoValue}, conv_attrs(2, 1));
    const int n = b.batch_norm(c, 4, "bn", "bn_out");
    b.output(b.node("aten.add.Tensor", "/add", {n, c}));
    expect_folds(b.g, 0);
  }
  // Conv output is a graph output.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int c = b.node("aten.conv2d.default", "/c", {x, b.rand_const("w", {4, 3, 3, 3}), kNoValue}, conv_attrs(2, 1));
    b.output(b.batch_norm(c, 4, "bn", "bn_out"));
    b.output(c);
    expect_folds(b.g, 0);
  }
  // BatchNorm parameter not constant (a graph input).
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int gamma = b.input("gamma", {4});
    const int c = b.node("aten.conv2d.default", "/c", {x, b.rand_const("w", {4, 3, 3, 3}), kNoValue}, conv_attrs(2, 1));
    Attrs a;
    a.set("eps", 1e-5);
    b.output(b.node(kBN, "/bn", {c, gamma, b.rand_const("be", {4}), b.rand_const("m", {4}), b.rand_const("v", {4}, 0.5f, 1.5f)}, a));
    Graph f = b.g;
    EXPECT_EQ(fold_batch_norm(f), 0);
    EXPECT_EQ(count_op(f, kBN), 1);
  }
  // Conv weight not constant.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int w = b.input("w", {4, 3, 3, 3});
    const int c = b.node("aten.conv2d.default", "/c", {x, w, kNoValue}, conv_attrs(2, 1));
    b.output(b.batch_norm(c, 4, "bn", "bn_out"));
    expect_folds(b.g, 0);
  }
  // Conv bias not constant.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int bias = b.input("bias", {4});
    const int c = b.node("aten.conv2d.default", "/c", {x, b.rand_const("w", {4, 3, 3, 3}), bias}, conv_attrs(2, 1));
    b.output(b.batch_norm(c, 4, "bn", "bn_out"));
    expect_folds(b.g, 0);
  }
  // BatchNorm after something that is not a conv/linear, and directly on a graph input.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 3, 5, 5});
    const int r = b.node("aten.relu.default", "/r", {x});
    b.output(b.batch_norm(r, 3, "bn", "bn_out"));
    b.output(b.batch_norm(x, 3, "bn2", "bn2_out"));
    expect_folds(b.g, 0);
  }
  // Linear on rank 3: BatchNorm normalises axis 1 (the sequence), not the linear's features.
  {
    Builder b;
    const int x = b.input("x", {kBatch, 6, 6});
    const int l = b.node("aten.linear.default", "/fc", {x, b.rand_const("w", {6, 6}), b.rand_const("b", {6})});
    b.output(b.batch_norm(l, 6, "bn", "bn_out"));
    expect_folds(b.g, 0);
  }
}

TEST(FoldBatchNorm, TorchExportedModelWithBatchNormalizationNodes) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_FIXTURES_DIR) / "models";
  Graph g = onnx::load((dir / "bn_small.onnx").string());
  EXPECT_EQ(count_op(g, kBN), 4);
  const Tensor x = read_npy((dir / "bn_small.input.npy").string());
  const Tensor want = read_npy((dir / "bn_small.output.npy").string());
  const Tensor before = Executor(g).run({x})[0];
  EXPECT_LE(max_abs_diff(before, want), 1e-5f);
  const size_t nodes = g.nodes.size();
  EXPECT_EQ(fold_batch_norm(g), 4);
  g.validate();
  EXPECT_EQ(count_op(g, kBN), 0);
  EXPECT_EQ(g.nodes.size(), nodes - 4);
  const Tensor after = Executor(g).run({x})[0];
  EXPECT_LE(max_abs_diff(after, want), 1e-5f);
  // Module paths survive on the fused nodes.
  for (const Node& n : g.nodes)
    if (n.op == "aten.conv2d.default") {
      EXPECT_EQ(n.module.rfind("conv", 0), 0u) << n.name;
    }
  // And the folded graph still round-trips through ONNX.
  const std::string bytes = onnx::save_to_bytes(g);
  const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), "folded");
  EXPECT_TRUE(Executor(g2).run({x})[0].identical(after));
}

}  // namespace
}  // namespace eq
