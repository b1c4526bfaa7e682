// Movement schemas and kernels: reshape with the batch token (import time and executor time),
// permute, squeeze/unsqueeze, cat, slice clamping, split, gather, pad modes, resize.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <numeric>

#include "edgequant/executor.h"
#include "edgequant/kernel.h"
#include "edgequant/ops.h"
#include "op_test_util.h"

namespace eq {
namespace {

constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();

using optest::infer_shape;
using optest::run_node;
using optest::values;

template <class T>
Tensor iota(Shape s, T start = 0) {
  std::vector<T> v(static_cast<size_t>(shape_numel(s)));
  std::iota(v.begin(), v.end(), start);
  return Tensor::from_vector<T>(std::move(s), v);
}

Attrs attrs_of(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

using I = std::vector<int64_t>;
using F = std::vector<float>;

void expect_error_naming_node(const std::function<void()>& fn, const std::string& node, const std::string& fragment) {
  try {
    fn();
    FAIL() << "expected eq::Error containing '" << fragment << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(node), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

// ---- reshape family ----

TEST(MovementOps, ReshapeSymbolicBatch) {
  const std::pair<DType, Shape> x{DType::f32, {kBatch, 4, 8}};
  EXPECT_EQ(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, -1}}})), (Shape{kBatch, 32}));
  EXPECT_EQ(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, 2, 16}}})), (Shape{kBatch, 2, 16}));
  EXPECT_EQ(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{-1, 32}}})), (Shape{kBatch, 32}));  // -1 is N
  EXPECT_EQ(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, 4, -1, 2}}})),
            (Shape{kBatch, 4, 4, 2}));
  // -1 would be N*4: arithmetic on the batch.
  expect_error_naming_node([&] { infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{-1, 8}}})); },
                           "/test/infer", "merge");
  EXPECT_EQ(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{32, -1}}})), (Shape{32, kBatch}));
  expect_error_naming_node([&] { infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{32, 2}}})); },
                           "/test/infer", "batch");
  EXPECT_THROW(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, 33}}})), Error);
  EXPECT_THROW(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, -1, -1}}})), Error);
  EXPECT_THROW(infer_shape("aten.reshape.default", {x}, attrs_of({{"shape", I{kBatchToken, -3}}})), Error);
  // Concrete batch (executor time): the token becomes the batch.
  EXPECT_EQ(infer_shape("aten.reshape.default", {{DType::f32, {3, 4, 8}}}, attrs_of({{"shape", I{kBatchToken, -1}}}), 3),
            (Shape{3, 32}));
  EXPECT_EQ(infer_shape("aten.reshape.default", {{DType::f32, {3, 4, 8}}}, attrs_of({{"shape", I{-1, 8}}}), 3),
            (Shape{12, 8}));
  // Literal zero dims.
  EXPECT_EQ(infer_shape("aten.reshape.default", {{DType::f32, {2, 0}}}, attrs_of({{"shape", I{0, 5}}})), (Shape{0, 5}));
  EXPECT_THROW(infer_shape("aten.reshape.default", {{DType::f32, {2, 0}}}, attrs_of({{"shape", I{0, -1}}})), Error);
}

TEST(MovementOps, ReshapeBatchTokenInExecutor) {
  Graph g;
  const int x = g.add_value("x", DType::f32, {kBatch, 4, 8});
  g.inputs = {x};
  const int n = g.add_node("aten.reshape.default", "/Reshape", {x}, 1, attrs_of({{"shape", I{kBatchToken, -1}}}));
  const int y = g.nodes[static_cast<size_t>(n)].outputs[0];
  g.outputs = {y};
  infer_graph(g);
  EXPECT_EQ(g.value(y).shape, (Shape{kBatch, 32}));
  Executor ex(g);
  for (int64_t b : {1, 3}) {
    const Tensor in = iota<float>({b, 4, 8});
    const std::vector<Tensor> out = ex.run({in});
    ASSERT_EQ(out[0].shape(), (Shape{b, 32}));
    EXPECT_EQ(values<float>(out[0]), values<float>(in));
  }
}

