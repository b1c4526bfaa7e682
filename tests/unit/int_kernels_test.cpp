// Integer reference kernels (include/edgequant/int_kernels.h): HAND-DERIVED expectations (worked
// out on paper from TFLite's documented fixed-point arithmetic, not produced by TFLite). The
// bit-exact comparison against the real TFLite interpreter is tests/golden/int_kernels_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "edgequant/int_kernels.h"
#include "runtime/kernels/int/conv_reference.h"

using namespace eq::intk;

namespace {
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kHalf = 1 << 30;  // 0.5 in Q0.31
}  // namespace

TEST(IntFixedPoint, SaturatingRoundingDoublingHighMul) {
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);  // the one overflow case
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kHalf, kHalf), 1 << 29);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMax, kMax), 2147483646);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -2147483647);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kHalf), -(1 << 30));
  // Ties: exact +0.5 -> 1, -0.5 -> 0, +1.5 -> 2, -1.5 -> -1 (half toward +infinity).
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1, kHalf), 1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1, kHalf), 0);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3, kHalf), 2);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, kHalf), -1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(0, kMin), 0);
}

TEST(IntFixedPoint, RoundingDivideByPOT) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5 -> 3
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5 -> -3 (ties away from zero)
  EXPECT_EQ(RoundingDivideByPOT(6, 2), 2);    // 1.5
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);  // -1.5
  EXPECT_EQ(RoundingDivideByPOT(7, 2), 2);    // 1.75
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);  // -1.75
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);  // -1.25
  EXPECT_EQ(RoundingDivideByPOT(-123, 0), -123);
  EXPECT_EQ(RoundingDivideByPOT(kMax, 31), 1);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 31), -1);
  EXPECT_EQ(RoundingDivideByPOT(1 << 30, 31), 1);      // +0.5
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30), 31), -1);  // -0.5
  EXPECT_EQ(RoundingDivideByPOT((1 << 30) - 1, 31), 0);
}

TEST(IntFixedPoint, QuantizeMultiplier) {
  auto check = [](double m, int32_t mult, int shift) {
    const QuantizedMultiplier q = QuantizeMultiplier(m);
    EXPECT_EQ(q.multiplier, mult) << m;
    EXPECT_EQ(q.shift, shift) << m;
  };
  check(0.0, 0, 0);
  check(0.5, kHalf, 0);
  check(1.0, kHalf, 1);
  check(0.75, 1610612736, 0);
  check(0.25, kHalf, -1);
  check(3.0, 1610612736, 2);
  check(0x1p-31, kHalf, -30);
  check(0x1p-32, kHalf, -31);
  check(0x1p-33, 0, 0);   // shift < -31: flushed to zero
  check(0x1p40, kHalf, 41);  // default build: no saturation at shift 30
  // round(q * 2^31) == 2^31 edge case: halve and bump the shift.
  check(1.0 - 0x1p-33, kHalf, 1);
  check(1.0 - 0x1p-31, kMax, 0);
  // Tie in q * 2^31 = 2^30 + 0.5: rounds away from zero.
  check(0.5 + 0x1p-32, kHalf + 1, 0);

  const QuantizedMultiplier s = QuantizeMultiplierSmallerThanOneExp(0.25);
  EXPECT_EQ(s.multiplier, kHalf);
  EXPECT_EQ(s.shift, -1);
  const QuantizedMultiplier g = QuantizeMultiplierGreaterThanOne(3.0);
  EXPECT_EQ(g.multiplier, 1610612736);
  EXPECT_EQ(g.shift, 2);
}

TEST(IntFixedPoint, MultiplyByQuantizedMultiplier) {
  EXPECT_EQ(MultiplyByQuantizedMultiplier(100, kHalf, 0), 50);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(3, kHalf, 0), 2);    // 1.5 -> 2
  EXPECT_EQ(MultiplyByQuantizedMultiplier(-3, kHalf, 0), -1);  // -1.5 -> -1 (SRDHM tie)
  EXPECT_EQ(MultiplyByQuantizedMultiplier(3, kHalf, -1), 1);   // 0.75
  // Double rounding (TFLite's default, non-TFLITE_SINGLE_ROUNDING variant): 5 * 0.25 = 1.25, but
  // SRDHM rounds 2.5 up to 3 first, then 3 / 2 = 1.5 -> 2. Single rounding would give 1.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(5, kHalf, -1), 2);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(3, kHalf, 2), 6);
  // Left shift 31 wraps like TFLite's int32 arithmetic: 1 << 31 == INT32_MIN.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(1, kHalf, 31), -(1 << 30));
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMax, kMax, -31), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMin, 0), kMax);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMin, -31), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplierSmallerThanOneExp(5, kHalf, -1), 2);
  EXPECT_EQ(MultiplyByQuantizedMultiplierGreaterThanOne(3, kHalf, 2), 6);
}

