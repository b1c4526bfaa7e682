// lower_to_integer on hand-built QDQ graphs. Each test checks that
//   (a) the lowered graph holds the integer op and no quantize/dequantize around it,
//   (b) its int8 output equals an independent computation with the intk reference kernels (or,
//       for the float-function paths, the fp32 kernel on the dequantized values) bit for bit,
//   (c) the dequantized graph output is within 1 LSB of the unlowered (fake-quant) run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "edgequant/executor.h"
#include "edgequant/int_kernels.h"
#include "edgequant/quantize.h"
#include "op_test_util.h"
#include "qdq_graph_util.h"

namespace eq {
namespace {

using namespace qdqtest;

std::vector<int32_t> random_i32(size_t n, uint32_t seed, int lo = -2000, int hi = 2000) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = d(rng);
  return v;
}

struct Run {
  std::vector<Tensor> outputs;
  std::map<std::string, Tensor> values;  // every produced value, by name
};

Run run_graph(const Graph& g, const std::vector<Tensor>& inputs) {
  Executor ex(g);
  Run r;
  r.outputs = ex.run(inputs, [&](int v, const Tensor& t) { r.values[g.value(v).name] = t.clone(); });
  return r;
}

struct Lowered {
  Graph graph;
  int count = 0;
  Run fake, lowered;
  int count_op(const std::string& op) const {
    return static_cast<int>(std::count_if(graph.nodes.begin(), graph.nodes.end(),
                                          [&](const Node& n) { return n.op == op; }));
  }
  const Tensor& int8(const std::string& name) const { return lowered.values.at(name); }
};

// Runs the QDQ graph, lowers a copy, runs that, and checks (c) on every output: within one output
// LSB (`lsb`) of the fake-quant run.
Lowered lower_and_run(const Graph& g, const std::vector<Tensor>& inputs, float lsb) {
  Lowered l;
  l.fake = run_graph(g, inputs);
  l.graph = g;
  l.count = lower_to_integer(l.graph);
  l.graph.validate();
  Graph again = l.graph;
  EXPECT_EQ(lower_to_integer(again), 0) << "lowering a lowered graph changes it";
  l.lowered = run_graph(l.graph, inputs);
  EXPECT_EQ(l.fake.outputs.size(), l.lowered.outputs.size());
  for (size_t k = 0; k < l.fake.outputs.size() && k < l.lowered.outputs.size(); ++k) {
    const Tensor& a = l.fake.outputs[k];
    const Tensor& b = l.lowered.outputs[k];
    EXPECT_EQ(a.shape(), b.shape());
    for (int64_t i = 0; i < a.numel(); ++i)
      EXPECT_LE(std::fabs(a.data<float>()[i] - b.data<float>()[i]), lsb * 1.001f) << "output " << k << " at " << i;
  }
  return l;
}

// (a): the only quantize/dequantize nodes left are `q` model-input quantizes and `dq` output
// dequantizes.
void expect_qdq_count(const Lowered& l, int q, int dq) {
  EXPECT_EQ(l.count_op(kQ), q);
  EXPECT_EQ(l.count_op(kDQ) + l.count_op(kDQC), dq);
}

void expect_same_bytes(const Tensor& got, const std::vector<int8_t>& want) {
  ASSERT_EQ(got.dtype(), DType::i8);
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(static_cast<int>(got.data<int8_t>()[i]), static_cast<int>(want[i])) << "at " << i;
}

std::vector<int8_t> bytes(const Tensor& t) { return std::vector<int8_t>(t.data<int8_t>(), t.data<int8_t>() + t.numel()); }

// Weight constant (i8) and its per-channel scales.
struct ConvCase {
  int64_t n = 2, cin = 4, h = 7, w = 6, cout = 6, kh = 3, kw = 3, groups = 1;
  std::vector<int64_t> stride = {1, 1}, pad = {1, 1, 1, 1}, dilation = {1, 1};
};

// conv2d (+ optional fused activation) between quantize nodes; returns the graph and checks it.
void check_conv2d(const ConvCase& c, const std::string& act, uint32_t seed) {
  const float sx = 0.05f, so = 0.07f;
  const int zx = 3, zo = -20;
  std::vector<float> sw;
  for (int64_t i = 0; i < c.cout; ++i) sw.push_back(0.004f + 0.001f * static_cast<float>(i));
  const Tensor w = random_i8({c.cout, c.cin / c.groups, c.kh, c.kw}, seed);
  const std::vector<int32_t> b = random_i32(static_cast<size_t>(c.cout), seed + 1);
  QdqGraph q;
  const int x = q.input("x", {c.n, c.cin, c.h, c.w});
  const int xd = q.qdq(x, sx, zx, "x_q");
  Attrs a;
  a.set("stride", c.stride);
  a.set("padding", c.pad);
  a.set("dilation", c.dilation);
  a.set("groups", c.groups);
  int y = q.node("aten.conv2d.default", {xd, q.weight(w, sw), q.bias(b, sx, sw)}, a, "/m/conv/Conv");
  if (act == "relu") y = q.node("aten.relu.default", {y});
  if (act == "relu6") {
    Attrs h;
    h.set("min_val", 0.0);
    h.set("max_val", 6.0);
    y = q.node("aten.hardtanh.default", {y}, h);
  }
  q.output(q.dq(q.q(y, so, zo, "y_q"), so, zo));
  const Graph g = q.done();
  const Tensor xin = optest::random_tensor({c.n, c.cin, c.h, c.w}, seed + 2, -4.f, 4.f);
  const Lowered l = lower_and_run(g, {xin}, so);
  EXPECT_EQ(l.count_op("quantized.conv2d"), 1);
  EXPECT_EQ(l.count_op("aten.conv2d.default"), 0);
  EXPECT_EQ(l.count_op("aten.relu.default") + l.count_op("aten.hardtanh.default"), 0);
  expect_qdq_count(l, 1, 1);
  // (b): the reference conv, one Conv2D per group on sliced buffers.
  const Tensor& xi = l.int8("x_q");
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(sx, sw, so);
  intk::Conv2DParams p;
  p.batch = 1;
  p.in_channels = static_cast<int>(c.cin / c.groups);
  p.in_h = static_cast<int>(c.h), p.in_w = static_cast<int>(c.w);
  p.out_channels = static_cast<int>(c.cout / c.groups);
  p.kernel_h = static_cast<int>(c.kh), p.kernel_w = static_cast<int>(c.kw);
  p.stride_h = static_cast<int>(c.stride[0]), p.stride_w = static_cast<int>(c.stride[1]);
  p.dilation_h = static_cast<int>(c.dilation[0]), p.dilation_w = static_cast<int>(c.dilation[1]);
  p.pad_top = static_cast<int>(c.pad[0]), p.pad_left = static_cast<int>(c.pad[1]);
  p.pad_bottom = static_cast<int>(c.pad[2]), p.pad_right = static_cast<int>(c.pad[3]);
  p.input_offset = -zx;
  p.out.num_multipliers = p.out_channels;
  p.out.output_offset = zo;
  p.out.act_min = act.empty() ? -128 : zo;
  p.out.act_max = act == "relu6" ? std::min(127, zo + static_cast<int>(std::round(6.0f / so))) : 127;
  const int64_t oh = p.out_h(), ow = p.out_w();
  std::vector<int8_t> want(static_cast<size_t>(c.n * c.cout * oh * ow));
  for (int64_t n = 0; n < c.n; ++n)
    for (int64_t gi = 0; gi < c.groups; ++gi) {
      p.out.multipliers = m.data() + gi * p.out_channels;
      intk::Conv2D(p, xi.data<int8_t>() + (n * c.cin + gi * p.in_channels) * c.h * c.w,
                   w.data<int8_t>() + gi * p.out_channels * p.in_channels * c.kh * c.kw,
                   b.data() + gi * p.out_channels, want.data() + (n * c.cout + gi * p.out_channels) * oh * ow);
    }
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, Conv2dPerChannelRelu) { check_conv2d(ConvCase{}, "relu", 1); }

TEST(LowerToInteger, Conv2dRelu6StridedDilated) {
  ConvCase c;
  c.stride = {2, 1};
  c.dilation = {1, 2};
  c.pad = {0, 2, 1, 1};
  check_conv2d(c, "relu6", 2);
}

TEST(LowerToInteger, DepthwiseConv) {
  ConvCase c;
  c.cin = 6, c.cout = 6, c.groups = 6;
  check_conv2d(c, "relu", 3);
}

TEST(LowerToInteger, DepthwiseMultiplier2AndGroupedConv) {
  ConvCase dw;
  dw.cin = 3, dw.cout = 6, dw.groups = 3;
  check_conv2d(dw, "", 4);
  ConvCase grouped;
  grouped.cin = 4, grouped.cout = 6, grouped.groups = 2;
  check_conv2d(grouped, "", 5);
}

TEST(LowerToInteger, GroupedConvFusedTanhThroughFloat) {
  const float sx = 0.05f, so = 1.0f / 128;
  const std::vector<float> sw = {0.01f, 0.02f, 0.015f, 0.012f};
  const Tensor w = random_i8({4, 1, 3, 3}, 161);  // groups 2: 2 input channels -> 4 outputs
  const std::vector<int32_t> b = random_i32(4, 162);
  QdqGraph q;
  const int x = q.input("x", {1, 2, 4, 5});
  Attrs a;
  a.set("groups", int64_t{2});
  a.set("padding", std::vector<int64_t>{1, 0, 1, 0});
  int y = q.node("aten.conv2d.default", {q.qdq(x, sx, 4, "x_q"), q.weight(w, sw), q.bias(b, sx, sw)}, a);
  y = q.node("aten.tanh.default", {y});
  q.output(q.dq(q.q(y, so, 0, "y_q"), so, 0));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({1, 2, 4, 5}, 163, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.conv2d"), 1);
  EXPECT_EQ(l.count_op("aten.tanh.default"), 0);
  expect_qdq_count(l, 1, 1);
  // Naive int32 accumulators (output [1,4,4,3]), dequantized, the fp32 tanh kernel, quantized.
  const int8_t* xi = l.int8("x_q").data<int8_t>();
  Tensor acc(DType::f32, {1, 4, 4, 3});
  for (int oc = 0; oc < 4; ++oc)
    for (int oy = 0; oy < 4; ++oy)
      for (int ox = 0; ox < 3; ++ox) {
        int32_t s = b[static_cast<size_t>(oc)];
        const int ic = oc / 2;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = oy - 1 + ky, ix = ox + kx;
            if (iy < 0 || iy >= 4) continue;
            s += w.data<int8_t>()[oc * 9 + ky * 3 + kx] * (xi[ic * 20 + iy * 5 + ix] - 4);
          }
        acc.data<float>()[(oc * 4 + oy) * 3 + ox] =
            static_cast<float>(static_cast<double>(s) * (double{sx} * double{sw[static_cast<size_t>(oc)]}));
      }
  const Tensor t = optest::run_node("aten.tanh.default", {acc}).at(0);
  std::vector<int8_t> want;
  for (int64_t i = 0; i < t.numel(); ++i)
    want.push_back(static_cast<int8_t>(std::clamp(std::nearbyint(t.data<float>()[i] / so), -128.f, 127.f)));
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, Conv1dPerTensorWeight) {
  const float sx = 0.03f, sw = 0.01f, so = 0.1f;
  const Tensor w = random_i8({5, 3, 3}, 11);
  const std::vector<int32_t> b = random_i32(5, 12);
  QdqGraph q;
  const int x = q.input("x", {2, 3, 10});
  Attrs a;
  a.set("stride", std::vector<int64_t>{2});
  a.set("padding", std::vector<int64_t>{1, 2});
  const int y = q.node("aten.conv1d.default", {q.qdq(x, sx, -5, "x_q"), q.weight(w, {sw}), q.bias(b, sx, {sw})}, a);
  q.output(q.dq(q.q(y, so, 7, "y_q"), so, 7));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 10}, 13, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.conv1d"), 1);
  expect_qdq_count(l, 1, 1);
  intk::Conv2DParams p;
  p.batch = 2, p.in_channels = 3, p.in_h = 1, p.in_w = 10, p.out_channels = 5, p.kernel_h = 1, p.kernel_w = 3;
  p.stride_w = 2, p.pad_left = 1, p.pad_right = 2, p.input_offset = 5;
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(sx, {sw}, so);
  p.out.multipliers = m.data();
  p.out.output_offset = 7;
  std::vector<int8_t> want(static_cast<size_t>(2 * 5 * p.out_w()));
  intk::Conv2D(p, l.int8("x_q").data<int8_t>(), w.data<int8_t>(), b.data(), want.data());
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, BiasWithOtherScaleIsRequantizedFromFloat) {
  // A bias quantized with a scale that is not x_scale * w_scale: re-quantized from its float value.
  const float sx = 0.05f, sw = 0.02f, so = 0.2f;
  const Tensor w = random_i8({4, 6}, 21);
  QdqGraph q;
  const int x = q.input("x", {3, 6});
  const int bv = q.g.add_constant("b", Tensor::from_vector<int32_t>({4}, {100, -250, 7, 0}));
  const int bd = q.node(kDQ, {bv, q.scale(0.01f), q.g.add_constant("bz", Tensor::scalar<int32_t>(0))});
  const int y = q.node("aten.linear.default", {q.qdq(x, sx, 0, "x_q"), q.weight(w, {sw, sw, sw, sw}), bd});
  q.output(q.dq(q.q(y, so, 0, "y_q"), so, 0));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({3, 6}, 22, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.linear"), 1);
  const std::vector<int32_t> b = {1000, -2500, 70, 0};  // 0.01 / (0.05 * 0.02) = 10x
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(sx, {sw, sw, sw, sw}, so);
  intk::FullyConnectedParams p;
  p.batch = 3, p.in_features = 6, p.out_features = 4;
  p.out.multipliers = m.data();
  p.out.num_multipliers = 4;
  std::vector<int8_t> want(12);
  intk::FullyConnected(p, l.int8("x_q").data<int8_t>(), w.data<int8_t>(), b.data(), want.data());
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, LinearRank3InputFusedHardtanh) {
  const float sx = 0.04f, so = 0.03f;
  const std::vector<float> sw = {0.01f, 0.02f, 0.015f, 0.012f, 0.008f};
  const Tensor w = random_i8({5, 8}, 31);
  const std::vector<int32_t> b = random_i32(5, 32);
  QdqGraph q;
  const int x = q.input("x", {2, 3, 8});
  int y = q.node("aten.linear.default", {q.qdq(x, sx, 10, "x_q"), q.weight(w, sw), q.bias(b, sx, sw)});
  Attrs h;
  h.set("min_val", -0.5);
  h.set("max_val", 1.0);
  y = q.node("aten.hardtanh.default", {y}, h);
  q.output(q.dq(q.q(y, so, -3, "y_q"), so, -3));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 8}, 33, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.linear"), 1);
  EXPECT_EQ(l.count_op("aten.hardtanh.default"), 0);
  expect_qdq_count(l, 1, 1);
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(sx, sw, so);
  intk::FullyConnectedParams p;
  p.batch = 6, p.in_features = 8, p.out_features = 5, p.input_offset = -10;
  p.out.multipliers = m.data();
  p.out.num_multipliers = 5;
  p.out.output_offset = -3;
  p.out.act_min = -3 + static_cast<int>(std::round(-0.5f / so));
  p.out.act_max = -3 + static_cast<int>(std::round(1.0f / so));
  std::vector<int8_t> want(30);
  intk::FullyConnected(p, l.int8("x_q").data<int8_t>(), w.data<int8_t>(), b.data(), want.data());
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, LinearFusedSigmoidThroughFloat) {
  const float sx = 0.05f, sw = 0.01f, so = 1.0f / 256;
  const Tensor w = random_i8({4, 6}, 41);
  const std::vector<int32_t> b = random_i32(4, 42);
  QdqGraph q;
  const int x = q.input("x", {5, 6});
  int y = q.node("aten.linear.default", {q.qdq(x, sx, 0, "x_q"), q.weight(w, {sw}), q.bias(b, sx, {sw})});
  y = q.node("aten.sigmoid.default", {y});
  q.output(q.dq(q.q(y, so, -128, "y_q"), so, -128));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({5, 6}, 43, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.linear"), 1);
  EXPECT_EQ(l.count_op("aten.sigmoid.default"), 0);
  expect_qdq_count(l, 1, 1);
  // Integer accumulators, dequantized, the fp32 sigmoid kernel, the fp32 quantize.
  const Tensor& xi = l.int8("x_q");
  Tensor acc(DType::f32, {5, 4});
  for (int r = 0; r < 5; ++r)
    for (int o = 0; o < 4; ++o) {
      int32_t s = b[static_cast<size_t>(o)];
      for (int i = 0; i < 6; ++i) s += w.data<int8_t>()[o * 6 + i] * xi.data<int8_t>()[r * 6 + i];
      acc.data<float>()[r * 4 + o] = static_cast<float>(static_cast<double>(s) * (double{sx} * double{sw}));
    }
  const Tensor sig = optest::run_node("aten.sigmoid.default", {acc}).at(0);
  std::vector<int8_t> want;
  for (int64_t i = 0; i < sig.numel(); ++i) {
    const float v = std::nearbyint(sig.data<float>()[i] / so) - 128.f;
    want.push_back(static_cast<int8_t>(std::clamp(v, -128.f, 127.f)));
  }
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, MatmulTwoActivationsBroadcast) {
  const float sa = 0.05f, sb = 0.04f, so = 0.3f;
  QdqGraph q;
  const int a = q.input("a", {2, 3, 4});
  const int b = q.input("b", {4, 5});
  const int y = q.node("aten.matmul.default", {q.qdq(a, sa, 2, "a_q"), q.qdq(b, sb, -7, "b_q")});
  q.output(q.dq(q.q(y, so, 1, "y_q"), so, 1));
  const Lowered l = lower_and_run(
      q.done(), {optest::random_tensor({2, 3, 4}, 51, -3.f, 3.f), optest::random_tensor({4, 5}, 52, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.matmul"), 1);
  expect_qdq_count(l, 2, 1);
  intk::MatMulParams p = intk::MakeMatMulParams(sa, 2, sb, -7, so, 1);
  p.m = 3, p.k = 4, p.n = 5;
  std::vector<int8_t> want(30);
  for (int t = 0; t < 2; ++t)
    intk::MatMul(p, l.int8("a_q").data<int8_t>() + t * 12, l.int8("b_q").data<int8_t>(), want.data() + t * 15);
  expect_same_bytes(l.int8("y_q"), want);
}

// Expands `t` (i8) to `shape` by numpy broadcasting (for the same-shape reference kernels).
std::vector<int8_t> expand(const Tensor& t, const Shape& shape) {
  const Tensor f(DType::f32, shape);
  Tensor src(DType::f32, t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) src.data<float>()[i] = t.data<int8_t>()[i];
  const Tensor e = optest::run_node("aten.add.Tensor", {src, f}).at(0);
  std::vector<int8_t> r;
  for (int64_t i = 0; i < e.numel(); ++i) r.push_back(static_cast<int8_t>(e.data<float>()[i]));
  return r;
}

TEST(LowerToInteger, AddBroadcastFusedReluAndMulBroadcast) {
  const float sa = 0.05f, sb = 0.02f, so = 0.06f;
  QdqGraph q;
  const int a = q.input("a", {2, 3, 4, 4});
  const int b = q.input("b", {3, 1, 1});
  const int ad = q.qdq(a, sa, 4, "a_q"), bd = q.qdq(b, sb, -9, "b_q");
  const int s = q.node("aten.relu.default", {q.node("aten.add.Tensor", {ad, bd})});
  q.output(q.dq(q.q(s, so, -30, "sum_q"), so, -30));
  const int m = q.node("aten.mul.Tensor", {bd, ad});
  q.output(q.dq(q.q(m, 0.01f, 5, "prod_q"), 0.01f, 5));
  const Lowered l = lower_and_run(
      q.done(), {optest::random_tensor({2, 3, 4, 4}, 61, -3.f, 3.f), optest::random_tensor({3, 1, 1}, 62, -2.f, 2.f)},
      0.06f);
  EXPECT_EQ(l.count_op("quantized.add"), 1);
  EXPECT_EQ(l.count_op("quantized.mul"), 1);
  EXPECT_EQ(l.count_op("aten.relu.default"), 0);
  expect_qdq_count(l, 2, 2);
  const Shape full = {2, 3, 4, 4};
  const std::vector<int8_t> ea = expand(l.int8("a_q"), full), eb = expand(l.int8("b_q"), full);
  intk::AddParams ap = intk::MakeAddParams(sa, 4, sb, -9, so, -30);
  ap.act_min = -30;
  std::vector<int8_t> want(ea.size());
  intk::Add(ap, ea.data(), eb.data(), want.data(), static_cast<int64_t>(want.size()));
  expect_same_bytes(l.int8("sum_q"), want);
  const intk::MulParams mp = intk::MakeMulParams(sb, -9, sa, 4, 0.01f, 5);
  intk::Mul(mp, eb.data(), ea.data(), want.data(), static_cast<int64_t>(want.size()));
  expect_same_bytes(l.int8("prod_q"), want);
}

TEST(LowerToInteger, CatRequantizesInputsWithOtherParams) {
  QdqGraph q;
  const int a = q.input("a", {2, 3, 4});
  const int b = q.input("b", {2, 2, 4});
  Attrs d;
  d.set("dim", int64_t{1});
  const int c = q.node("aten.cat.default", {q.qdq(a, 0.05f, 0, "a_q"), q.qdq(b, 0.02f, 3, "b_q")}, d);
  q.output(q.dq(q.q(c, 0.05f, 0, "c_q"), 0.05f, 0));
  const Lowered l = lower_and_run(
      q.done(), {optest::random_tensor({2, 3, 4}, 71, -3.f, 3.f), optest::random_tensor({2, 2, 4}, 72, -2.f, 2.f)},
      0.05f);
  EXPECT_EQ(l.count_op("quantized.cat"), 1);
  expect_qdq_count(l, 2, 1);
  std::vector<int8_t> rb(16);
  intk::Requantize(l.int8("b_q").data<int8_t>(), 16, 0.02f, 3, 0.05f, 0, rb.data());
  std::vector<int8_t> want;
  const std::vector<int8_t> av = bytes(l.int8("a_q"));
  for (int n = 0; n < 2; ++n) {
    want.insert(want.end(), av.begin() + n * 12, av.begin() + n * 12 + 12);
    want.insert(want.end(), rb.begin() + n * 8, rb.begin() + n * 8 + 8);
  }
  expect_same_bytes(l.int8("c_q"), want);
}

TEST(LowerToInteger, CatWithEqualParamsIsInt8Movement) {
  QdqGraph q;
  const int a = q.input("a", {2, 3});
  const int b = q.input("b", {2, 3});
  const int c = q.node("aten.cat.default", {q.qdq(a, 0.05f, 1, "a_q"), q.qdq(b, 0.05f, 1, "b_q")});
  q.output(q.dq(q.q(c, 0.05f, 1, "c_q"), 0.05f, 1));
  const Lowered l = lower_and_run(
      q.done(), {optest::random_tensor({2, 3}, 73, -3.f, 3.f), optest::random_tensor({2, 3}, 74)}, 0.05f);
  EXPECT_EQ(l.count_op("aten.cat.default"), 1);
  expect_qdq_count(l, 2, 1);
  std::vector<int8_t> want = bytes(l.int8("a_q"));
  const std::vector<int8_t> bv = bytes(l.int8("b_q"));
  want.insert(want.end(), bv.begin(), bv.end());
  expect_same_bytes(l.int8("c_q"), want);
}

TEST(LowerToInteger, MaxAndAvgPool) {
  const float s = 0.04f;
  QdqGraph q;
  const int x = q.input("x", {2, 3, 7, 7});
  const int xd = q.qdq(x, s, -2, "x_q");
  Attrs mp;
  mp.set("kernel_size", std::vector<int64_t>{3, 3});
  mp.set("stride", std::vector<int64_t>{2, 2});
  mp.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  q.output(q.dq(q.q(q.node("aten.max_pool2d.default", {xd}, mp), s, -2, "max_q"), s, -2));
  Attrs ap;
  ap.set("kernel_size", std::vector<int64_t>{2, 2});
  ap.set("stride", std::vector<int64_t>{2, 2});
  ap.set("ceil_mode", int64_t{1});
  q.output(q.dq(q.q(q.node("aten.avg_pool2d.default", {xd}, ap), s, -2, "avg_q"), s, -2));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 7, 7}, 81, -3.f, 3.f)}, s);
  EXPECT_EQ(l.count_op("quantized.max_pool2d"), 1);
  EXPECT_EQ(l.count_op("quantized.avg_pool2d"), 1);
  expect_qdq_count(l, 1, 2);
  intk::Pool2DParams p;
  p.batch = 2, p.channels = 3, p.in_h = 7, p.in_w = 7, p.kernel_h = 3, p.kernel_w = 3, p.stride_h = 2, p.stride_w = 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  std::vector<int8_t> want(static_cast<size_t>(2 * 3 * p.out_h() * p.out_w()));
  intk::MaxPool(p, l.int8("x_q").data<int8_t>(), want.data());
  expect_same_bytes(l.int8("max_q"), want);
  // ceil_mode: 7 -> 4 windows of 2, the last one with a single in-bounds row/column.
  intk::Pool2DParams a = p;
  a.kernel_h = a.kernel_w = 2;
  a.pad_top = a.pad_left = 0;
  a.pad_bottom = a.pad_right = 1;
  want.assign(static_cast<size_t>(2 * 3 * 4 * 4), 0);
  ASSERT_EQ(a.out_h(), 4);
  intk::AveragePool(a, l.int8("x_q").data<int8_t>(), want.data());
  expect_same_bytes(l.int8("avg_q"), want);
}