TEST(MovementOps, FlattenSqueezeUnsqueeze) {
  EXPECT_EQ(infer_shape("aten.flatten.using_ints", {{DType::f32, {kBatch, 3, 4, 5}}},
                        attrs_of({{"start_dim", int64_t{1}}, {"end_dim", int64_t{-1}}})),
            (Shape{kBatch, 60}));
  EXPECT_EQ(infer_shape("aten.flatten.using_ints", {{DType::f32, {2, 3, 4, 5}}},
                        attrs_of({{"start_dim", int64_t{1}}, {"end_dim", int64_t{2}}})),
            (Shape{2, 12, 5}));
  EXPECT_THROW(infer_shape("aten.flatten.using_ints", {{DType::f32, {kBatch, 3}}}, attrs_of({{"start_dim", int64_t{0}}})),
               Error);
  const Tensor x = iota<int64_t>({2, 1, 3, 1});
  const Tensor sq = run_node("aten.squeeze.dims", {x}, attrs_of({{"dim", I{1, -1}}}))[0];
  EXPECT_EQ(sq.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(sq), values<int64_t>(x));
  EXPECT_EQ(run_node("aten.squeeze.dims", {x}, attrs_of({{"dim", I{}}}))[0].shape(), (Shape{2, 3}));
  expect_error_naming_node([&] { run_node("aten.squeeze.dims", {x}, attrs_of({{"dim", I{2}}})); },
                           "/test/aten.squeeze.dims", "not 1");
  EXPECT_THROW(infer_shape("aten.squeeze.dims", {{DType::f32, {kBatch, 3}}}, attrs_of({{"dim", I{0}}})), Error);
  const Tensor u = run_node("aten.unsqueeze.default", {iota<uint8_t>({2, 3})}, attrs_of({{"dim", I{0, -1}}}))[0];
  EXPECT_EQ(u.shape(), (Shape{1, 2, 3, 1}));
  EXPECT_EQ(values<uint8_t>(u), (std::vector<uint8_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(infer_shape("aten.unsqueeze.default", {{DType::i64, {}}}, attrs_of({{"dim", I{0}}})), (Shape{1}));
  EXPECT_THROW(infer_shape("aten.unsqueeze.default", {{DType::f32, {2}}}, attrs_of({{"dim", I{3}}})), Error);
  const Tensor c = run_node("aten.clone.default", {iota<int32_t>({5})})[0];
  EXPECT_EQ(values<int32_t>(c), (std::vector<int32_t>{0, 1, 2, 3, 4}));
}

template <class T>
void check_permute(const Shape& s, const I& perm) {
  const Tensor x = iota<T>(s);
  const Tensor y = run_node("aten.permute.default", {x}, attrs_of({{"dims", perm}}))[0];
  Shape os;
  for (int64_t p : perm) os.push_back(s[static_cast<size_t>(p)]);
  ASSERT_EQ(y.shape(), os);
  std::vector<int64_t> in_st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) in_st[i - 1] = in_st[i] * s[i];
  const T* py = y.data<T>();
  const T* px = x.data<T>();
  for (int64_t flat = 0; flat < y.numel(); ++flat) {
    int64_t rem = flat, src = 0;
    for (size_t k = os.size(); k-- > 0;) {
      src += (rem % os[k]) * in_st[static_cast<size_t>(perm[k])];
      rem /= os[k];
    }
    ASSERT_EQ(py[flat], px[src]) << shape_str(s) << " at " << flat;
  }
}

TEST(MovementOps, Permute) {
  check_permute<float>({2, 3, 4}, {2, 0, 1});
  check_permute<float>({2, 3, 4}, {0, 1, 2});
  check_permute<int64_t>({2, 3, 4, 5}, {0, 2, 3, 1});
  check_permute<uint8_t>({3, 70, 45}, {0, 2, 1});   // tiled transpose
  check_permute<float>({4, 64, 33, 7}, {0, 2, 1, 3});  // inner contiguous rows
  check_permute<int16_t>({5, 1, 7}, {2, 1, 0});
  check_permute<float>({16, 256, 96}, {0, 2, 1});   // large, parallel
  EXPECT_EQ(infer_shape("aten.permute.default", {{DType::f32, {kBatch, 3, 4}}}, attrs_of({{"dims", I{0, 2, 1}}})),
            (Shape{kBatch, 4, 3}));
  EXPECT_THROW(infer_shape("aten.permute.default", {{DType::f32, {2, 3}}}, attrs_of({{"dims", I{0, 0}}})), Error);
  EXPECT_THROW(infer_shape("aten.permute.default", {{DType::f32, {2, 3}}}, attrs_of({{"dims", I{1}}})), Error);
}

TEST(MovementOps, Cat) {
  const Tensor a = iota<int64_t>({2, 2});
  const Tensor b = iota<int64_t>({2, 3}, 10);
  const Tensor y = run_node("aten.cat.default", {a, b}, attrs_of({{"dim", int64_t{-1}}}))[0];
  EXPECT_EQ(y.shape(), (Shape{2, 5}));
  EXPECT_EQ(values<int64_t>(y), (I{0, 1, 10, 11, 12, 2, 3, 13, 14, 15}));
  const Tensor z = run_node("aten.cat.default", {iota<float>({1, 3}), iota<float>({2, 3}, 5)}, attrs_of({{"dim", int64_t{0}}}))[0];
  EXPECT_EQ(values<float>(z), (F{0, 1, 2, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(infer_shape("aten.cat.default", {{DType::f32, {kBatch, 2}}, {DType::f32, {kBatch, 3}}}, attrs_of({{"dim", int64_t{1}}})),
            (Shape{kBatch, 5}));
  EXPECT_THROW(infer_shape("aten.cat.default", {{DType::f32, {kBatch, 2}}, {DType::f32, {1, 2}}}, attrs_of({{"dim", int64_t{0}}})),
               Error);
  EXPECT_THROW(run_node("aten.cat.default", {a, iota<int64_t>({3, 3})}, attrs_of({{"dim", int64_t{1}}})), Error);
}

I slice1d(int64_t n, int64_t start, int64_t end, int64_t step) {
  const Tensor x = iota<int64_t>({n});
  return values<int64_t>(run_node("aten.slice_copy.Tensor", {x},
                                  attrs_of({{"dim", int64_t{0}}, {"start", start}, {"end", end}, {"step", step}}))[0]);
}

TEST(MovementOps, SliceClamping) {
  EXPECT_EQ(slice1d(10, -3, kI64Max, 1), (I{7, 8, 9}));
  EXPECT_EQ(slice1d(10, 1, 100, 3), (I{1, 4, 7}));
  EXPECT_EQ(slice1d(10, -1, kI64Min, -1), (I{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(slice1d(10, 8, 1, -2), (I{8, 6, 4, 2}));
  EXPECT_EQ(slice1d(10, 100, -100, -3), (I{9, 6, 3, 0}));
  EXPECT_EQ(slice1d(10, 5, 2, 1), (I{}));
  EXPECT_EQ(slice1d(10, -100, 2, 1), (I{0, 1}));
  EXPECT_EQ(slice1d(10, kI64Max, kI64Min, -4), (I{9, 5, 1}));
  // Middle dim of a 3-D tensor, f32, negative step.
  const Tensor x = iota<float>({2, 4, 3});
  const Tensor y = run_node("aten.slice_copy.Tensor", {x},
                            attrs_of({{"dim", int64_t{1}}, {"start", int64_t{-1}}, {"end", int64_t{0}}, {"step", int64_t{-2}}}))[0];
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(values<float>(y), (F{9, 10, 11, 3, 4, 5, 21, 22, 23, 15, 16, 17}));
  EXPECT_THROW(slice1d(10, 0, 5, 0), Error);
  EXPECT_EQ(infer_shape("aten.slice_copy.Tensor", {{DType::f32, {kBatch, 5}}},
                        attrs_of({{"dim", int64_t{0}}, {"start", int64_t{0}}, {"end", kI64Max}})),
            (Shape{kBatch, 5}));
  EXPECT_THROW(infer_shape("aten.slice_copy.Tensor", {{DType::f32, {kBatch, 5}}},
                           attrs_of({{"dim", int64_t{0}}, {"start", int64_t{1}}, {"end", kI64Max}})),
               Error);
}

TEST(MovementOps, SplitWithSizes) {
  const Tensor x = iota<int32_t>({2, 6});
  const auto outs = run_node("aten.split_with_sizes.default", {x}, attrs_of({{"split_sizes", I{1, 2, 3}}, {"dim", int64_t{1}}}), 3);
  ASSERT_EQ(outs.size(), 3u);
  EXPECT_EQ(values<int32_t>(outs[0]), (std::vector<int32_t>{0, 6}));
  EXPECT_EQ(values<int32_t>(outs[1]), (std::vector<int32_t>{1, 2, 7, 8}));
  EXPECT_EQ(values<int32_t>(outs[2]), (std::vector<int32_t>{3, 4, 5, 9, 10, 11}));
  expect_error_naming_node(
      [&] { run_node("aten.split_with_sizes.default", {x}, attrs_of({{"split_sizes", I{1, 2}}, {"dim", int64_t{1}}}), 2); },
      "/test/aten.split_with_sizes.default", "sums to");
  // The node must have one output per size.
  EXPECT_THROW(run_node("aten.split_with_sizes.default", {x}, attrs_of({{"split_sizes", I{3, 3}}, {"dim", int64_t{1}}}), 3), Error);
}

TEST(MovementOps, IndexSelectGather) {
  const Tensor x = iota<float>({3, 4});
  const Tensor idx = Tensor::from_vector<int64_t>({2, 2}, {-1, 0, 2, -4});
  const Tensor y = run_node("aten.index_select.default", {x, idx}, attrs_of({{"dim", int64_t{1}}}))[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(values<float>(y), (F{3, 0, 2, 0, 7, 4, 6, 4, 11, 8, 10, 8}));
  const Tensor rows = run_node("aten.index_select.default", {x, Tensor::from_vector<int32_t>({2}, {2, -3})},
                               attrs_of({{"dim", int64_t{0}}}))[0];
  EXPECT_EQ(values<float>(rows), (F{8, 9, 10, 11, 0, 1, 2, 3}));
  // Scalar index on a shape vector holding the batch token (constant folding of Shape->Gather).
  const Tensor shp = Tensor::from_vector<int64_t>({3}, {kBatchToken, 3, 224});
  const Tensor g = run_node("aten.index_select.default", {shp, Tensor::scalar<int64_t>(0)}, attrs_of({{"dim", int64_t{0}}}))[0];
  EXPECT_EQ(g.shape(), Shape{});
  EXPECT_EQ(g.data<int64_t>()[0], kBatchToken);
  expect_error_naming_node(
      [&] { run_node("aten.index_select.default", {x, Tensor::from_vector<int64_t>({1}, {4})}, attrs_of({{"dim", int64_t{1}}})); },
      "/test/aten.index_select.default", "out of range");
  EXPECT_THROW(run_node("aten.index_select.default", {x, Tensor::from_vector<int64_t>({1}, {-5})}, attrs_of({{"dim", int64_t{1}}})),
               Error);
}

TEST(MovementOps, PadModes) {
  const Tensor x = Tensor::from_vector<float>({3}, {1, 2, 3});
  auto pad1 = [&](I pads, const std::string& mode, double value = 0.0) {
    return values<float>(run_node("aten.pad.default", {x}, attrs_of({{"pad", pads}, {"mode", mode}, {"value", value}}))[0]);
  };
  EXPECT_EQ(pad1({2, 1}, "constant", 9.0), (F{9, 9, 1, 2, 3, 9}));
  EXPECT_EQ(pad1({2, 2}, "reflect"), (F{3, 2, 1, 2, 3, 2, 1}));
  EXPECT_EQ(pad1({5, 0}, "reflect"), (F{2, 1, 2, 3, 2, 1, 2, 3}));  // numpy: repeated reflection
  EXPECT_EQ(pad1({2, 2}, "replicate"), (F{1, 1, 1, 2, 3, 3, 3}));
  EXPECT_EQ(pad1({-1, 2}, "constant"), (F{2, 3, 0, 0}));
  EXPECT_EQ(pad1({1, -2}, "reflect"), (F{2, 1}));
  // 2-D: pad rows and crop columns.
  const Tensor m = iota<int64_t>({2, 3}, 1);
  const Tensor y = run_node("aten.pad.default", {m}, attrs_of({{"pad", I{1, 0, 0, -1}}, {"mode", std::string("replicate")}}))[0];
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<int64_t>(y), (I{1, 2, 1, 2, 4, 5}));
  const Tensor r = run_node("aten.pad.default", {m}, attrs_of({{"pad", I{1, 1, 1, 1}}, {"mode", std::string("reflect")}}))[0];
  EXPECT_EQ(values<int64_t>(r), (I{5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2}));
  const Tensor c = run_node("aten.pad.default", {m}, attrs_of({{"pad", I{0, 1, 1, 0}}, {"value", int64_t{-7}}}))[0];
  EXPECT_EQ(values<int64_t>(c), (I{-7, 1, 2, 3, -7, 4, 5, 6, -7, -7, -7, -7}));
  expect_error_naming_node([&] { run_node("aten.pad.default", {m}, attrs_of({{"pad", I{1, 1}}})); }, "/test/aten.pad.default",
                           "2*rank");
  EXPECT_THROW(run_node("aten.pad.default", {m}, attrs_of({{"pad", I{0, 0, 0, 0}}, {"mode", std::string("wrap")}})), Error);
  EXPECT_THROW(run_node("aten.pad.default", {m}, attrs_of({{"pad", I{0, -4, 0, 0}}})), Error);
  EXPECT_THROW(infer_shape("aten.pad.default", {{DType::f32, {kBatch, 3}}}, attrs_of({{"pad", I{1, 0, 0, 0}}})), Error);
}

Attrs resize_attrs(const std::string& mode, I sizes, const std::string& ctm, const std::string& nm = "round_prefer_floor") {
  return attrs_of({{"mode", mode}, {"sizes", sizes}, {"coordinate_transformation_mode", ctm}, {"nearest_mode", nm}});
}

void expect_near_all(const Tensor& y, const F& want) {
  ASSERT_EQ(static_cast<size_t>(y.numel()), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-5f) << "at " << i;
}

// Expected values from onnx/reference/ops/op_resize.py (and the ONNX node tests).
TEST(MovementOps, ResizeNearest) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  Attrs a = resize_attrs("nearest", {1, 1, 4, 6}, "half_pixel");
  a.set("scales", std::vector<double>{1, 1, 2, 3});
  expect_near_all(run_node("aten.upsample.default", {x}, a)[0],
                  {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
  const Tensor v = Tensor::from_vector<float>({1, 1, 1, 3}, {1, 2, 3});
  expect_near_all(run_node("aten.upsample.default", {v}, resize_attrs("nearest", {1, 1, 1, 7}, "asymmetric", "round_prefer_ceil"))[0],
                  {1, 1, 2, 2, 3, 3, 3});
  expect_near_all(run_node("aten.upsample.default", {v}, resize_attrs("nearest", {1, 1, 1, 7}, "align_corners", "floor"))[0],
                  {1, 1, 1, 2, 2, 2, 3});
  expect_near_all(run_node("aten.upsample.default", {v}, resize_attrs("nearest", {1, 1, 1, 7}, "half_pixel", "ceil"))[0],
                  {1, 2, 2, 2, 3, 3, 3});
  const Tensor s = iota<float>({1, 1, 4, 4}, 1);
  expect_near_all(run_node("aten.upsample.default", {s}, resize_attrs("nearest", {1, 1, 3, 2}, "tf_half_pixel_for_nn"))[0],
                  {6, 8, 10, 12, 14, 16});
  // Nearest works on integer dtypes (bytes).
  const Tensor q = Tensor::from_vector<uint8_t>({1, 2}, {7, 9});
  EXPECT_EQ(values<uint8_t>(run_node("aten.upsample.default", {q}, resize_attrs("nearest", {1, 4}, "asymmetric"))[0]),
            (std::vector<uint8_t>{7, 7, 9, 9}));
}

TEST(MovementOps, ResizeLinear) {
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  expect_near_all(run_node("aten.upsample.default", {x}, resize_attrs("linear", {1, 1, 4, 4}, "half_pixel"))[0],
                  {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  expect_near_all(run_node("aten.upsample.default", {x}, resize_attrs("linear", {1, 1, 4, 4}, "align_corners"))[0],
                  {1, 1.33333337, 1.66666663, 2, 1.66666663, 2, 2.33333325, 2.66666675, 2.33333325, 2.66666675, 3,
                   3.33333325, 3, 3.33333325, 3.66666675, 4});
  Attrs asym = resize_attrs("linear", {1, 1, 3, 5}, "asymmetric");
  asym.set("scales", std::vector<double>{1, 1, 1.5, 2.5});
  expect_near_all(run_node("aten.upsample.default", {x}, asym)[0],
                  {1, 1.39999998, 1.79999995, 2, 2, 2.33333325, 2.73333335, 3.13333344, 3.33333325, 3.33333325, 3,
                   3.4000001, 3.79999995, 4, 4});
  // Downsampling by scales (sizes floor(2*0.6), floor(4*0.6)).
  Attrs down = attrs_of({{"mode", std::string("linear")}, {"scales", std::vector<double>{1, 1, 0.6, 0.6}}});
  const Tensor d = iota<float>({1, 1, 2, 4}, 1);
  const Tensor dy = run_node("aten.upsample.default", {d}, down)[0];
  EXPECT_EQ(dy.shape(), (Shape{1, 1, 1, 2}));
  expect_near_all(dy, {2.66666675, 4.33333349});
  const Tensor s = iota<float>({1, 1, 4, 4}, 1);
  expect_near_all(run_node("aten.upsample.default", {s}, resize_attrs("linear", {1, 1, 3, 1}, "pytorch_half_pixel"))[0],
                  {1.66666663, 7, 12.333333});
  // Tri-linear over every dim.
  Tensor t = iota<float>({2, 2, 2});
  for (int i = 0; i < 8; ++i) t.data<float>()[i] *= 1.5f;
  expect_near_all(run_node("aten.upsample.default", {t}, resize_attrs("linear", {3, 3, 3}, "half_pixel"))[0],
                  {0, 0.75, 1.5, 1.5, 2.25, 3, 3, 3.75, 4.5, 3, 3.75, 4.5, 4.5, 5.25, 6, 6, 6.75, 7.5, 6, 6.75, 7.5, 7.5,
                   8.25, 9, 9, 9.75, 10.5});
}

TEST(MovementOps, ResizeAttributes) {
  const Tensor x = iota<float>({1, 1, 2, 2});
  expect_error_naming_node([&] { run_node("aten.upsample.default", {x}, resize_attrs("cubic", {1, 1, 4, 4}, "half_pixel")); },
                           "/test/aten.upsample.default", "cubic");
  EXPECT_THROW(run_node("aten.upsample.default", {x}, resize_attrs("linear", {1, 1, 4, 4}, "tf_crop_and_resize")), Error);
  EXPECT_THROW(run_node("aten.upsample.default", {x}, resize_attrs("nearest", {1, 1, 4, 4}, "half_pixel", "round")), Error);
  EXPECT_THROW(run_node("aten.upsample.default", {x}, resize_attrs("nearest", {1, 4, 4}, "half_pixel")), Error);
  EXPECT_THROW(run_node("aten.upsample.default", {x}, attrs_of({{"mode", std::string("nearest")}})), Error);
  // The batch passes through with a symbolic size; resizing it is an error.
  EXPECT_EQ(infer_shape("aten.upsample.default", {{DType::f32, {kBatch, 3, 4, 4}}},
                        resize_attrs("nearest", {kBatch, 3, 8, 8}, "asymmetric")),
            (Shape{kBatch, 3, 8, 8}));
  EXPECT_EQ(infer_shape("aten.upsample.default", {{DType::f32, {2, 3, 4, 4}}}, resize_attrs("nearest", {kBatch, 3, 8, 8}, "asymmetric"),
                        2),
            (Shape{2, 3, 8, 8}));
  EXPECT_THROW(infer_shape("aten.upsample.default", {{DType::f32, {kBatch, 3, 4, 4}}},
                           resize_attrs("nearest", {2, 3, 8, 8}, "asymmetric")),
               Error);
}

}  // namespace
}  // namespace eq

namespace eq {

TEST(MovementOps, ReshapeToAbsurdShapeIsAnErrorNotOverflow) {
  register_builtin_op_schemas();
  Node n;
  n.name = "/r";
  n.op = "aten.reshape.default";
  n.attrs.set("shape", std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 40, 4});
  n.outputs = {1};
  EXPECT_THROW(infer_outputs(n, {ValueInfo{DType::f32, {4}, nullptr}}, {true}, kBatch), Error);
}

}  // namespace eq
