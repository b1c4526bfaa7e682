// Elementwise schemas and kernels: broadcasting (fast paths and the general case), integer
// arithmetic for shape folding, unary activations, attribute checks.
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

using optest::infer_shape;
using optest::run_node;
using optest::values;

std::vector<float> iota_f(int64_t n, float start = 0.0f, float step = 1.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = start + step * static_cast<float>(i);
  return v;
}

std::vector<float> random_f(int64_t n, unsigned seed, float lo = -3.0f, float hi = 3.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

// Reference numpy broadcasting: element of `s` (padded to `out`'s rank) at output index `flat`.
int64_t source_index(const Shape& s, const Shape& out, int64_t flat) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < out.size(); ++k) {
    const size_t d = out.size() - 1 - k;
    const int64_t o = flat % out[d];
    flat /= out[d];
    if (k < s.size()) {
      const int64_t sd = s[s.size() - 1 - k];
      idx += (sd == 1 ? 0 : o) * stride;
      stride *= sd;
    }
  }
  return idx;
}

void expect_binary_matches_reference(const std::string& op, const Shape& sa, const Shape& sb, const Shape& expect_out) {
  const Tensor a = Tensor::from_vector<float>(sa, random_f(shape_numel(sa), 1));
  const Tensor b = Tensor::from_vector<float>(sb, random_f(shape_numel(sb), 2, 0.5f, 2.0f));
  const Tensor y = run_node(op, {a, b}).at(0);
  ASSERT_EQ(y.shape(), expect_out);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  const float* py = y.data<float>();
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float x = pa[source_index(sa, expect_out, i)], z = pb[source_index(sb, expect_out, i)];
    float want = 0;
    if (op == "aten.add.Tensor") want = x + z;
    else if (op == "aten.sub.Tensor") want = x - z;
    else if (op == "aten.mul.Tensor") want = x * z;
    else if (op == "aten.div.Tensor") want = x / z;
    ASSERT_EQ(py[i], want) << op << " " << shape_str(sa) << " " << shape_str(sb) << " at " << i;
  }
}

TEST(ElementwiseOps, SameShapeAndScalarFastPaths) {
  expect_binary_matches_reference("aten.add.Tensor", {2, 3, 4}, {2, 3, 4}, {2, 3, 4});
  expect_binary_matches_reference("aten.mul.Tensor", {2, 3, 4}, {}, {2, 3, 4});
  expect_binary_matches_reference("aten.sub.Tensor", {1}, {5, 7}, {5, 7});
  expect_binary_matches_reference("aten.div.Tensor", {300000}, {300000}, {300000});  // parallel
  expect_binary_matches_reference("aten.sub.Tensor", {}, {300001}, {300001});
}

TEST(ElementwiseOps, BiasAndRowBroadcast) {
  expect_binary_matches_reference("aten.add.Tensor", {2, 3, 4, 5}, {3, 1, 1}, {2, 3, 4, 5});   // NCHW + C11
  expect_binary_matches_reference("aten.mul.Tensor", {4, 16, 64, 64}, {16, 1, 1}, {4, 16, 64, 64});
  expect_binary_matches_reference("aten.add.Tensor", {2, 7, 9}, {9}, {2, 7, 9});               // NLD + D
  expect_binary_matches_reference("aten.div.Tensor", {8, 128, 384}, {384}, {8, 128, 384});
  expect_binary_matches_reference("aten.sub.Tensor", {3, 1, 1}, {2, 3, 4, 5}, {2, 3, 4, 5});   // broadcast on the left
}

TEST(ElementwiseOps, GeneralBroadcast) {
  expect_binary_matches_reference("aten.add.Tensor", {3, 1}, {1, 4}, {3, 4});
  expect_binary_matches_reference("aten.mul.Tensor", {2, 1, 5, 1}, {1, 3, 1, 4}, {2, 3, 5, 4});
  expect_binary_matches_reference("aten.sub.Tensor", {4, 1, 6}, {5, 1}, {4, 5, 6});
  expect_binary_matches_reference("aten.div.Tensor", {64, 1, 300}, {1, 40, 300}, {64, 40, 300});
  expect_binary_matches_reference("aten.add.Tensor", {1, 1, 1}, {1}, {1, 1, 1});
}