// SUB between two activations: TFLite's SUB (ADD with input 2's multiplier negated), checked
// against LiteRT 2.3.0 through the TFLite export (bit exact on 4096 values); here against the
// kernel and within one step of fake-quant (lower_and_run).
TEST(LowerToInteger, SubBroadcast) {
  const float sa = 0.05f, sb = 0.02f, so = 0.06f;
  QdqGraph q;
  const int a = q.input("a", {2, 3, 4, 4});
  const int b = q.input("b", {3, 1, 1});
  const int ad = q.qdq(a, sa, 4, "a_q"), bd = q.qdq(b, sb, -9, "b_q");
  q.output(q.dq(q.q(q.node("aten.sub.Tensor", {ad, bd}), so, -3, "diff_q"), so, -3));
  const Lowered l = lower_and_run(
      q.done(), {optest::random_tensor({2, 3, 4, 4}, 63, -3.f, 3.f), optest::random_tensor({3, 1, 1}, 64, -2.f, 2.f)},
      so);
  EXPECT_EQ(l.count_op("quantized.sub"), 1);
  const Shape full = {2, 3, 4, 4};
  const std::vector<int8_t> ea = expand(l.int8("a_q"), full), eb = expand(l.int8("b_q"), full);
  const intk::AddParams p = intk::MakeSubParams(sa, 4, sb, -9, so, -3);
  std::vector<int8_t> want(ea.size());
  intk::Add(p, ea.data(), eb.data(), want.data(), static_cast<int64_t>(want.size()));
  expect_same_bytes(l.int8("diff_q"), want);
}