TEST(IntKernels, Conv2DPaddedStrided) {
  // Input 3x3 = 1..9 with zero point 1 (values 0..8), filter [[1,0],[0,-1]], bias 10,
  // multiplier 0.5, output zero point -2, pads top/left 1, stride 2 -> 2x2.
  const std::vector<int8_t> in = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int8_t> w = {1, 0, 0, -1};
  const std::vector<int32_t> b = {10};
  const QuantizedMultiplier m = QuantizeMultiplier(0.5);
  Conv2DParams p;
  p.in_channels = p.out_channels = 1;
  p.in_h = p.in_w = 3;
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_left = 1;
  p.input_offset = -1;
  p.out.multipliers = &m;
  p.out.output_offset = -2;
  ASSERT_EQ(p.out_h(), 2);
  ASSERT_EQ(p.out_w(), 2);
  std::vector<int8_t> out(4, 0);
  Conv2D(p, in.data(), w.data(), b.data(), out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{3, 2, 0, 1}));
  // Depthwise with one channel is the same computation.
  std::vector<int8_t> dw(4, 0);
  DepthwiseConv2D(p, in.data(), w.data(), b.data(), dw.data());
  EXPECT_EQ(dw, out);
  // Clamp.
  p.out.act_min = 1;
  p.out.act_max = 2;
  Conv2D(p, in.data(), w.data(), b.data(), out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{2, 2, 1, 1}));
}

TEST(IntKernels, FullyConnectedPerChannel) {
  // 2 outputs, per-channel multipliers 0.5 and 0.25, input zp 2.
  const std::vector<int8_t> x = {3, 4, 5};  // -> 1, 2, 3
  const std::vector<int8_t> w = {1, 1, 1, 2, -1, 4};
  const std::vector<int32_t> b = {1, 0};
  const QuantizedMultiplier ms[2] = {QuantizeMultiplier(0.5), QuantizeMultiplier(0.25)};
  FullyConnectedParams p;
  p.in_features = 3;
  p.out_features = 2;
  p.input_offset = -2;
  p.out.multipliers = ms;
  p.out.num_multipliers = 2;
  p.out.output_offset = 1;
  std::vector<int8_t> y(2, 0);
  FullyConnected(p, x.data(), w.data(), b.data(), y.data());
  // o0: 6 + 1 = 7 * 0.5 = 3.5 -> 4, + 1 = 5; o1: 2 - 2 + 12 = 12 * 0.25 = 3, + 1 = 4.
  EXPECT_EQ(y, (std::vector<int8_t>{5, 4}));
}

TEST(IntKernels, AddAndMul) {
  const AddParams ap = MakeAddParams(1.f, 0, 1.f, 0, 1.f, 0);
  EXPECT_EQ(ap.input1.multiplier, kHalf);
  EXPECT_EQ(ap.input1.shift, 0);
  EXPECT_EQ(ap.output.multiplier, kHalf);
  EXPECT_EQ(ap.output.shift, -18);  // 2 / 2^20 = 2^-19
  const std::vector<int8_t> a = {3, -128, 100, -3};
  const std::vector<int8_t> b = {4, -128, 100, 1};
  std::vector<int8_t> o(4, 0);
  Add(ap, a.data(), b.data(), o.data(), 4);
  EXPECT_EQ(o, (std::vector<int8_t>{7, -128, 127, -2}));

  const MulParams mp = MakeMulParams(1.f, 0, 1.f, 0, 2.f, 0);
  const std::vector<int8_t> c = {3, -3, 127, 0};
  const std::vector<int8_t> d = {5, 5, 127, 9};
  Mul(mp, c.data(), d.data(), o.data(), 4);
  // 7.5 -> 8, -7.5 -> -7 (SRDHM ties toward +inf), 8064.5 -> clamp 127, 0.
  EXPECT_EQ(o, (std::vector<int8_t>{8, -7, 127, 0}));
}

TEST(IntKernels, AveragePoolRounding) {
  Pool2DParams p;
  p.channels = 4;
  p.in_h = p.in_w = 2;
  p.kernel_h = p.kernel_w = 2;
  const std::vector<int8_t> in = {1, 1, 1, 2,   1, 1, 2, 2,  // 1.25 -> 1, 1.5 -> 2
                                  -1, -1, -2, -2, -1, -1, -1, -2};  // -1.5 -> -2, -1.25 -> -1
  std::vector<int8_t> out(4, 0);
  AveragePool(p, in.data(), out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{1, 2, -2, -1}));
  // Padding does not count: 3x3 window with pad 1 over a 2x2 plane of {4,4,4,5} averages 4.25.
  Pool2DParams q;
  q.channels = 1;
  q.in_h = q.in_w = 2;
  q.kernel_h = q.kernel_w = 3;
  q.pad_top = q.pad_left = q.pad_bottom = q.pad_right = 1;
  ASSERT_EQ(q.out_h(), 2);
  const std::vector<int8_t> v = {4, 4, 4, 5};
  std::vector<int8_t> r(4, 0);
  AveragePool(q, v.data(), r.data());
  EXPECT_EQ(r, (std::vector<int8_t>{4, 4, 4, 4}));
  // Max pool ignores padding too: all-negative plane keeps its negative maximum.
  const std::vector<int8_t> neg = {-5, -4, -3, -2};
  MaxPool(q, neg.data(), r.data());
  EXPECT_EQ(r, (std::vector<int8_t>{-2, -2, -2, -2}));
}