TEST(ElementwiseOps, ShapeInferenceWithSymbolicBatch) {
  EXPECT_EQ(infer_shape("aten.add.Tensor", {{DType::f32, {kBatch, 3, 4}}, {DType::f32, {4}}}), (Shape{kBatch, 3, 4}));
  EXPECT_EQ(infer_shape("aten.mul.Tensor", {{DType::f32, {kBatch, 1}}, {DType::f32, {kBatch, 5}}}), (Shape{kBatch, 5}));
  EXPECT_EQ(infer_shape("aten.relu.default", {{DType::f32, {kBatch, 2}}}), (Shape{kBatch, 2}));
  try {
    infer_shape("aten.add.Tensor", {{DType::f32, {kBatch, 3}}, {DType::f32, {4}}});
    FAIL() << "expected a broadcast error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/test/infer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(infer_shape("aten.add.Tensor", {{DType::f32, {3}}, {DType::i64, {3}}}), Error);
  EXPECT_THROW(infer_shape("aten.sigmoid.default", {{DType::i64, {3}}}), Error);
}

TEST(ElementwiseOps, IntegerArithmetic) {
  const Tensor a = Tensor::from_vector<int64_t>({4}, {7, -7, 7, -7});
  const Tensor b = Tensor::from_vector<int64_t>({4}, {2, 2, -2, -2});
  EXPECT_EQ(values<int64_t>(run_node("aten.div.Tensor", {a, b})[0]), (std::vector<int64_t>{3, -3, -3, 3}));
  EXPECT_EQ(values<int64_t>(run_node("aten.add.Tensor", {a, b})[0]), (std::vector<int64_t>{9, -5, 5, -9}));
  EXPECT_EQ(values<int64_t>(run_node("aten.sub.Tensor", {a, b})[0]), (std::vector<int64_t>{5, -9, 9, -5}));
  EXPECT_EQ(values<int64_t>(run_node("aten.mul.Tensor", {a, Tensor::scalar<int64_t>(3)})[0]),
            (std::vector<int64_t>{21, -21, 21, -21}));
  const Tensor c = Tensor::from_vector<int32_t>({2, 2}, {10, 20, 30, 40});
  const Tensor d = Tensor::from_vector<int32_t>({2}, {3, -4});
  EXPECT_EQ(values<int32_t>(run_node("aten.div.Tensor", {c, d})[0]), (std::vector<int32_t>{3, -5, 10, -10}));
  EXPECT_EQ(values<int32_t>(run_node("aten.mul.Tensor", {c, d})[0]), (std::vector<int32_t>{30, -80, 90, -160}));
  // INT64_MIN / -1 wraps instead of trapping.
  const Tensor m = Tensor::from_vector<int64_t>({1}, {std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(values<int64_t>(run_node("aten.div.Tensor", {m, Tensor::scalar<int64_t>(-1)})[0])[0],
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(values<int64_t>(run_node("aten.abs.default", {a})[0]), (std::vector<int64_t>{7, 7, 7, 7}));
  EXPECT_EQ(values<int64_t>(run_node("aten.neg.default", {a})[0]), (std::vector<int64_t>{-7, 7, -7, 7}));
  // Clip on int8 with an infinite upper bound (saturates to the type's range).
  Attrs clip;
  clip.set("min_val", -3.0);
  clip.set("max_val", std::numeric_limits<double>::infinity());
  const Tensor q = Tensor::from_vector<int8_t>({4}, {-128, -4, 0, 127});
  EXPECT_EQ(values<int8_t>(run_node("aten.hardtanh.default", {q}, clip)[0]), (std::vector<int8_t>{-3, -3, 0, 127}));
}

TEST(ElementwiseOps, IntegerDivisionByZeroAndBatchTokenAreErrors) {
  const Tensor a = Tensor::from_vector<int64_t>({2}, {4, 5});
  try {
    run_node("aten.div.Tensor", {a, Tensor::from_vector<int64_t>({2}, {1, 0})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/test/aten.div.Tensor"), std::string::npos) << e.what();
  }
  const Tensor shape = Tensor::from_vector<int64_t>({2}, {kBatchToken, 3});
  EXPECT_THROW(run_node("aten.mul.Tensor", {shape, Tensor::scalar<int64_t>(4)}), Error);
}

TEST(ElementwiseOps, UnaryActivations) {
  const std::vector<float> xs = {-5.0f, -2.5f, -1.0f, -0.25f, 0.0f, 0.3f, 1.0f, 2.9f, 3.5f, 8.0f};
  const Tensor x = Tensor::from_vector<float>({static_cast<int64_t>(xs.size())}, xs);
  auto run1 = [&](const std::string& op, Attrs a = {}) { return values<float>(run_node(op, {x}, std::move(a))[0]); };
  const auto relu = run1("aten.relu.default");
  const auto sig = run1("aten.sigmoid.default");
  const auto th = run1("aten.tanh.default");
  const auto ex = run1("aten.exp.default");
  const auto er = run1("aten.erf.default");
  const auto ab = run1("aten.abs.default");
  const auto ng = run1("aten.neg.default");
  const auto hs = run1("aten.hardswish.default");
  const auto gelu = run1("aten.gelu.default");
  Attrs tanh_attr;
  tanh_attr.set("approximate", std::string("tanh"));
  const auto gelu_t = run1("aten.gelu.default", tanh_attr);
  Attrs hsig;
  hsig.set("alpha", 0.2);
  hsig.set("beta", 0.5);
  const auto hsg = run1("aten.hardsigmoid.default", hsig);
  Attrs leaky;
  leaky.set("negative_slope", 0.1);
  const auto lk = run1("aten.leaky_relu.default", leaky);
  Attrs clip;
  clip.set("min_val", -std::numeric_limits<double>::infinity());
  clip.set("max_val", 2.0);
  const auto ht = run1("aten.hardtanh.default", clip);
  for (size_t i = 0; i < xs.size(); ++i) {
    const float v = xs[i];
    EXPECT_EQ(relu[i], v > 0 ? v : 0.0f);
    EXPECT_NEAR(sig[i], 1.0 / (1.0 + std::exp(-double(v))), 1e-6);
    EXPECT_NEAR(th[i], std::tanh(double(v)), 1e-6);
    EXPECT_NEAR(ex[i], std::exp(double(v)), 1e-6 * std::exp(double(v)));
    EXPECT_NEAR(er[i], std::erf(double(v)), 1e-6);
    EXPECT_EQ(ab[i], std::fabs(v));
    EXPECT_EQ(ng[i], -v);
    EXPECT_NEAR(hs[i], v * std::max(0.0, std::min(1.0, v / 6.0 + 0.5)), 1e-6);
    EXPECT_NEAR(gelu[i], 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))), 1e-5);
    EXPECT_NEAR(gelu_t[i], 0.5 * v * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))), 1e-5);
    EXPECT_NEAR(hsg[i], std::max(0.0, std::min(1.0, 0.2 * v + 0.5)), 1e-6);
    EXPECT_NEAR(lk[i], v < 0 ? 0.1 * v : v, 1e-6);
    EXPECT_EQ(ht[i], std::min(v, 2.0f));
  }
  const Tensor s = Tensor::from_vector<float>({3}, {4.0f, 0.25f, 2.0f});
  EXPECT_EQ(values<float>(run_node("aten.sqrt.default", {s})[0]), (std::vector<float>{2.0f, 0.5f, std::sqrt(2.0f)}));
}

