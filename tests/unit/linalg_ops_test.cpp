// conv1d/2d, conv_transpose1d/2d, linear, matmul: shape inference, attribute checks, and kernels
// against naive loops written here (independent of the kernels' own reference code).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "edgequant/executor.h"
#include "edgequant/kernel.h"
#include "runtime/kernels/fp32/conv_geom.h"
#include "runtime/kernels/fp32/dnnl_conv.h"
#include "op_test_util.h"
#include "runtime/threading.h"

namespace eq {
namespace {

using optest::expect_close;
using optest::expect_error_naming_node;
using optest::infer;
using optest::make_node;
using optest::random_tensor;
using optest::run_op;

struct ConvCase {
  int64_t n, ic, oc, groups;
  Shape in, kernel, stride, dilation, padding;  // padding: begins then ends
  bool bias;
  std::vector<int64_t> output_padding = {};
};

Attrs conv_attrs(const ConvCase& c) {
  Attrs a;
  a.set("stride", c.stride);
  a.set("dilation", c.dilation);
  a.set("padding", c.padding);
  a.set("groups", c.groups);
  if (!c.output_padding.empty()) a.set("output_padding", c.output_padding);
  return a;
}

// Naive conv straight from the definition, k = 1 or 2 spatial dims.
std::vector<float> naive_conv(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b, const Shape& ys) {
  const size_t k = c.in.size();
  const int64_t IH = k == 2 ? c.in[0] : 1, IW = c.in[k - 1];
  const int64_t KH = k == 2 ? c.kernel[0] : 1, KW = c.kernel[k - 1];
  const int64_t SH = k == 2 ? c.stride[0] : 1, SW = c.stride[k - 1];
  const int64_t DH = k == 2 ? c.dilation[0] : 1, DW = c.dilation[k - 1];
  const int64_t PT = k == 2 ? c.padding[0] : 0, PL = c.padding[k - 1];
  const int64_t OH = k == 2 ? ys[2] : 1, OW = ys[k + 1];
  const int64_t icg = c.ic / c.groups, ocg = c.oc / c.groups;
  std::vector<float> y(static_cast<size_t>(c.n * c.oc * OH * OW));
  const float* X = x.data<float>();
  const float* W = w.data<float>();
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.oc; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = b ? b->data<float>()[o] : 0.0;
          const int64_t g = o / ocg;
          for (int64_t ci = 0; ci < icg; ++ci)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * SH - PT + kh * DH, iw = ow * SW - PL + kw * DW;
                if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                s += static_cast<double>(X[((n * c.ic + g * icg + ci) * IH + ih) * IW + iw]) *
                     W[((o * icg + ci) * KH + kh) * KW + kw];
              }
          y[static_cast<size_t>(((n * c.oc + o) * OH + oh) * OW + ow)] = static_cast<float>(s);
        }
  return y;
}

// Naive transposed conv: the gradient of conv w.r.t. its input, written as a gather.
std::vector<float> naive_conv_transpose(const ConvCase& c, const Tensor& x, const Tensor& w, const Tensor* b,
                                        const Shape& ys) {
  const size_t k = c.in.size();
  const int64_t IH = k == 2 ? c.in[0] : 1, IW = c.in[k - 1];
  const int64_t KH = k == 2 ? c.kernel[0] : 1, KW = c.kernel[k - 1];
  const int64_t SH = k == 2 ? c.stride[0] : 1, SW = c.stride[k - 1];
  const int64_t DH = k == 2 ? c.dilation[0] : 1, DW = c.dilation[k - 1];
  const int64_t PT = k == 2 ? c.padding[0] : 0, PL = c.padding[k - 1];
  const int64_t OH = k == 2 ? ys[2] : 1, OW = ys[k + 1];
  const int64_t icg = c.ic / c.groups, ocg = c.oc / c.groups;
  std::vector<float> y(static_cast<size_t>(c.n * c.oc * OH * OW));
  const float* X = x.data<float>();
  const float* W = w.data<float>();
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t o = 0; o < c.oc; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = b ? b->data<float>()[o] : 0.0;
          const int64_t g = o / ocg;
          for (int64_t ci = 0; ci < icg; ++ci)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t th = oh + PT - kh * DH, tw = ow + PL - kw * DW;
                if (th < 0 || tw < 0 || th % SH || tw % SW) continue;
                const int64_t ih = th / SH, iw = tw / SW;
                if (ih >= IH || iw >= IW) continue;
                const int64_t ic = g * icg + ci;
                s += static_cast<double>(X[((n * c.ic + ic) * IH + ih) * IW + iw]) *
                     W[((ic * ocg + o % ocg) * KH + kh) * KW + kw];
              }
          y[static_cast<size_t>(((n * c.oc + o) * OH + oh) * OW + ow)] = static_cast<float>(s);
        }
  return y;
}