// SUM over some dims (the Ethos-U quantizer's mean decomposition): TFLite's int8 SUM, in float.
TEST(LowerToInteger, SumOverDims) {
  const float s = 0.05f, so = 0.4f;
  QdqGraph q;
  const int x = q.input("x", {2, 3, 5});
  const int xd = q.qdq(x, s, 6, "x_q");
  Attrs m;
  m.set("dim", std::vector<int64_t>{2});
  m.set("keepdim", int64_t{1});
  q.output(q.dq(q.q(q.node("aten.sum.dim_IntList", {xd}, m), so, -2, "sum_q"), so, -2));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 5}, 92, -3.f, 3.f)}, so);
  EXPECT_EQ(l.count_op("quantized.sum"), 1);
  const int8_t* xi = l.int8("x_q").data<int8_t>();
  std::vector<int8_t> want(6);
  for (int r = 0; r < 6; ++r) {
    int32_t raw = 0;
    for (int k = 0; k < 5; ++k) raw += xi[r * 5 + k];
    const float scale = s / so, bias = static_cast<float>(-6) * scale * 5.f;
    const float v = std::round(static_cast<float>(raw) * scale + bias) - 2.f;
    want[static_cast<size_t>(r)] = static_cast<int8_t>(std::clamp(v, -128.f, 127.f));
  }
  expect_same_bytes(l.int8("sum_q"), want);
}

