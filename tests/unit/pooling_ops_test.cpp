// max/avg pool 1-D/2-D, adaptive_avg_pool2d, mean/sum/amax: shape inference (ceil mode, the
// last-window rule, kBatch), attribute checks, and kernels against hand-computed values and naive loops.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
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

Tensor iota(Shape s, float start = 1.f) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

Attrs pool_attrs(std::vector<int64_t> kernel, std::vector<int64_t> stride, std::vector<int64_t> padding,
                 int64_t ceil_mode = 0, int64_t count_include_pad = -1, std::vector<int64_t> dilation = {}) {
  Attrs a;
  a.set("kernel_size", kernel);
  a.set("stride", stride);
  a.set("padding", padding);
  a.set("ceil_mode", ceil_mode);
  if (count_include_pad >= 0) a.set("count_include_pad", count_include_pad);
  if (!dilation.empty()) a.set("dilation", dilation);
  return a;
}

// ONNX node tests test_maxpool_2d_ceil / test_averagepool_2d_ceil.
TEST(Pool2d, OnnxCeilCases) {
  const Tensor x = iota({1, 1, 4, 4});
  Tensor y = run_op("aten.max_pool2d.default", {x}, pool_attrs({3, 3}, {2, 2}, {0, 0, 0, 0}, 1));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  expect_close(y, {11, 12, 15, 16});
  y = run_op("aten.avg_pool2d.default", {x}, pool_attrs({3, 3}, {2, 2}, {0, 0, 0, 0}, 1, 0));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  expect_close(y, {6, 7.5, 12, 13.5});
}

// ONNX test_averagepool_2d_pads_count_include_pad style: 3x3, pads 2, count_include_pad.
TEST(Pool2d, OnnxPadsCases) {
  const Tensor x = iota({1, 1, 2, 2});  // [[1,2],[3,4]]
  Tensor y = run_op("aten.avg_pool2d.default", {x}, pool_attrs({2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 1));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3, 3}));
  expect_close(y, {0.25f, 0.75f, 0.5f, 1.f, 2.5f, 1.5f, 0.75f, 1.75f, 1.f});
  y = run_op("aten.avg_pool2d.default", {x}, pool_attrs({2, 2}, {1, 1}, {1, 1, 1, 1}, 0, 0));
  expect_close(y, {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  y = run_op("aten.max_pool2d.default", {x}, pool_attrs({2, 2}, {1, 1}, {1, 1, 1, 1}));
  expect_close(y, {1, 2, 2, 3, 4, 4, 3, 4, 4});
}

// Ceil mode with a window hanging past the right padding: the overhang is never counted, the
// real pad cell is counted only with count_include_pad (PyTorch; ONNX agrees).
TEST(Pool1d, CeilOverhangIsNotCounted) {
  const Tensor x = iota({1, 1, 6});  // 1..6
  Tensor y = run_op("aten.avg_pool1d.default", {x}, pool_attrs({3}, {2}, {1, 1}, 1, 1));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 4}));
  expect_close(y, {1, 3, 5, 3});
  y = run_op("aten.avg_pool1d.default", {x}, pool_attrs({3}, {2}, {1, 1}, 1, 0));
  expect_close(y, {1.5f, 3, 5, 6});
  y = run_op("aten.max_pool1d.default", {x}, pool_attrs({3}, {2}, {1, 1}, 1));
  expect_close(y, {2, 4, 6, 6});
  // No padding, pure overhang: [1,2],[3,4],[5] -> 5 / 1 whatever count_include_pad says.
  const Tensor x5 = iota({1, 1, 5});
  y = run_op("aten.avg_pool1d.default", {x5}, pool_attrs({2}, {2}, {0, 0}, 1, 1));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 3}));
  expect_close(y, {1.5f, 3.5f, 5});
}

