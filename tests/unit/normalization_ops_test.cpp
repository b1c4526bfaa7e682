// softmax, log_softmax, layer_norm, batch norm (inference): shape inference, attribute checks, and
// kernels against naive loops and hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "edgequant/kernel.h"
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

Attrs dim_attr(int64_t dim) {
  Attrs a;
  a.set("dim", dim);
  return a;
}

std::vector<float> naive_softmax(const Tensor& x, int64_t dim, bool log) {
  const int64_t r = x.rank(), d = dim < 0 ? dim + r : dim;
  int64_t outer = 1, D = x.dim(d), inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.dim(i);
  for (int64_t i = d + 1; i < r; ++i) inner *= x.dim(i);
  std::vector<float> y(static_cast<size_t>(x.numel()));
  const float* p = x.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < D; ++k) m = std::max(m, static_cast<double>(p[(o * D + k) * inner + i]));
      for (int64_t k = 0; k < D; ++k) s += std::exp(p[(o * D + k) * inner + i] - m);
      for (int64_t k = 0; k < D; ++k) {
        const double v = p[(o * D + k) * inner + i] - m;
        y[static_cast<size_t>((o * D + k) * inner + i)] = static_cast<float>(log ? v - std::log(s) : std::exp(v) / s);
      }
    }
  return y;
}

TEST(Softmax, MatchesNaiveOnEveryAxis) {
  const Tensor x = random_tensor({3, 7, 5, 300}, 1, -5.f, 5.f);
  for (int64_t dim : {0, 1, 2, 3, -1, -3})
    for (bool log : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (log ? " log" : ""));
      const Tensor y = run_op(log ? "aten.log_softmax.int" : "aten.softmax.int", {x}, dim_attr(dim));
      EXPECT_EQ(y.shape(), x.shape());
      expect_close(y, naive_softmax(x, dim, log), 1e-4f, 1e-6f);
    }
}

TEST(Softmax, NumericallyStable) {
  const Tensor x = Tensor::from_vector<float>({2, 3}, {1000, 1001, 1002, -1000, -1000, -1000});
  Tensor y = run_op("aten.softmax.int", {x}, dim_attr(1));
  const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
  expect_close(y, {static_cast<float>(e2 / z), static_cast<float>(e1 / z), static_cast<float>(1 / z), 1.f / 3, 1.f / 3, 1.f / 3});
  y = run_op("aten.log_softmax.int", {x}, dim_attr(-1));
  expect_close(y, {static_cast<float>(-2 - std::log(z)), static_cast<float>(-1 - std::log(z)),
                   static_cast<float>(-std::log(z)), static_cast<float>(-std::log(3.0)),
                   static_cast<float>(-std::log(3.0)), static_cast<float>(-std::log(3.0))});
}

TEST(Softmax, ShapesAndErrors) {
  EXPECT_EQ(infer("aten.softmax.int", {{kBatch, 10}}, dim_attr(-1))[0].second, (Shape{kBatch, 10}));
  expect_error_naming_node([] { infer("aten.softmax.int", {{kBatch, 10}}, dim_attr(2)); }, "/test/aten.softmax.int", "dim");
  expect_error_naming_node([] { infer("aten.log_softmax.int", {{kBatch, 10}}, {}); }, "/test/aten.log_softmax.int", "dim");
}

std::vector<float> naive_layer_norm(const Tensor& x, int64_t axis, const float* w, const float* b, double eps) {
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < x.rank(); ++i) (i < axis ? rows : cols) *= x.dim(i);
  std::vector<float> y;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = x.data<float>() + r * cols;
    double m = 0, v = 0;
    for (int64_t c = 0; c < cols; ++c) m += p[c];
    m /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) v += (p[c] - m) * (p[c] - m);
    v /= static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c)
      y.push_back(static_cast<float>((p[c] - m) / std::sqrt(v + eps) * (w ? w[c] : 1.0) + (b ? b[c] : 0.0)));
  }
  return y;
}