TEST(LowerToInteger, AdaptiveAvgPoolAndMean) {
  const float s = 0.05f, so = 0.02f;
  QdqGraph q;
  const int x = q.input("x", {2, 3, 5, 6});
  const int xd = q.qdq(x, s, 6, "x_q");
  Attrs g1;
  g1.set("output_size", std::vector<int64_t>{1, 1});
  q.output(q.dq(q.q(q.node("aten.adaptive_avg_pool2d.default", {xd}, g1), so, -1, "gap_q"), so, -1));
  Attrs g2;
  g2.set("output_size", std::vector<int64_t>{2, 4});
  q.output(q.dq(q.q(q.node("aten.adaptive_avg_pool2d.default", {xd}, g2), s, 6, "ap_q"), s, 6));
  Attrs m;
  m.set("dim", std::vector<int64_t>{1, 3});
  m.set("keepdim", int64_t{1});
  q.output(q.dq(q.q(q.node("aten.mean.dim", {xd}, m), so, 2, "mean_q"), so, 2));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 5, 6}, 91, -3.f, 3.f)}, s);
  EXPECT_EQ(l.count_op("quantized.adaptive_avg_pool2d"), 2);
  EXPECT_EQ(l.count_op("quantized.mean"), 1);
  expect_qdq_count(l, 1, 3);
  const int8_t* xi = l.int8("x_q").data<int8_t>();
  std::vector<int8_t> want(6);
  intk::MeanHW(2, 3, 5, 6, xi, s, 6, so, -1, want.data());
  expect_same_bytes(l.int8("gap_q"), want);
  // Adaptive bins: rows {0..2}, {2..4}; columns {0,1}, {1,2}, {3,4}, {4,5} (PyTorch's floor/ceil).
  std::vector<int8_t> ap;
  for (int pl = 0; pl < 6; ++pl)
    for (int oy = 0; oy < 2; ++oy)
      for (int ox = 0; ox < 4; ++ox) {
        const int y0 = oy * 5 / 2, y1 = ((oy + 1) * 5 + 1) / 2, x0 = ox * 6 / 4, x1 = ((ox + 1) * 6 + 3) / 4;
        int32_t acc = 0;
        for (int y = y0; y < y1; ++y)
          for (int xx = x0; xx < x1; ++xx) acc += xi[pl * 30 + y * 6 + xx] - 6;
        const intk::QuantizedMultiplier mm = intk::MeanMultiplier(s, s, (y1 - y0) * (x1 - x0));
        ap.push_back(static_cast<int8_t>(
            std::clamp(intk::MultiplyByQuantizedMultiplier(acc, mm.multiplier, mm.shift) + 6, -128, 127)));
      }
  expect_same_bytes(l.int8("ap_q"), ap);
  // Mean over C and W: per (n, h), 18 elements.
  std::vector<int8_t> mean;
  const intk::QuantizedMultiplier mm = intk::MeanMultiplier(s, so, 18);
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 5; ++h) {
      int32_t acc = 0;
      for (int c = 0; c < 3; ++c)
        for (int w = 0; w < 6; ++w) acc += xi[((n * 3 + c) * 5 + h) * 6 + w] - 6;
      mean.push_back(static_cast<int8_t>(
          std::clamp(intk::MultiplyByQuantizedMultiplier(acc, mm.multiplier, mm.shift) + 2, -128, 127)));
    }
  expect_same_bytes(l.int8("mean_q"), mean);
}