TEST(Pool, OutputShapes) {
  // Last window would start in the right padding: ceil gives 2, not 3.
  EXPECT_EQ(infer("aten.max_pool1d.default", {{kBatch, 3, 4}}, pool_attrs({2}, {3}, {1, 1}, 1))[0].second,
            (Shape{kBatch, 3, 2}));
  EXPECT_EQ(infer("aten.max_pool1d.default", {{kBatch, 3, 4}}, pool_attrs({2}, {3}, {1, 1}, 0))[0].second,
            (Shape{kBatch, 3, 2}));
  // 112 with 3x3/2 pad 1: floor 56, ceil 57 (as PyTorch); 7x7 k2 s2: floor 3, ceil 4.
  EXPECT_EQ(infer("aten.max_pool2d.default", {{kBatch, 64, 112, 112}}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1}, 0))[0].second,
            (Shape{kBatch, 64, 56, 56}));
  EXPECT_EQ(infer("aten.max_pool2d.default", {{kBatch, 64, 112, 112}}, pool_attrs({3, 3}, {2, 2}, {1, 1, 1, 1}, 1))[0].second,
            (Shape{kBatch, 64, 57, 57}));
  EXPECT_EQ(infer("aten.avg_pool2d.default", {{2, 8, 7, 7}}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0}, 0), 2)[0].second,
            (Shape{2, 8, 3, 3}));
  EXPECT_EQ(infer("aten.avg_pool2d.default", {{2, 8, 7, 7}}, pool_attrs({2, 2}, {2, 2}, {0, 0, 0, 0}, 1), 2)[0].second,
            (Shape{2, 8, 4, 4}));
  // Asymmetric pads and dilation: (10 + 0 + 2 - 5) / 1 + 1 = 8.
  EXPECT_EQ(infer("aten.max_pool2d.default", {{1, 1, 10, 10}}, pool_attrs({3, 3}, {1, 1}, {0, 1, 2, 0}, 0, -1, {2, 2}))[0].second,
            (Shape{1, 1, 8, 7}));
}

TEST(Pool, BadAttributesNameTheNode) {
  const std::string name = "/test/aten.max_pool2d.default";
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 1, 8, 8}}, pool_attrs({3}, {1, 1}, {0, 0, 0, 0})); },
                           name, "kernel_size");
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 1, 8, 8}}, pool_attrs({3, 3}, {1, 1}, {0, 0, 0})); },
                           name, "padding");
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 1, 8, 8}}, pool_attrs({3, 3}, {0, 1}, {0, 0, 0, 0})); },
                           name, "stride");
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 1, 8, 8}}, pool_attrs({3, 3}, {1, 1}, {3, 0, 0, 0})); },
                           name, "padding");
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 1, 2, 8}}, pool_attrs({3, 3}, {1, 1}, {0, 0, 0, 0})); },
                           name, "does not fit");
  expect_error_naming_node([] { infer("aten.max_pool2d.default", {{1, 8}}, pool_attrs({3, 3}, {1, 1}, {0, 0, 0, 0})); },
                           name, "rank");
  Attrs none;
  expect_error_naming_node([&] { infer("aten.max_pool2d.default", {{1, 1, 8, 8}}, none); }, name, "kernel_size");
  Attrs cip = pool_attrs({2, 2}, {1, 1}, {0, 0, 0, 0}, 0, 2);
  expect_error_naming_node([&] { infer("aten.avg_pool2d.default", {{1, 1, 8, 8}}, cip); }, "/test/aten.avg_pool2d.default",
                           "count_include_pad");
  Attrs os;
  os.set("output_size", std::vector<int64_t>{0, 2});
  expect_error_naming_node([&] { infer("aten.adaptive_avg_pool2d.default", {{1, 1, 8, 8}}, os); },
                           "/test/aten.adaptive_avg_pool2d.default", "output_size");
}

// Naive pool from the definition (PyTorch semantics) for random cross-checks.
std::vector<float> naive_pool2d(const Tensor& x, const Shape& ys, std::vector<int64_t> k, std::vector<int64_t> s,
                                std::vector<int64_t> p, std::vector<int64_t> d, bool is_max, bool include_pad) {
  const int64_t P = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3), OH = ys[2], OW = ys[3];
  std::vector<float> y;
  for (int64_t pl = 0; pl < P; ++pl)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double sum = 0;
        float m = -std::numeric_limits<float>::infinity();
        int64_t valid = 0, padded = 0;
        for (int64_t a = 0; a < k[0]; ++a)
          for (int64_t b = 0; b < k[1]; ++b) {
            const int64_t h = oh * s[0] - p[0] + a * d[0], w = ow * s[1] - p[1] + b * d[1];
            if (h >= H + p[2] || w >= W + p[3]) continue;  // ceil-mode overhang
            ++padded;
            if (h < 0 || w < 0 || h >= H || w >= W) continue;
            ++valid;
            const float v = x.data<float>()[(pl * H + h) * W + w];
            sum += v;
            m = std::max(m, v);
          }
        y.push_back(is_max ? m : static_cast<float>(sum / static_cast<double>(include_pad ? padded : valid)));
      }
  return y;
}