TEST(ElementwiseOps, LargeUnaryUsesAllElements) {
  const int64_t n = 100003;
  const Tensor x = Tensor::from_vector<float>({n}, random_f(n, 7));
  const Tensor y = run_node("aten.sigmoid.default", {x})[0];
  const Tensor r = run_node("aten.relu.default", {x})[0];
  for (int64_t i = 0; i < n; i += 1) {
    const float v = x.data<float>()[i];
    ASSERT_NEAR(y.data<float>()[i], 1.0f / (1.0f + std::exp(-v)), 1e-6f);
    ASSERT_EQ(r.data<float>()[i], v > 0 ? v : 0.0f);
  }
}

// sigmoid / tanh use a vectorisable exp: check them densely against double precision.
TEST(ElementwiseOps, SigmoidTanhAccuracy) {
  std::vector<float> xs;
  for (double d = -95.0; d <= 95.0; d += 0.00371) xs.push_back(static_cast<float>(d));
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-8f, 0.124999f, 0.125f, 0.125001f, 88.5f, -88.5f, 1e30f, -1e30f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    xs.push_back(v);
  const Tensor x = Tensor::from_vector<float>({static_cast<int64_t>(xs.size())}, xs);
  const auto sig = values<float>(run_node("aten.sigmoid.default", {x})[0]);
  const auto th = values<float>(run_node("aten.tanh.default", {x})[0]);
  for (size_t i = 0; i < xs.size(); ++i) {
    const double v = xs[i];
    ASSERT_NEAR(sig[i], 1.0 / (1.0 + std::exp(-v)), 2e-7) << v;
    ASSERT_NEAR(th[i], std::tanh(v), 2e-7) << v;
    if (std::fabs(v) < 0.125 && v != 0) {
      ASSERT_NEAR(th[i] / std::tanh(v), 1.0, 1e-6) << v;  // relative near 0
    }
  }
  const Tensor n = Tensor::from_vector<float>({1}, {std::nanf("")});
  EXPECT_TRUE(std::isnan(run_node("aten.sigmoid.default", {n})[0].data<float>()[0]));
  EXPECT_TRUE(std::isnan(run_node("aten.tanh.default", {n})[0].data<float>()[0]));
  EXPECT_TRUE(std::isnan(run_node("aten.relu.default", {n})[0].data<float>()[0]));
}