TEST(LowerToInteger, SoftmaxFixedPointAndFloatPath) {
  const float s = 0.1f;
  QdqGraph q;
  const int x = q.input("x", {3, 10});
  const int xd = q.qdq(x, s, 0, "x_q");
  Attrs d;
  d.set("dim", int64_t{-1});
  q.output(q.dq(q.q(q.node("aten.softmax.int", {xd}, d), 1.0f / 256, -128, "sm_q"), 1.0f / 256, -128));
  Attrs d0;
  d0.set("dim", int64_t{0});
  q.output(q.dq(q.q(q.node("aten.softmax.int", {xd}, d0), 1.0f / 200, -100, "sm0_q"), 1.0f / 200, -100));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({3, 10}, 101, -4.f, 4.f)}, 1.0f / 200);
  EXPECT_EQ(l.count_op("quantized.softmax"), 2);
  expect_qdq_count(l, 1, 2);
  std::vector<int8_t> want(30);
  intk::Softmax(intk::MakeSoftmaxParams(s), l.int8("x_q").data<int8_t>(), 3, 10, want.data());
  expect_same_bytes(l.int8("sm_q"), want);
  // Float path: dequantize, the fp32 softmax over dim 0, quantize.
  Tensor f(DType::f32, {3, 10});
  for (int i = 0; i < 30; ++i) f.data<float>()[i] = static_cast<float>(l.int8("x_q").data<int8_t>()[i]) * s;
  const Tensor sm = optest::run_node("aten.softmax.int", {f}, d0).at(0);
  for (int i = 0; i < 30; ++i)
    want[static_cast<size_t>(i)] = static_cast<int8_t>(
        std::clamp(std::nearbyint(sm.data<float>()[i] / (1.0f / 200)) - 100.f, -128.f, 127.f));
  expect_same_bytes(l.int8("sm0_q"), want);
}

