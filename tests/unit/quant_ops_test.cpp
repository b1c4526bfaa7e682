// Quantize / dequantize schemas and kernels: ties to even, saturation, output dtype selection,
// per-channel axes, attribute and shape errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "edgequant/kernel.h"
#include "edgequant/ops.h"
#include "op_test_util.h"

namespace eq {
namespace {

const std::string kQT = "quantized_decomposed.quantize_per_tensor.default";
const std::string kQC = "quantized_decomposed.quantize_per_channel.default";
const std::string kDT = "quantized_decomposed.dequantize_per_tensor.default";
const std::string kDC = "quantized_decomposed.dequantize_per_channel.default";

using optest::run_node_ptrs;
using optest::values;

TEST(QuantOps, RoundHalfToEvenAndSaturation) {
  const Tensor x = Tensor::from_vector<float>({8}, {2.5f, -2.5f, 3.5f, 0.5f, -0.5f, 1.5f, 1000.0f, -1000.0f});
  const Tensor s1 = Tensor::scalar<float>(1.0f);
  const Tensor zp8 = Tensor::scalar<int8_t>(0);
  const Tensor q = run_node_ptrs(kQT, {&x, &s1, &zp8})[0];
  ASSERT_EQ(q.dtype(), DType::i8);
  EXPECT_EQ(values<int8_t>(q), (std::vector<int8_t>{2, -2, 4, 0, 0, 2, 127, -128}));
  // u8 with a zero point: round first, then add, then saturate.
  const Tensor zpu = Tensor::scalar<uint8_t>(128);
  const Tensor s2 = Tensor::from_vector<float>({1}, {0.5f});
  const Tensor qu = run_node_ptrs(kQT, {&x, &s2, &zpu})[0];
  ASSERT_EQ(qu.dtype(), DType::u8);
  EXPECT_EQ(values<uint8_t>(qu), (std::vector<uint8_t>{133, 123, 135, 129, 127, 131, 255, 0}));
  // i16 and i32.
  const Tensor zp16 = Tensor::scalar<int16_t>(-10);
  EXPECT_EQ(values<int16_t>(run_node_ptrs(kQT, {&x, &s2, &zp16})[0]), (std::vector<int16_t>{-5, -15, -3, -9, -11, -7, 1990, -2010}));
  const Tensor big = Tensor::from_vector<float>({3}, {3e9f, -3e9f, 12.5f});
  const Tensor zp32 = Tensor::scalar<int32_t>(1);
  EXPECT_EQ(values<int32_t>(run_node_ptrs(kQT, {&big, &s1, &zp32})[0]),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 13}));
}

TEST(QuantOps, DivisionIsDoneInFloat) {
  // x / scale in float (not x * (1/scale)): matches ONNX bit for bit over many values.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-30.0f, 30.0f);
  std::vector<float> xs(100000);
  for (float& v : xs) v = dist(rng);
  const Tensor x = Tensor::from_vector<float>({static_cast<int64_t>(xs.size())}, xs);
  const float scale = 0.1f;
  const Tensor s = Tensor::scalar<float>(scale);
  const Tensor zp = Tensor::scalar<int8_t>(3);
  const auto q = values<int8_t>(run_node_ptrs(kQT, {&x, &s, &zp})[0]);
  for (size_t i = 0; i < xs.size(); ++i) {
    const float r = std::nearbyint(xs[i] / scale) + 3.0f;
    ASSERT_EQ(q[i], static_cast<int8_t>(std::max(-128.0f, std::min(127.0f, r)))) << xs[i];
  }
}

TEST(QuantOps, OutputDtypeSelection) {
  const Tensor x = Tensor::from_vector<float>({3}, {-1.0f, 0.4f, 300.0f});
  const Tensor s = Tensor::scalar<float>(1.0f);
  const Tensor q = run_node_ptrs(kQT, {&x, &s})[0];  // no zero point, no attribute: u8 as ONNX
  ASSERT_EQ(q.dtype(), DType::u8);
  EXPECT_EQ(values<uint8_t>(q), (std::vector<uint8_t>{0, 0, 255}));
  Attrs i8;
  i8.set("dtype", std::string("i8"));
  const Tensor q8 = run_node_ptrs(kQT, {&x, &s, nullptr}, i8)[0];
  ASSERT_EQ(q8.dtype(), DType::i8);
  EXPECT_EQ(values<int8_t>(q8), (std::vector<int8_t>{-1, 0, 127}));
  // Attribute and zero point disagree.
  const Tensor zpu = Tensor::scalar<uint8_t>(0);
  try {
    run_node_ptrs(kQT, {&x, &s, &zpu}, i8);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/test/" + kQT), std::string::npos) << e.what();
  }
  Attrs bad;
  bad.set("dtype", std::string("f32"));
  EXPECT_THROW(run_node_ptrs(kQT, {&x, &s}, bad), Error);
  Attrs bad_int;
  bad_int.set("dtype", int64_t{3});
  EXPECT_THROW(run_node_ptrs(kQT, {&x, &s}, bad_int), Error);
  // Scale must be per tensor.
  const Tensor s2 = Tensor::from_vector<float>({2}, {1.0f, 2.0f});
  EXPECT_THROW(run_node_ptrs(kQT, {&x, &s2}), Error);
  const Tensor si = Tensor::scalar<int32_t>(1);
  EXPECT_THROW(run_node_ptrs(kQT, {&x, &si}), Error);
}