void check_conv(const ConvCase& c, uint32_t seed) {
  const bool t = !c.output_padding.empty();
  const size_t k = c.in.size();
  const std::string op = t ? (k == 1 ? "aten.conv_transpose1d.default" : "aten.conv_transpose2d.input")
                            : (k == 1 ? "aten.conv1d.default" : "aten.conv2d.default");
  Shape xs = {c.n, c.ic};
  xs.insert(xs.end(), c.in.begin(), c.in.end());
  Shape ws = t ? Shape{c.ic, c.oc / c.groups} : Shape{c.oc, c.ic / c.groups};
  ws.insert(ws.end(), c.kernel.begin(), c.kernel.end());
  const Tensor x = random_tensor(xs, seed), w = random_tensor(ws, seed + 1);
  const Tensor b = c.bias ? random_tensor({c.oc}, seed + 2) : Tensor();
  std::vector<Tensor> ins = {x, w};
  if (c.bias) ins.push_back(b);
  // Constant weights (reordered once) and runtime weights (reordered per run).
  for (bool const_w : {true, false}) {
    SCOPED_TRACE(op + (const_w ? " const weights" : " runtime weights"));
    const Tensor y = run_op(op, ins, conv_attrs(c), {false, const_w, const_w});
    const std::vector<float> want = t ? naive_conv_transpose(c, x, w, c.bias ? &b : nullptr, y.shape())
                                      : naive_conv(c, x, w, c.bias ? &b : nullptr, y.shape());
    expect_close(y, want);
  }
  // Both oneDNN activation layouts and the reference loop, explicitly.
  for (DnnlConvLayout layout : {DnnlConvLayout::plain, DnnlConvLayout::blocked}) {
    SCOPED_TRACE(op + (layout == DnnlConvLayout::plain ? " plain" : " blocked"));
    const Tensor y = run_op(op, ins, conv_attrs(c), {false, true, true}, [&](const KernelCreateInfo& ci) {
      auto kern = make_dnnl_conv_kernel(ci, conv_geom_from(ci, t), layout);
      EXPECT_NE(kern, nullptr) << "oneDNN has no implementation";
      return kern;
    });
    const std::vector<float> want = t ? naive_conv_transpose(c, x, w, c.bias ? &b : nullptr, y.shape())
                                      : naive_conv(c, x, w, c.bias ? &b : nullptr, y.shape());
    expect_close(y, want);
  }
  {
    SCOPED_TRACE(op + " reference loop");
    const Tensor y = run_op(op, ins, conv_attrs(c), {}, [&](const KernelCreateInfo& ci) {
      const ConvGeom g = conv_geom_from(ci, t);
      return std::make_unique<FunctionKernel>([g](KernelContext& ctx) {
        const float* bb = ctx.has(2) ? ctx.in(2).data<float>() : nullptr;
        if (g.transposed) conv_transpose_reference(g, ctx.in(0).data<float>(), ctx.in(1).data<float>(), bb, ctx.out(0).data<float>());
        else conv_reference(g, ctx.in(0).data<float>(), ctx.in(1).data<float>(), bb, ctx.out(0).data<float>());
      });
    });
    const std::vector<float> want = t ? naive_conv_transpose(c, x, w, c.bias ? &b : nullptr, y.shape())
                                      : naive_conv(c, x, w, c.bias ? &b : nullptr, y.shape());
    expect_close(y, want);
  }
}