// The lookup table against the fp32 kernel applied to every dequantized int8 value.
void check_table(const std::string& op, Attrs attrs, uint32_t seed) {
  const float s = 0.05f, so = 0.02f;
  QdqGraph q;
  const int x = q.input("x", {4, 16});
  const int y = q.node(op, {q.qdq(x, s, -5, "x_q")}, attrs);
  q.output(q.dq(q.q(y, so, 3, "y_q"), so, 3));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({4, 16}, seed, -6.f, 6.f)}, so);
  EXPECT_EQ(l.count_op("quantized.lookup_table"), 1) << op;
  EXPECT_EQ(l.count_op(op), 0) << op;
  expect_qdq_count(l, 1, 1);
  const Tensor& xi = l.int8("x_q");
  Tensor f(DType::f32, xi.shape());
  for (int64_t i = 0; i < xi.numel(); ++i) f.data<float>()[i] = static_cast<float>(xi.data<int8_t>()[i] + 5) * s;
  const Tensor r = optest::run_node(op, {f}, attrs).at(0);
  std::vector<int8_t> want;
  for (int64_t i = 0; i < r.numel(); ++i)
    want.push_back(static_cast<int8_t>(std::clamp(std::nearbyint(r.data<float>()[i] / so) + 3.f, -128.f, 127.f)));
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, LookupTableSigmoidTanhHardswish) {
  check_table("aten.sigmoid.default", {}, 111);
  check_table("aten.tanh.default", {}, 112);
  check_table("aten.hardswish.default", {}, 113);
  Attrs g;
  g.set("approximate", std::string("tanh"));
  check_table("aten.gelu.default", g, 114);
}

