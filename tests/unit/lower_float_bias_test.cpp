// lower_to_integer with a float bias beside int8 input and weight, as XNNPACK's static config
// leaves it (dq(int8 x), dq(int8 w), fp32 bias): the bias is quantized to int32 with scale
// x_scale * w_scale[c] (in float32), zero point 0, round half to even (ExecuTorch's XNNPACK
// delegate: QuantParams.from_bias + quantize_per_channel), and the integer op must stay within one
// output LSB of the simulated (fake-quant) graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "edgequant/executor.h"
#include "edgequant/quantize.h"
#include "qdq_graph_util.h"

namespace eq {
namespace {

using namespace qdqtest;

Tensor random_f32(Shape s, uint32_t seed, float lo, float hi) {
  Tensor t(DType::f32, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

const Node& only(const Graph& g, const std::string& op) {
  const auto it = std::find_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; });
  EXPECT_NE(it, g.nodes.end()) << op;
  EXPECT_EQ(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }), 1) << op;
  return *it;
}

// Lowers, checks the op and that the dequantized output is within one output LSB of the fake-quant
// run; returns the lowered graph.
Graph lower_and_compare(const Graph& g, const std::string& op, const Tensor& x, float out_scale) {
  Graph low = g;
  EXPECT_EQ(lower_to_integer(low), 1);
  only(low, op);
  const Tensor a = Executor(g).run({x})[0], b = Executor(low).run({x})[0];
  int off = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float d = std::fabs(a.data<float>()[i] - b.data<float>()[i]);
    EXPECT_LE(d, out_scale * 1.001f) << op << " at " << i;
    off += d > 0;
  }
  std::printf("%s with float bias: %d of %lld outputs one LSB off the fake-quant graph\n", op.c_str(), off,
              static_cast<long long>(a.numel()));
  return low;
}

TEST(LowerFloatBias, Conv2dPerChannel) {
  QdqGraph b;
  const int x = b.input("x", {2, 3, 8, 8});
  const int xq = b.qdq(x, 0.02f, 3);
  const std::vector<float> ws = {0.011f, 0.007f, 0.013f, 0.009f};
  const int w = b.weight(random_i8({4, 3, 3, 3}, 5), ws);
  const int bias = b.g.add_constant("bias", Tensor::from_vector<float>({4}, {0.5f, -0.37f, 0.0123f, -1.9f}));
  Attrs a;
  a.set("stride", std::vector<int64_t>{1, 1});
  a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", int64_t{1});
  const int y = b.node("aten.conv2d.default", {xq, w, bias}, a);
  b.output(b.qdq(y, 0.05f, -4));
  const Graph g = b.done();
  const Graph low = lower_and_compare(g, "quantized.conv2d", random_f32({2, 3, 8, 8}, 6, -1.5f, 2.5f), 0.05f);
  // The int32 bias XNNPACK would store: round_half_even(b * f32(1 / f32(w_scale * x_scale))).
  const Node& conv = only(low, "quantized.conv2d");
  ASSERT_EQ(conv.inputs.size(), 3u);
  const std::vector<int64_t> q = low.value(conv.inputs[2]).constant->to_int64_vector();
  const std::vector<float> fb = {0.5f, -0.37f, 0.0123f, -1.9f};
  for (size_t c = 0; c < 4; ++c) {
    const float s = ws[c] * 0.02f;
    EXPECT_EQ(q[c], static_cast<int64_t>(std::nearbyint(fb[c] * (1.0f / s)))) << c;
  }
}

TEST(LowerFloatBias, LinearPerTensorWithReluAndTiesToEven) {
  QdqGraph b;
  const int x = b.input("x", {5, 16});
  const int xq = b.qdq(x, 0.5f, -10);
  const int w = b.weight(random_i8({3, 16}, 9), {0.25f});
  // scale 0.125: 0.0625 is 0.5 LSB (even: 0), 0.1875 is 1.5 (even: 2), -0.3125 is -2.5 (even: -2).
  const int bias = b.g.add_constant("bias", Tensor::from_vector<float>({3}, {0.0625f, 0.1875f, -0.3125f}));
  const int y = b.node("aten.linear.default", {xq, w, bias});
  const int r = b.node("aten.relu.default", {y});
  b.output(b.qdq(r, 0.3f, -128));
  const Graph g = b.done();
  const Graph low = lower_and_compare(g, "quantized.linear", random_f32({5, 16}, 10, -4.f, 4.f), 0.3f);
  const Node& lin = only(low, "quantized.linear");
  ASSERT_EQ(lin.inputs.size(), 3u);
  EXPECT_EQ(low.value(lin.inputs[2]).dtype, DType::i32);
  EXPECT_EQ(low.value(lin.inputs[2]).constant->to_int64_vector(), (std::vector<int64_t>{0, 2, -2}));
}

TEST(LowerFloatBias, DepthwiseConvWithLargeBias) {
  // A bias far larger than the accumulator range of the products still quantizes (int32) and the
  // output saturates the same way in both runs.
  QdqGraph b;
  const int x = b.input("x", {1, 4, 6, 6});
  const int xq = b.qdq(x, 0.03f, 0);
  const std::vector<float> ws = {0.02f, 0.01f, 0.03f, 0.015f};
  const int w = b.weight(random_i8({4, 1, 3, 3}, 12), ws);
  const int bias = b.g.add_constant("bias", Tensor::from_vector<float>({4}, {3.0f, -0.01f, 100.f, 0.f}));
  Attrs a;
  a.set("stride", std::vector<int64_t>{1, 1});
  a.set("padding", std::vector<int64_t>{0, 0, 0, 0});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", int64_t{4});
  const int y = b.node("aten.conv2d.default", {xq, w, bias}, a);
  b.output(b.qdq(y, 0.04f, 0));
  lower_and_compare(b.done(), "quantized.conv2d", random_f32({1, 4, 6, 6}, 13, -2.f, 2.f), 0.04f);
}

}  // namespace
}  // namespace eq