TEST(LayerNorm, MatchesNaive) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 10, -3.f, 4.f);
  const Tensor w = random_tensor({4, 5}, 11), b = random_tensor({4, 5}, 12);
  Attrs a;
  a.set("axis", int64_t{2});
  a.set("eps", 1e-3);
  expect_close(run_op("aten.layer_norm.default", {x, w, b}, a, {false, true, true}),
               naive_layer_norm(x, 2, w.data<float>(), b.data<float>(), 1e-3));
  expect_close(run_op("aten.layer_norm.default", {x, w}, a), naive_layer_norm(x, 2, w.data<float>(), nullptr, 1e-3));
  expect_close(run_op("aten.layer_norm.default", {x, Tensor(), b}, a), naive_layer_norm(x, 2, nullptr, b.data<float>(), 1e-3));
  a.set("axis", int64_t{1});
  expect_close(run_op("aten.layer_norm.default", {x}, a), naive_layer_norm(x, 1, nullptr, nullptr, 1e-3));
  a.set("axis", int64_t{-1});
  const Tensor w5 = random_tensor({5}, 13);
  expect_close(run_op("aten.layer_norm.default", {x, w5}, a), naive_layer_norm(x, 3, w5.data<float>(), nullptr, 1e-3));
}

TEST(LayerNorm, ShapesAndErrors) {
  Attrs a;
  a.set("axis", int64_t{2});
  a.set("eps", 1e-5);
  EXPECT_EQ(infer("aten.layer_norm.default", {{kBatch, 16, 64}, {64}, {64}}, a)[0].second, (Shape{kBatch, 16, 64}));
  expect_error_naming_node([&] { infer("aten.layer_norm.default", {{kBatch, 16, 64}, {32}}, a); },
                           "/test/aten.layer_norm.default", "weight");
  expect_error_naming_node([&] { infer("aten.layer_norm.default", {{kBatch, 16, 64}, {64}, {16, 64}}, a); },
                           "/test/aten.layer_norm.default", "bias");
  a.set("axis", int64_t{3});
  expect_error_naming_node([&] { infer("aten.layer_norm.default", {{kBatch, 16, 64}}, a); },
                           "/test/aten.layer_norm.default", "axis");
  a.set("axis", int64_t{0});
  expect_error_naming_node([&] { infer("aten.layer_norm.default", {{kBatch, 16, 64}}, a); },
                           "/test/aten.layer_norm.default", "static");
}

TEST(BatchNorm, MatchesFormula) {
  const Tensor x = random_tensor({2, 3, 4, 5}, 20, -2.f, 2.f);
  const Tensor w = random_tensor({3}, 21), b = random_tensor({3}, 22), m = random_tensor({3}, 23);
  const Tensor v = random_tensor({3}, 24, 0.1f, 2.f);
  Attrs a;
  a.set("eps", 1e-5);
  a.set("momentum", 0.1);
  std::vector<float> want;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = (i / 20) % 3;
    want.push_back(static_cast<float>((x.data<float>()[i] - m.data<float>()[c]) /
                                          std::sqrt(static_cast<double>(v.data<float>()[c]) + 1e-5) * w.data<float>()[c] +
                                      b.data<float>()[c]));
  }
  // Folded at creation (constant parameters) and per run.
  expect_close(run_op("aten._native_batch_norm_legit_no_training.default", {x, w, b, m, v}, a, {false, true, true, true, true}), want);
  expect_close(run_op("aten._native_batch_norm_legit_no_training.default", {x, w, b, m, v}, a), want);
  // Rank 2 ([N, C]).
  const Tensor x2 = random_tensor({4, 3}, 25);
  const Tensor y2 = run_op("aten._native_batch_norm_legit_no_training.default", {x2, w, b, m, v}, a);
  for (int64_t i = 0; i < 12; ++i) {
    const int64_t c = i % 3;
    EXPECT_NEAR(y2.data<float>()[i], (x2.data<float>()[i] - m.data<float>()[c]) / std::sqrt(v.data<float>()[c] + 1e-5f) *
                                          w.data<float>()[c] + b.data<float>()[c], 1e-5);
  }
}

TEST(BatchNorm, ShapesAndErrors) {
  const std::string op = "aten._native_batch_norm_legit_no_training.default";
  EXPECT_EQ(infer(op, {{kBatch, 8, 5, 5}, {8}, {8}, {8}, {8}}, {})[0].second, (Shape{kBatch, 8, 5, 5}));
  expect_error_naming_node([&] { infer(op, {{kBatch, 8, 5, 5}, {8}, {8}, {7}, {8}}, {}); }, "/test/" + op, "mean");
  expect_error_naming_node([&] { infer(op, {{8}, {8}, {8}, {8}, {8}}, {}); }, "/test/" + op, "rank");
  expect_error_naming_node([&] { infer(op, {{kBatch, 8, 5, 5}, {8}, {8}, {8}}, {}); }, "/test/" + op, "inputs");
}

}  // namespace
}  // namespace eq