TEST(ElementwiseOps, BadAttributesNameTheNode) {
  const Tensor x = Tensor::from_vector<float>({2}, {1, 2});
  Attrs a;
  a.set("approximate", std::string("fast"));
  try {
    run_node("aten.gelu.default", {x}, a);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/test/aten.gelu.default"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("approximate"), std::string::npos) << e.what();
  }
  Attrs b;
  b.set("negative_slope", std::string("x"));
  EXPECT_THROW(run_node("aten.leaky_relu.default", {x}, b), Error);
  Attrs c;
  c.set("min_val", std::nan(""));
  EXPECT_THROW(run_node("aten.hardtanh.default", {x}, c), Error);
}

TEST(ElementwiseOps, Prelu) {
  // x [2,3,2], slope [3,1] (per channel).
  const Tensor x = Tensor::from_vector<float>({2, 3, 2}, iota_f(12, -6.0f));
  const Tensor s = Tensor::from_vector<float>({3, 1}, {0.1f, 0.2f, 0.3f});
  const auto y = values<float>(run_node("aten.prelu.default", {x, s})[0]);
  for (int i = 0; i < 12; ++i) {
    const float v = -6.0f + static_cast<float>(i);
    const float slope = (i / 2 % 3 == 0) ? 0.1f : (i / 2 % 3 == 1) ? 0.2f : 0.3f;
    EXPECT_EQ(y[static_cast<size_t>(i)], v < 0 ? v * slope : v) << i;
  }
  const auto y1 = values<float>(run_node("aten.prelu.default", {x, Tensor::from_vector<float>({1}, {0.5f})})[0]);
  EXPECT_EQ(y1[0], -3.0f);
  EXPECT_EQ(y1[11], 5.0f);
  // The slope must broadcast to x without growing it.
  EXPECT_THROW(run_node("aten.prelu.default", {x, Tensor::from_vector<float>({4, 1, 1, 1}, {1, 1, 1, 1})}), Error);
  EXPECT_THROW(run_node("aten.prelu.default", {x, Tensor::from_vector<float>({3}, {1, 1, 1})}), Error);
}

TEST(ElementwiseOps, Pow) {
  const Tensor x = Tensor::from_vector<float>({4}, {1.5f, -2.0f, 3.0f, 0.5f});
  EXPECT_EQ(values<float>(run_node("aten.pow.Tensor_Tensor", {x, Tensor::scalar<float>(2.0f)})[0]),
            (std::vector<float>{2.25f, 4.0f, 9.0f, 0.25f}));
  EXPECT_EQ(values<float>(run_node("aten.pow.Tensor_Tensor", {x, Tensor::scalar<int64_t>(3)})[0]),
            (std::vector<float>{std::pow(1.5f, 3.0f), -8.0f, 27.0f, 0.125f}));
  const auto y = values<float>(run_node("aten.pow.Tensor_Tensor", {x, Tensor::from_vector<float>({4}, {0.5f, 2, -1, 3})})[0]);
  EXPECT_FLOAT_EQ(y[0], std::sqrt(1.5f));
  EXPECT_EQ(y[1], 4.0f);
  EXPECT_FLOAT_EQ(y[2], 1.0f / 3.0f);
  EXPECT_EQ(y[3], 0.125f);
}

}  // namespace
}  // namespace eq