TEST(Conv2d, Groups1MatchesNaive) { check_conv({2, 5, 7, 1, {9, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true}, 1); }
TEST(Conv2d, DepthwiseMatchesNaive) { check_conv({2, 16, 16, 16, {10, 9}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true}, 2); }
TEST(Conv2d, DepthwiseMultiplierMatchesNaive) { check_conv({1, 4, 8, 4, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, false}, 3); }
TEST(Conv2d, Groups2Dilation2MatchesNaive) { check_conv({2, 6, 4, 2, {11, 12}, {3, 2}, {1, 1}, {2, 2}, {2, 1, 2, 1}, true}, 4); }
TEST(Conv2d, AsymmetricPadsStride2MatchesNaive) { check_conv({3, 3, 8, 1, {13, 10}, {3, 3}, {2, 2}, {1, 1}, {0, 1, 2, 0}, true}, 5); }
TEST(Conv2d, NoBias1x1MatchesNaive) { check_conv({2, 8, 5, 1, {6, 6}, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, false}, 6); }
TEST(Conv2d, FashionLikeShapeMatchesNaive) { check_conv({4, 16, 32, 1, {14, 14}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true}, 7); }
TEST(Conv1d, MatchesNaive) { check_conv({2, 4, 6, 1, {17}, {5}, {2}, {1}, {2, 1}, true}, 8); }
TEST(Conv1d, DilatedGroupedMatchesNaive) { check_conv({1, 4, 4, 2, {15}, {3}, {1}, {3}, {0, 3}, false}, 9); }
TEST(ConvTranspose2d, Stride2OutputPaddingMatchesNaive) {
  check_conv({2, 4, 6, 1, {5, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, true, {1, 1}}, 10);
}
TEST(ConvTranspose2d, GroupsDilationAsymmetricMatchesNaive) {
  check_conv({1, 4, 6, 2, {4, 5}, {3, 2}, {2, 1}, {2, 1}, {0, 1, 1, 0}, false, {1, 0}}, 11);
}
TEST(ConvTranspose2d, OutputPaddingBeyondEndPaddingMatchesNaive) {
  // output_padding 1 with no end padding: oneDNN sees a negative right padding.
  check_conv({2, 3, 4, 1, {5, 4}, {3, 3}, {2, 2}, {1, 1}, {0, 0, 0, 0}, true, {1, 1}}, 13);
}
TEST(ConvTranspose1d, MatchesNaive) { check_conv({2, 3, 5, 1, {7}, {4}, {3}, {1}, {1, 2}, true, {0}}, 12); }

TEST(Conv2d, ShapeInferencePropagatesBatch) {
  Attrs a;
  a.set("stride", std::vector<int64_t>{2, 2});
  a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", int64_t{1});
  auto out = infer("aten.conv2d.default", {{kBatch, 3, 28, 28}, {8, 3, 3, 3}, {8}}, a);
  EXPECT_EQ(out[0].second, (Shape{kBatch, 8, 14, 14}));
  EXPECT_EQ(out[0].first, DType::f32);
  // Ceil-free floor: (27 + 2 - 3) / 2 + 1 = 14.
  out = infer("aten.conv2d.default", {{5, 3, 27, 27}, {8, 3, 3, 3}}, a, 5);
  EXPECT_EQ(out[0].second, (Shape{5, 8, 14, 14}));
  Attrs t;
  t.set("stride", std::vector<int64_t>{2, 2});
  t.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  t.set("output_padding", std::vector<int64_t>{1, 1});
  t.set("groups", int64_t{2});
  out = infer("aten.conv_transpose2d.input", {{kBatch, 4, 7, 7}, {4, 3, 3, 3}}, t);
  EXPECT_EQ(out[0].second, (Shape{kBatch, 6, 14, 14}));
}

TEST(Conv2d, BadAttributesNameTheNode) {
  const std::string name = "/test/aten.conv2d.default";
  Attrs a;
  a.set("groups", int64_t{3});
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8, 8}, {6, 4, 3, 3}}, a); }, name, "groups");
  Attrs s;
  s.set("stride", std::vector<int64_t>{1});
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8, 8}, {6, 4, 3, 3}}, s); }, name, "stride");
  Attrs p;
  p.set("padding", std::vector<int64_t>{1, 1, 1});
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8, 8}, {6, 4, 3, 3}}, p); }, name, "padding");
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8, 8}, {6, 3, 3, 3}}, {}); }, name,
                           "input channels");
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 2, 2}, {6, 4, 3, 3}}, {}); }, name, "does not fit");
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8, 8}, {6, 4, 3, 3}, {5}}, {}); }, name, "bias");
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, 4, 8}, {6, 4, 3, 3}}, {}); }, name, "rank");
  expect_error_naming_node([&] { infer("aten.conv2d.default", {{1, kBatch, 8, 8}, {6, 4, 3, 3}}, {}); }, name, "static");
  Attrs op;
  op.set("output_padding", std::vector<int64_t>{1, 1});
  expect_error_naming_node([&] { infer("aten.conv_transpose2d.input", {{1, 4, 8, 8}, {4, 2, 3, 3}}, op); },
                           "/test/aten.conv_transpose2d.input", "output_padding");
}

