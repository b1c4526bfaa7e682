// The integer ops (quantized.*): schemas, kernels run alone, and the intk extensions they use
// (broadcasting add/mul, matmul, mean over any axes, adaptive pool, int32 accumulators) checked
// against the TFLite-exact reference kernels they must agree with.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "edgequant/int_kernels.h"
#include "op_test_util.h"

namespace eq {
namespace {

using optest::run_node;

Tensor rand_i8(Shape s, uint32_t seed) {
  Tensor t(DType::i8, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(-128, 127);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

std::vector<int8_t> bytes(const Tensor& t) { return std::vector<int8_t>(t.data<int8_t>(), t.data<int8_t>() + t.numel()); }

void qparams(Attrs& a, const std::string& prefix, double s, int64_t z) {
  a.set(prefix + "_scale", s);
  a.set(prefix + "_zero_point", z);
}

TEST(IntKernelExtensions, BroadcastAddMulEqualSameShapeKernels) {
  const Tensor a = rand_i8({2, 3, 4}, 1), b = rand_i8({3, 1}, 2);
  std::vector<int8_t> eb;  // b expanded to [2,3,4]
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 4; ++w) eb.push_back(b.data<int8_t>()[c]);
  const intk::AddParams ap = intk::MakeAddParams(0.05f, 3, 0.02f, -1, 0.04f, 2);
  std::vector<int8_t> got(24), want(24);
  intk::BroadcastAdd(ap, a.data<int8_t>(), {2, 3, 4}, b.data<int8_t>(), {3, 1}, got.data());
  intk::Add(ap, a.data<int8_t>(), eb.data(), want.data(), 24);
  EXPECT_EQ(got, want);
  const intk::MulParams mp = intk::MakeMulParams(0.02f, -1, 0.05f, 3, 0.01f, 0);
  intk::BroadcastMul(mp, b.data<int8_t>(), {3, 1}, a.data<int8_t>(), {2, 3, 4}, got.data());
  intk::Mul(mp, eb.data(), a.data<int8_t>(), want.data(), 24);
  EXPECT_EQ(got, want);
}

TEST(IntKernelExtensions, MeanAndAdaptivePoolEqualMeanHW) {
  const Tensor x = rand_i8({2, 3, 5, 7}, 3);
  std::vector<int8_t> hw(6), mean(6), gap(6);
  intk::MeanHW(2, 3, 5, 7, x.data<int8_t>(), 0.05f, 4, 0.03f, -2, hw.data());
  intk::Mean(x.data<int8_t>(), {2, 3, 5, 7}, {false, false, true, true}, 0.05f, 4, 0.03f, -2, mean.data());
  intk::AdaptiveAvgPool2D(2, 3, 5, 7, 1, 1, x.data<int8_t>(), 0.05f, 4, 0.03f, -2, gap.data());
  EXPECT_EQ(mean, hw);
  EXPECT_EQ(gap, hw);
}

TEST(IntKernelExtensions, MatMulEqualsFullyConnectedWithTransposedWeights) {
  // With a symmetric right operand, matmul(a, b) is fully connected with weights b^T.
  const Tensor a = rand_i8({3, 5}, 4), b = rand_i8({5, 4}, 5);
  std::vector<int8_t> bt(20);
  for (int k = 0; k < 5; ++k)
    for (int n = 0; n < 4; ++n) bt[static_cast<size_t>(n * 5 + k)] = b.data<int8_t>()[k * 4 + n];
  intk::MatMulParams mp = intk::MakeMatMulParams(0.05f, 7, 0.01f, 0, 0.2f, -3);
  mp.m = 3, mp.k = 5, mp.n = 4;
  std::vector<int8_t> got(12), want(12);
  intk::MatMul(mp, a.data<int8_t>(), b.data<int8_t>(), got.data());
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(0.05f, {0.01f}, 0.2f);
  intk::FullyConnectedParams fp;
  fp.batch = 3, fp.in_features = 5, fp.out_features = 4, fp.input_offset = -7;
  fp.out.multipliers = m.data();
  fp.out.output_offset = -3;
  intk::FullyConnected(fp, a.data<int8_t>(), bt.data(), nullptr, want.data());
  EXPECT_EQ(got, want);
}

TEST(IntKernelExtensions, Conv2DAccumulateRequantizedEqualsConv2D) {
  const Tensor x = rand_i8({1, 4, 5, 5}, 6), w = rand_i8({4, 4, 3, 3}, 7);
  const std::vector<int32_t> bias = {100, -200, 300, 0};
  const std::vector<intk::QuantizedMultiplier> m = intk::ConvMultipliers(0.05f, {0.01f, 0.02f, 0.005f, 0.03f}, 0.1f);
  intk::Conv2DParams p;
  p.in_channels = 4, p.in_h = 5, p.in_w = 5, p.out_channels = 4, p.kernel_h = 3, p.kernel_w = 3;
  p.pad_top = p.pad_left = 1, p.pad_bottom = p.pad_right = 0;
  p.stride_h = 2, p.input_offset = 9;
  p.out.multipliers = m.data();
  p.out.num_multipliers = 4;
  p.out.output_offset = 5;
  const int plane = p.out_h() * p.out_w();
  std::vector<int8_t> want(static_cast<size_t>(4 * plane)), got(want.size());
  std::vector<int32_t> acc(want.size());
  intk::Conv2D(p, x.data<int8_t>(), w.data<int8_t>(), bias.data(), want.data());
  intk::Conv2DAccumulate(p, x.data<int8_t>(), w.data<int8_t>(), bias.data(), acc.data());
  for (size_t i = 0; i < acc.size(); ++i) {
    const intk::QuantizedMultiplier& q = m[i / static_cast<size_t>(plane)];
    got[i] = static_cast<int8_t>(std::clamp(intk::MultiplyByQuantizedMultiplier(acc[i], q.multiplier, q.shift) + 5, -128, 127));
  }
  EXPECT_EQ(got, want);
}

TEST(QuantizedOps, GroupedConvKernelEqualsConvPerGroup) {
  const Tensor x = rand_i8({2, 4, 5, 5}, 8), w = rand_i8({6, 2, 3, 3}, 9);
  const Tensor b = Tensor::from_vector<int32_t>({6}, {1, 2, 3, -4, -5, 600});
  Attrs a;
  a.set("groups", int64_t{2});
  a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  qparams(a, "x", 0.05, -3);
  qparams(a, "out", 0.1, 4);
  const std::vector<double> ws = {0.01, 0.02, 0.03, 0.01, 0.02, 0.03};
  a.set("w_scales", ws);
  const Tensor y = run_node("quantized.conv2d", {x, w, b}, a).at(0);
  ASSERT_EQ(y.shape(), (Shape{2, 6, 5, 5}));
  const std::vector<intk::QuantizedMultiplier> m =
      intk::ConvMultipliers(0.05f, {0.01f, 0.02f, 0.03f, 0.01f, 0.02f, 0.03f}, 0.1f);
  intk::Conv2DParams p;
  p.in_channels = 2, p.in_h = 5, p.in_w = 5, p.out_channels = 3, p.kernel_h = 3, p.kernel_w = 3;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1, p.input_offset = 3;
  p.out.num_multipliers = 3;
  p.out.output_offset = 4;
  std::vector<int8_t> want(300);
  for (int n = 0; n < 2; ++n)
    for (int g = 0; g < 2; ++g) {
      p.out.multipliers = m.data() + g * 3;
      intk::Conv2D(p, x.data<int8_t>() + (n * 4 + g * 2) * 25, w.data<int8_t>() + g * 54, b.data<int32_t>() + g * 3,
                   want.data() + (n * 6 + g * 3) * 25);
    }
  EXPECT_EQ(bytes(y), want);
}

TEST(QuantizedOps, MaxPoolWithOtherOutputParamsRequantizesOnce) {
  const Tensor x = rand_i8({1, 2, 4, 4}, 10);
  Attrs a;
  a.set("kernel_size", std::vector<int64_t>{2, 2});
  a.set("stride", std::vector<int64_t>{2, 2});
  qparams(a, "x", 0.05, 1);
  qparams(a, "out", 0.08, -2);
  const Tensor y = run_node("quantized.max_pool2d", {x}, a).at(0);
  intk::Pool2DParams p;
  p.channels = 2, p.in_h = 4, p.in_w = 4, p.kernel_h = 2, p.kernel_w = 2, p.stride_h = 2, p.stride_w = 2;
  std::vector<int8_t> pooled(8), want(8);
  intk::MaxPool(p, x.data<int8_t>(), pooled.data());
  intk::Requantize(pooled.data(), 8, 0.05f, 1, 0.08f, -2, want.data());
  EXPECT_EQ(bytes(y), want);
}

TEST(QuantizedOps, RequantizeAndLookupTableKernels) {
  const Tensor x = rand_i8({3, 7}, 11);
  Attrs a;
  qparams(a, "x", 0.05, 1);
  qparams(a, "out", 0.03, -2);
  std::vector<int8_t> want(21);
  intk::Requantize(x.data<int8_t>(), 21, 0.05f, 1, 0.03f, -2, want.data());
  EXPECT_EQ(bytes(run_node("quantized.requantize", {x}, a).at(0)), want);
  Tensor table(DType::i8, {256});
  for (int i = 0; i < 256; ++i) table.data<int8_t>()[i] = static_cast<int8_t>(127 - i);  // q -> -1 - q
  const Tensor y = run_node("quantized.lookup_table", {x, table}).at(0);
  for (int64_t i = 0; i < 21; ++i) EXPECT_EQ(y.data<int8_t>()[i], static_cast<int8_t>(-1 - x.data<int8_t>()[i]));
}

TEST(QuantizedOps, SchemasRejectWrongDtypesAndParams) {
  Attrs a;
  qparams(a, "x", 0.05, 0);
  qparams(a, "out", 0.05, 0);
  a.set("w_scales", std::vector<double>{0.1});
  const Tensor w = rand_i8({2, 3, 1, 1}, 12);
  Tensor xu8(DType::u8, {1, 3, 2, 2});
  optest::expect_error_naming_node([&] { run_node("quantized.conv2d", {xu8, w}, a); }, "/test/quantized.conv2d",
                                   "input must be i8");
  Attrs bad = a;
  bad.set("w_scales", std::vector<double>{0.1, 0.2, 0.3});
  optest::expect_error_naming_node([&] { run_node("quantized.conv2d", {rand_i8({1, 3, 2, 2}, 13), w}, bad); },
                                   "/test/quantized.conv2d", "w_scales");
  optest::expect_error_naming_node(
      [&] { run_node("quantized.lookup_table", {rand_i8({4}, 14), rand_i8({255}, 15)}); },
      "/test/quantized.lookup_table", "[256]");
  Attrs no_out;
  qparams(no_out, "x", 0.05, 0);
  optest::expect_error_naming_node([&] { run_node("quantized.requantize", {rand_i8({4}, 16)}, no_out); },
                                   "/test/quantized.requantize", "out_scale");
  EXPECT_EQ(optest::infer_shape("quantized.conv2d", {{DType::i8, {kBatch, 3, 8, 8}}, {DType::i8, {2, 3, 3, 3}}}, a),
            (Shape{kBatch, 2, 6, 6}));
}

}  // namespace
}  // namespace eq