TEST(LowerToInteger, LookupTableForScalarConstantOperand) {
  QdqGraph q;
  const int x = q.input("x", {8});
  const int c = q.g.add_constant("half", Tensor::scalar<float>(0.5f));
  q.output(q.dq(q.q(q.node("aten.mul.Tensor", {q.qdq(x, 0.1f, 0, "x_q"), c}), 0.05f, 0, "y_q"), 0.05f, 0));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({8}, 115, -5.f, 5.f)}, 0.05f);
  EXPECT_EQ(l.count_op("quantized.lookup_table"), 1);
  EXPECT_EQ(l.count_op("quantized.mul"), 0);
  std::vector<int8_t> want;
  for (int8_t v : bytes(l.int8("x_q")))
    want.push_back(static_cast<int8_t>(std::clamp(std::nearbyint(static_cast<float>(v) * 0.1f * 0.5f / 0.05f), -128.f, 127.f)));
  expect_same_bytes(l.int8("y_q"), want);
}

TEST(LowerToInteger, MovementOnInt8) {
  const float s = 0.05f;
  QdqGraph q;
  const int x = q.input("x", {2, 3, 4});
  Attrs r;
  r.set("shape", std::vector<int64_t>{2, 12});
  int y = q.qdq(q.node("aten.reshape.default", {q.qdq(x, s, 2, "x_q")}, r), s, 2, "reshape_q");
  Attrs p;
  p.set("dims", std::vector<int64_t>{1, 0});
  y = q.qdq(q.node("aten.permute.default", {y}, p), s, 2, "permute_q");
  Attrs pd;
  pd.set("pad", std::vector<int64_t>{1, 0, 0, 2});
  y = q.qdq(q.node("aten.pad.default", {y}, pd), s, 2, "pad_q");
  Attrs sl;
  sl.set("dim", int64_t{0});
  sl.set("start", int64_t{1});
  sl.set("end", int64_t{9});
  sl.set("step", int64_t{2});
  // The slice's output has other qparams: int8 slice, then a requantize.
  q.output(q.dq(q.q(q.node("aten.slice_copy.Tensor", {y}, sl), 0.1f, -4, "slice_q"), 0.1f, -4));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 3, 4}, 121, -3.f, 3.f)}, 0.1f);
  for (const char* op : {"aten.reshape.default", "aten.permute.default", "aten.pad.default", "aten.slice_copy.Tensor"})
    EXPECT_EQ(l.count_op(op), 1) << op;
  EXPECT_EQ(l.count_op("quantized.requantize"), 1);
  expect_qdq_count(l, 1, 1);
  EXPECT_EQ(l.lowered.values.at("reshape_q").dtype(), DType::i8);
  // Reference: the same movement by hand on int8.
  const std::vector<int8_t> xv = bytes(l.int8("x_q"));  // [2,12]
  std::vector<int8_t> padded(13 * 4, 2);               // [12,2] permuted, padded to [13,4] with the zero point
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 2; ++j) padded[static_cast<size_t>((i + 1) * 4 + j)] = xv[static_cast<size_t>(j * 12 + i)];
  expect_same_bytes(l.int8("pad_q"), padded);
  std::vector<int8_t> sliced;
  for (int i = 1; i < 9; i += 2) sliced.insert(sliced.end(), padded.begin() + i * 4, padded.begin() + i * 4 + 4);
  std::vector<int8_t> want(sliced.size());
  intk::Requantize(sliced.data(), static_cast<int64_t>(sliced.size()), s, 2, 0.1f, -4, want.data());
  expect_same_bytes(l.int8("slice_q"), want);
}