// ---- linear / matmul ----

std::vector<float> naive_matmul(const float* a, const float* b, int64_t m, int64_t k, int64_t n, bool b_transposed) {
  std::vector<float> y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(a[i * k + p]) * (b_transposed ? b[j * k + p] : b[p * n + j]);
      y[static_cast<size_t>(i * n + j)] = static_cast<float>(s);
    }
  return y;
}

TEST(Linear, MatchesNaiveWithAndWithoutBias) {
  const Tensor x = random_tensor({2, 3, 10}, 20), w = random_tensor({7, 10}, 21), b = random_tensor({7}, 22);
  Tensor y = run_op("aten.linear.default", {x, w, b}, {}, {false, true, true});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 7}));
  std::vector<float> want = naive_matmul(x.data<float>(), w.data<float>(), 6, 10, 7, true);
  for (size_t i = 0; i < want.size(); ++i) want[i] += b.data<float>()[i % 7];
  expect_close(y, want);
  y = run_op("aten.linear.default", {x, w}, {});
  expect_close(y, naive_matmul(x.data<float>(), w.data<float>(), 6, 10, 7, true));
}

TEST(Linear, ShapeChecks) {
  EXPECT_EQ(infer("aten.linear.default", {{kBatch, 10}, {4, 10}, {4}}, {})[0].second, (Shape{kBatch, 4}));
  expect_error_naming_node([] { infer("aten.linear.default", {{kBatch, 9}, {4, 10}}, {}); }, "/test/aten.linear.default",
                           "features");
  expect_error_naming_node([] { infer("aten.linear.default", {{kBatch, 10}, {4, 10}, {5}}, {}); },
                           "/test/aten.linear.default", "bias");
}

TEST(Matmul, BroadcastBatchDims) {
  const Tensor a = random_tensor({2, 1, 3, 4}, 30), b = random_tensor({5, 4, 2}, 31);
  const Tensor y = run_op("aten.matmul.default", {a, b}, {});
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 2}));
  std::vector<float> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j) {
      auto part = naive_matmul(a.data<float>() + i * 12, b.data<float>() + j * 8, 3, 4, 2, false);
      want.insert(want.end(), part.begin(), part.end());
    }
  expect_close(y, want);
}