TEST(Pool2d, RandomCasesMatchNaive) {
  struct Case { Shape in; std::vector<int64_t> k, s, p, d; int64_t ceil; };
  const std::vector<Case> cases = {
      {{2, 3, 9, 10}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1},
      {{1, 4, 11, 7}, {2, 3}, {2, 3}, {0, 1, 1, 0}, {1, 1}, 1},
      {{2, 2, 8, 8}, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},
      {{1, 2, 12, 13}, {3, 2}, {1, 2}, {2, 0, 1, 1}, {2, 3}, 1},
      {{3, 5, 6, 5}, {3, 3}, {3, 3}, {1, 1, 1, 1}, {1, 1}, 1},
  };
  uint32_t seed = 100;
  for (const Case& c : cases) {
    const Tensor x = random_tensor(c.in, seed++);
    for (int kind = 0; kind < 3; ++kind) {
      const bool is_max = kind == 0, include = kind == 1;
      SCOPED_TRACE("case " + std::to_string(seed) + " kind " + std::to_string(kind));
      const Attrs a = pool_attrs(c.k, c.s, c.p, c.ceil, is_max ? -1 : include, c.d);
      const Tensor y = run_op(is_max ? "aten.max_pool2d.default" : "aten.avg_pool2d.default", {x}, a);
      expect_close(y, naive_pool2d(x, y.shape(), c.k, c.s, c.p, c.d, is_max, include));
    }
  }
}

TEST(Pool2d, UnbatchedInputMatchesBatched) {
  const Tensor x = random_tensor({3, 9, 8}, 150);
  const Attrs a = pool_attrs({3, 2}, {2, 2}, {1, 0, 1, 1}, 1);
  const Tensor y3 = run_op("aten.max_pool2d.default", {x}, a);
  const Tensor y4 = run_op("aten.max_pool2d.default", {x.reshaped({1, 3, 9, 8})}, a);
  ASSERT_EQ(y3.shape(), (Shape{3, 5, 4}));  // W: ceil((8+1-2)/2)+1 = 5 starts at 8 = in + pad_begin: dropped
  EXPECT_TRUE(y3.reshaped(y4.shape()).identical(y4));
}

TEST(AdaptiveAvgPool2d, NonDivisibleBins) {
  const Tensor x = random_tensor({2, 3, 5, 7}, 200);
  Attrs a;
  a.set("output_size", std::vector<int64_t>{3, 4});
  const Tensor y = run_op("aten.adaptive_avg_pool2d.default", {x}, a);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 4}));
  std::vector<float> want;
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j) {
        const int64_t h0 = static_cast<int64_t>(std::floor(i * 5.0 / 3)), h1 = static_cast<int64_t>(std::ceil((i + 1) * 5.0 / 3));
        const int64_t w0 = static_cast<int64_t>(std::floor(j * 7.0 / 4)), w1 = static_cast<int64_t>(std::ceil((j + 1) * 7.0 / 4));
        double s = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) s += x.data<float>()[(p * 5 + h) * 7 + w];
        want.push_back(static_cast<float>(s / static_cast<double>((h1 - h0) * (w1 - w0))));
      }
  expect_close(y, want);
  // Upsampling bins (out > in) overlap and repeat.
  const Tensor x2 = iota({1, 1, 2, 2});
  a.set("output_size", std::vector<int64_t>{3, 3});
  expect_close(run_op("aten.adaptive_avg_pool2d.default", {x2}, a), {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4});
  a.set("output_size", std::vector<int64_t>{1, 1});
  const Tensor g = run_op("aten.adaptive_avg_pool2d.default", {x}, a);
  ASSERT_EQ(g.shape(), (Shape{2, 3, 1, 1}));
  EXPECT_EQ(infer("aten.adaptive_avg_pool2d.default", {{kBatch, 3, 5, 7}}, a)[0].second, (Shape{kBatch, 3, 1, 1}));
}

// ---- reductions ----

Attrs reduce_attrs(std::vector<int64_t> dims, int64_t keepdim) {
  Attrs a;
  a.set("dim", dims);
  a.set("keepdim", keepdim);
  return a;
}