TEST(QuantOps, PerChannel) {
  // x [2,3,2], axis 1: scales [1,2,4], zero points [0,1,-1].
  std::vector<float> xs;
  for (int i = 0; i < 12; ++i) xs.push_back(static_cast<float>(i) - 5.5f);
  const Tensor x = Tensor::from_vector<float>({2, 3, 2}, xs);
  const Tensor s = Tensor::from_vector<float>({3}, {1.0f, 2.0f, 4.0f});
  const Tensor zp = Tensor::from_vector<int8_t>({3}, {0, 1, -1});
  Attrs axis1;
  axis1.set("axis", int64_t{1});
  const Tensor q = run_node_ptrs(kQC, {&x, &s, &zp}, axis1)[0];
  std::vector<int8_t> want;
  for (int i = 0; i < 12; ++i) {
    const int c = (i / 2) % 3;
    const float sc = c == 0 ? 1.0f : c == 1 ? 2.0f : 4.0f;
    want.push_back(static_cast<int8_t>(std::nearbyint(xs[static_cast<size_t>(i)] / sc) + (c == 0 ? 0 : c == 1 ? 1 : -1)));
  }
  EXPECT_EQ(values<int8_t>(q), want);
  // Round trip through dequantize_per_channel: (q - zp) * scale.
  const Tensor y = run_node_ptrs(kDC, {&q, &s, &zp}, axis1)[0];
  ASSERT_EQ(y.dtype(), DType::f32);
  for (int i = 0; i < 12; ++i) {
    const int c = (i / 2) % 3;
    const float sc = c == 0 ? 1.0f : c == 1 ? 2.0f : 4.0f;
    const float z = c == 0 ? 0.0f : c == 1 ? 1.0f : -1.0f;
    EXPECT_EQ(y.data<float>()[i], (static_cast<float>(want[static_cast<size_t>(i)]) - z) * sc);
  }
  // Negative axis: the last dim, without zero points (u8 output).
  Attrs last;
  last.set("axis", int64_t{-1});
  const Tensor s_last = Tensor::from_vector<float>({2}, {1.0f, 0.5f});
  const Tensor ql = run_node_ptrs(kQC, {&x, &s_last}, last)[0];
  ASSERT_EQ(ql.dtype(), DType::u8);
  EXPECT_EQ(values<uint8_t>(ql)[10], 4);   // 4.5 / 1 -> 4 (ties to even)
  EXPECT_EQ(values<uint8_t>(ql)[11], 11);  // 5.5 / 0.5 = 11
  // Scale length must match the channel count; axis must be in range.
  EXPECT_THROW(run_node_ptrs(kQC, {&x, &s_last}, axis1), Error);
  Attrs axis5;
  axis5.set("axis", int64_t{5});
  EXPECT_THROW(run_node_ptrs(kQC, {&x, &s}, axis5), Error);
}

TEST(QuantOps, DequantizePerTensor) {
  const Tensor q = Tensor::from_vector<uint8_t>({4}, {0, 128, 255, 130});
  const Tensor s = Tensor::scalar<float>(0.5f);
  const Tensor zp = Tensor::scalar<uint8_t>(128);
  EXPECT_EQ(values<float>(run_node_ptrs(kDT, {&q, &s, &zp})[0]), (std::vector<float>{-64.0f, 0.0f, 63.5f, 1.0f}));
  const Tensor q32 = Tensor::from_vector<int32_t>({2}, {1000, -1000});
  const Tensor z32 = Tensor::scalar<int32_t>(10);
  EXPECT_EQ(values<float>(run_node_ptrs(kDT, {&q32, &s, &z32})[0]), (std::vector<float>{495.0f, -505.0f}));
  const Tensor q8 = Tensor::from_vector<int8_t>({2}, {-128, 127});
  EXPECT_EQ(values<float>(run_node_ptrs(kDT, {&q8, &s})[0]), (std::vector<float>{-64.0f, 63.5f}));
  // Zero point dtype must match the input's; f32 input is not quantized.
  const Tensor zi8 = Tensor::scalar<int8_t>(0);
  EXPECT_THROW(run_node_ptrs(kDT, {&q, &s, &zi8}), Error);
  const Tensor f = Tensor::from_vector<float>({1}, {1.0f});
  EXPECT_THROW(run_node_ptrs(kDT, {&f, &s}), Error);
}

TEST(QuantOps, SymbolicBatchShapes) {
  register_builtin_op_schemas();
  Node node;
  node.name = "/q";
  node.op = kQT;
  const std::vector<ValueInfo> ins = {{DType::f32, {kBatch, 8}, nullptr}, {DType::f32, {}, nullptr}};
  const auto out = infer_outputs(node, ins, {true, true}, kBatch);
  EXPECT_EQ(out[0].first, DType::u8);
  EXPECT_EQ(out[0].second, (Shape{kBatch, 8}));
  node.op = kQC;
  node.attrs.set("axis", int64_t{0});
  const std::vector<ValueInfo> ins_c = {{DType::f32, {kBatch, 8}, nullptr}, {DType::f32, {8}, nullptr}};
  EXPECT_THROW(infer_outputs(node, ins_c, {true, true}, kBatch), Error);
}

}  // namespace
}  // namespace eq