TEST(LowerToInteger, SplitOutputsWithEqualOtherAndNoQparams) {
  const float s = 0.05f;
  QdqGraph q;
  const int x = q.input("x", {2, 6});
  Attrs a;
  a.set("split_sizes", std::vector<int64_t>{1, 2, 3});
  a.set("dim", int64_t{1});
  const int k = q.g.add_node("aten.split_with_sizes.default", "/m/split", {q.qdq(x, s, 1, "x_q")}, 3, a);
  const std::vector<int> outs = q.g.nodes[static_cast<size_t>(k)].outputs;
  q.output(q.dq(q.q(outs[0], s, 1, "s0_q"), s, 1));          // same qparams
  q.output(q.dq(q.q(outs[2], 0.1f, -2, "s2_q"), 0.1f, -2));  // other qparams; output 1 unused
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({2, 6}, 171, -3.f, 3.f)}, 0.1f);
  EXPECT_EQ(l.count_op("aten.split_with_sizes.default"), 1);
  EXPECT_EQ(l.count_op("quantized.requantize"), 1);
  expect_qdq_count(l, 1, 2);
  const std::vector<int8_t> xv = bytes(l.int8("x_q"));
  expect_same_bytes(l.int8("s0_q"), {xv[0], xv[6]});
  const std::vector<int8_t> last = {xv[3], xv[4], xv[5], xv[9], xv[10], xv[11]};
  std::vector<int8_t> want(6);
  intk::Requantize(last.data(), 6, s, 1, 0.1f, -2, want.data());
  expect_same_bytes(l.int8("s2_q"), want);
}

TEST(LowerToInteger, DequantizeQuantizePairs) {
  QdqGraph q;
  const int x = q.input("x", {16});
  const int a = q.q(x, 0.05f, 1, "a_q");
  const int b = q.q(q.dq(a, 0.05f, 1), 0.08f, -3, "b_q");   // other params: requantize
  const int c = q.q(q.dq(b, 0.08f, -3), 0.08f, -3, "c_q");  // same params: identity
  q.output(q.dq(c, 0.08f, -3));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({16}, 131, -4.f, 4.f)}, 0.08f);
  EXPECT_EQ(l.count, 2);
  EXPECT_EQ(l.count_op("quantized.requantize"), 1);
  expect_qdq_count(l, 1, 1);
  std::vector<int8_t> want(16);
  intk::Requantize(l.int8("a_q").data<int8_t>(), 16, 0.05f, 1, 0.08f, -3, want.data());
  expect_same_bytes(l.int8("b_q"), want);
  EXPECT_EQ(l.graph.find_value("c_q"), -1);  // rewired to b_q
}

TEST(LowerToInteger, Uint8GraphIsLeftUntouched) {
  QdqGraph q;
  const int x = q.input("x", {1, 2, 5, 5});
  const int xd = q.qdq(x, 0.05f, 128, "x_q", DType::u8);
  const int y = q.node("aten.conv2d.default", {xd, q.weight(random_i8({3, 2, 3, 3}, 141), {0.01f, 0.02f, 0.03f})});
  q.output(q.dq(q.q(y, 0.1f, 120, "y_q", DType::u8), 0.1f, 120, DType::u8));
  const Graph g = q.done();
  const Lowered l = lower_and_run(g, {optest::random_tensor({1, 2, 5, 5}, 142)}, 0.0f);
  EXPECT_EQ(l.count, 0);
  ASSERT_EQ(l.graph.nodes.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) EXPECT_EQ(l.graph.nodes[i].op, g.nodes[i].op);
}

TEST(LowerToInteger, FloatConsumerKeepsPatternUnlowered) {
  // The conv output is also read by a float relu (a graph output): the conv stays fp32. Its input
  // dequantize also feeds a max pool that is lowered, so the dequantize must survive too.
  const float sx = 0.05f;
  QdqGraph q;
  const int x = q.input("x", {1, 2, 5, 5});
  const int xd = q.qdq(x, sx, 0, "x_q");
  const int y = q.node("aten.conv2d.default", {xd, q.weight(random_i8({3, 2, 3, 3}, 151), {0.01f})});
  q.output(q.dq(q.q(y, 0.1f, 0, "y_q"), 0.1f, 0));
  q.output(q.node("aten.relu.default", {y}));
  Attrs mp;
  mp.set("kernel_size", std::vector<int64_t>{2, 2});
  mp.set("stride", std::vector<int64_t>{2, 2});
  q.output(q.dq(q.q(q.node("aten.max_pool2d.default", {xd}, mp), sx, 0, "pool_q"), sx, 0));
  const Lowered l = lower_and_run(q.done(), {optest::random_tensor({1, 2, 5, 5}, 152)}, 0.0f);
  EXPECT_EQ(l.count, 1);
  EXPECT_EQ(l.count_op("aten.conv2d.default"), 1);
  EXPECT_EQ(l.count_op("quantized.conv2d"), 0);
  EXPECT_EQ(l.count_op("quantized.max_pool2d"), 1);
  EXPECT_GE(l.count_op(kDQ), 2);  // the conv's input and weight dequantize stay
}

}  // namespace
}  // namespace eq