// Naive reduction: walk every input element, map it to its output index.
std::vector<float> naive_reduce(const Tensor& x, const std::vector<int64_t>& dims, int kind) {
  const int64_t r = x.rank();
  std::vector<bool> red(static_cast<size_t>(r), dims.empty());
  for (int64_t d : dims) red[static_cast<size_t>(d < 0 ? d + r : d)] = true;
  int64_t out_n = 1, count = 1;
  for (int64_t d = 0; d < r; ++d) (red[static_cast<size_t>(d)] ? count : out_n) *= x.dim(d);
  std::vector<double> acc(static_cast<size_t>(out_n), kind == 2 ? -INFINITY : 0.0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    for (int64_t d = r - 1; d >= 0; --d) {
      const int64_t idx = rem % x.dim(d);
      rem /= x.dim(d);
      if (!red[static_cast<size_t>(d)]) {
        o += idx * mul;
        mul *= x.dim(d);
      }
    }
    const double v = x.data<float>()[i];
    acc[static_cast<size_t>(o)] = kind == 2 ? std::max(acc[static_cast<size_t>(o)], v) : acc[static_cast<size_t>(o)] + v;
  }
  std::vector<float> y;
  for (double v : acc) y.push_back(static_cast<float>(kind == 1 ? v / static_cast<double>(count) : v));
  return y;
}

TEST(Reduce, MatchesNaiveForManyDimSets) {
  const Tensor x = random_tensor({3, 4, 5, 6}, 300);
  const std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {1}, {3}, {-1}, {2, 3}, {-2, -1}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {0, 3}};
  const char* ops[] = {"aten.sum.dim_IntList", "aten.mean.dim", "aten.amax.default"};
  for (int kind = 0; kind < 3; ++kind)
    for (const auto& dims : dim_sets)
      for (int64_t keep : {0, 1}) {
        std::string ds;
        for (int64_t d : dims) ds += std::to_string(d) + ",";
        SCOPED_TRACE(std::string(ops[kind]) + " dims " + ds + " keepdim " + std::to_string(keep));
        const Tensor y = run_op(ops[kind], {x}, reduce_attrs(dims, keep));
        Shape want_shape;
        for (int64_t d = 0; d < 4; ++d) {
          bool r = dims.empty();
          for (int64_t e : dims) r = r || (e < 0 ? e + 4 : e) == d;
          if (!r) want_shape.push_back(x.dim(d));
          else if (keep) want_shape.push_back(1);
        }
        EXPECT_EQ(y.shape(), want_shape);
        expect_close(y, naive_reduce(x, dims, kind));
      }
}

TEST(Reduce, LargeInnerAndOuterRuns) {
  // mean over the spatial dims of a feature map; sum over channels keeping a long inner run.
  const Tensor x = random_tensor({2, 64, 33, 35}, 301);
  expect_close(run_op("aten.mean.dim", {x}, reduce_attrs({2, 3}, 1)), naive_reduce(x, {2, 3}, 1));
  expect_close(run_op("aten.sum.dim_IntList", {x}, reduce_attrs({1}, 0)), naive_reduce(x, {1}, 0));
  const Tensor v = random_tensor({1, 20000}, 302);
  expect_close(run_op("aten.amax.default", {v}, reduce_attrs({0}, 0)), naive_reduce(v, {0}, 2));
  expect_close(run_op("aten.mean.dim", {v}, reduce_attrs({}, 0)), naive_reduce(v, {}, 1));
}

TEST(Reduce, ShapesAndErrors) {
  EXPECT_EQ(infer("aten.mean.dim", {{kBatch, 8, 7, 7}}, reduce_attrs({-1, -2}, 1))[0].second, (Shape{kBatch, 8, 1, 1}));
  EXPECT_EQ(infer("aten.mean.dim", {{kBatch, 8, 7, 7}}, reduce_attrs({2, 3}, 0))[0].second, (Shape{kBatch, 8}));
  EXPECT_EQ(infer("aten.sum.dim_IntList", {{kBatch, 8}}, reduce_attrs({}, 0))[0].second, Shape{});
  EXPECT_EQ(infer("aten.amax.default", {{kBatch, 8}}, reduce_attrs({0}, 1))[0].second, (Shape{1, 8}));
  expect_error_naming_node([] { infer("aten.mean.dim", {{2, 8}}, reduce_attrs({2}, 0)); }, "/test/aten.mean.dim",
                           "out of range");
  expect_error_naming_node([] { infer("aten.mean.dim", {{2, 8}}, reduce_attrs({1, -1}, 0)); }, "/test/aten.mean.dim",
                           "twice");
}

}  // namespace
}  // namespace eq