TEST(Matmul, SharedRightOperandAndVectors) {
  const Tensor a = random_tensor({3, 4, 5}, 32), b = random_tensor({5, 6}, 33);
  Tensor y = run_op("aten.matmul.default", {a, b}, {});
  ASSERT_EQ(y.shape(), (Shape{3, 4, 6}));
  expect_close(y, naive_matmul(a.data<float>(), b.data<float>(), 12, 5, 6, false));
  // 1-D @ 2-D, 2-D @ 1-D, 1-D @ 1-D, 1-D @ batched.
  const Tensor v = random_tensor({5}, 34), u = random_tensor({6}, 35);
  y = run_op("aten.matmul.default", {v, b}, {});
  ASSERT_EQ(y.shape(), (Shape{6}));
  expect_close(y, naive_matmul(v.data<float>(), b.data<float>(), 1, 5, 6, false));
  y = run_op("aten.matmul.default", {b, u}, {});
  ASSERT_EQ(y.shape(), (Shape{5}));
  expect_close(y, naive_matmul(b.data<float>(), u.data<float>(), 5, 6, 1, false));
  y = run_op("aten.matmul.default", {u, u}, {});
  ASSERT_EQ(y.shape(), Shape{});
  expect_close(y, naive_matmul(u.data<float>(), u.data<float>(), 1, 6, 1, false));
  const Tensor bb = random_tensor({2, 5, 3}, 36);
  y = run_op("aten.matmul.default", {v, bb}, {});
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  std::vector<float> want = naive_matmul(v.data<float>(), bb.data<float>(), 1, 5, 3, false);
  auto w2 = naive_matmul(v.data<float>(), bb.data<float>() + 15, 1, 5, 3, false);
  want.insert(want.end(), w2.begin(), w2.end());
  expect_close(y, want);
}

TEST(Matmul, ShapeChecks) {
  EXPECT_EQ(infer("aten.matmul.default", {{kBatch, 8, 16}, {16, 4}}, {})[0].second, (Shape{kBatch, 8, 4}));
  EXPECT_EQ(infer("aten.matmul.default", {{kBatch, 2, 8, 16}, {kBatch, 2, 16, 8}}, {})[0].second,
            (Shape{kBatch, 2, 8, 8}));
  expect_error_naming_node([] { infer("aten.matmul.default", {{3, 4}, {5, 6}}, {}); }, "/test/aten.matmul.default",
                           "contracted");
  expect_error_naming_node([] { infer("aten.matmul.default", {{2, 3, 4}, {3, 4, 6}}, {}); },
                           "/test/aten.matmul.default", "broadcast");
}

TEST(Conv2d, RunsInsideAGraphWithSymbolicBatch) {
  Graph g;
  const int x = g.add_value("x", DType::f32, {kBatch, 3, 8, 8});
  g.inputs = {x};
  const int w = g.add_constant("w", random_tensor({4, 3, 3, 3}, 40));
  const int b = g.add_constant("b", random_tensor({4}, 41));
  Attrs a;
  a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  const int n = g.add_node("aten.conv2d.default", "/conv/Conv", {x, w, b}, 1, a);
  g.outputs = {g.nodes[static_cast<size_t>(n)].outputs[0]};
  infer_graph(g);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 4, 8, 8}));
  Executor ex(g);
  for (int64_t batch : {1, 3}) {
    const Tensor in = random_tensor({batch, 3, 8, 8}, 42);
    const Tensor y = ex.run({in})[0];
    ConvCase c{batch, 3, 4, 1, {8, 8}, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, true};
    const Tensor& bt = *g.value(b).constant;
    expect_close(y, naive_conv(c, in, *g.value(w).constant, &bt, y.shape()));
  }
}

}  // namespace
}  // namespace eq