TEST(IntKernels, MeanHW) {
  const std::vector<int8_t> in = {1, 2, 2, 2, -1, -2, -2, -2};
  std::vector<int8_t> out(2, 0);
  MeanHW(1, 2, 2, 2, in.data(), 0.1f, 0, 0.1f, 0, out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{2, -2}));  // 7/4 -> 2, -7/4 -> -2
  MeanHW(1, 2, 2, 2, in.data(), 0.1f, 0, 0.1f, 5, out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{7, 3}));
}

TEST(IntKernels, QuantizeDequantizeRequantize) {
  const std::vector<float> x = {0.5f, -0.5f, 2.5f, -2.5f, 1000.f, -1000.f, 0.f};
  std::vector<int8_t> q(x.size(), 0);
  Quantize(x.data(), static_cast<int64_t>(x.size()), 1.f, 0, q.data());
  EXPECT_EQ(q, (std::vector<int8_t>{1, -1, 3, -3, 127, -128, 0}));
  Quantize(x.data(), static_cast<int64_t>(x.size()), 1.f, 10, q.data());
  EXPECT_EQ(q, (std::vector<int8_t>{11, 9, 13, 7, 127, -128, 10}));
  // Beyond int32 range (undefined in TFLite's cast): we saturate; NaN gives the zero point.
  const std::vector<float> big = {1e30f, -1e30f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<int8_t> qb(3, 0);
  Quantize(big.data(), 3, 0.5f, 3, qb.data());
  EXPECT_EQ(qb, (std::vector<int8_t>{127, -128, 3}));

  const std::vector<int8_t> d = {-128, 0, 127, 3};
  std::vector<float> f(4, 0.f);
  Dequantize(d.data(), 4, 0.5f, 3, f.data());
  EXPECT_EQ(f, (std::vector<float>{-65.5f, -1.5f, 62.f, 0.f}));

  const std::vector<int8_t> r = {5, -5, 127, -128};
  std::vector<int8_t> o(4, 0);
  Requantize(r.data(), 4, 1.f, 0, 2.f, 1, o.data());
  // 2.5 -> 3, -2.5 -> -2 (SRDHM tie toward +inf), 63.5 -> 64, -64.
  EXPECT_EQ(o, (std::vector<int8_t>{4, -1, 65, -63}));
}

TEST(IntKernels, SoftmaxUniformRow) {
  // Four equal logits: each probability is exactly 1/4 = 64/256 -> 64 - 128 = -64. A row with one
  // dominant logit (difference far below diff_min) puts everything on it: 255/256 -> 127 after
  // saturation of 256 - 128 = 128, and the others at -128.
  const SoftmaxParams p = MakeSoftmaxParams(0.1f);
  const std::vector<int8_t> in = {5, 5, 5, 5, 127, -128, -128, -128};
  std::vector<int8_t> out(8, 0);
  Softmax(p, in.data(), 2, 4, out.data());
  EXPECT_EQ(out, (std::vector<int8_t>{-64, -64, -64, -64, 127, -128, -128, -128}));
}

// TFLite's FULLY_CONNECTED (ai-edge-litert 2.3.0 reference kernel) rounds once; CONV_2D twice.
// The case below is from the cnn fixture's first FC layer exported to TFLite: the real value is
// 26.49952 steps, which double rounding takes to 27 (26.4995 * 2^10 rounds to 27136 = 26.5 * 2^10
// first) and TFLite's FC gives 26.
TEST(IntFixedPoint, FullyConnectedRoundsOnce) {
  EXPECT_EQ(eq::intk::MultiplyByQuantizedMultiplier(41675, 1398274032, -10), 27);
  EXPECT_EQ(eq::intk::MultiplyByQuantizedMultiplierSingleRounding(41675, 1398274032, -10), 26);
  EXPECT_EQ(eq::intk::MultiplyByQuantizedMultiplierSingleRounding(-41675, 1398274032, -10), -26);
  EXPECT_EQ(eq::intk::MultiplyByQuantizedMultiplierSingleRounding(3, 1 << 30, 0), 2);    // 1.5 -> 2
  EXPECT_EQ(eq::intk::MultiplyByQuantizedMultiplierSingleRounding(-3, 1 << 30, 0), -1);  // -1.5 -> -1

  eq::intk::FullyConnectedParams p;
  p.batch = 1;
  p.in_features = 1;
  p.out_features = 1;
  p.input_offset = 0;
  const eq::intk::QuantizedMultiplier m{1398274032, -10};
  p.out.multipliers = &m;
  p.out.output_offset = -128;
  const int8_t x = 1, w = 1;
  const int32_t bias = 41674;
  int8_t fast = 0, ref = 0;
  eq::intk::FullyConnected(p, &x, &w, &bias, &fast);
  eq::intk::FullyConnectedReference(p, &x, &w, &bias, &ref);
  EXPECT_EQ(fast, -102);
  EXPECT_EQ(ref, -102);
}
