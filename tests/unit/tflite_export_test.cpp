// The exported TFLite flatbuffer read back with the generated reader: tensor layouts (NHWC inputs
// with a batch signature, OHWI / [1, kh, kw, C] weights), per-channel quantization, bias scales,
// FC weight columns permuted after an NHWC flatten, fused activations, float IO, determinism, the
// verifier on corrupted files, and the errors for what TFLite cannot express. (What the model
// computes is checked against the TFLite interpreter by tests/golden/tflite_golden_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/error.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/tflite.h"
#include "edgequant/xnnpack.h"
#include "qdq_graph_util.h"
#include "tflite_subset_generated.h"

namespace eq {
namespace {

using qdqtest::QdqGraph;
using qdqtest::random_i8;
using BOp = ::tflite::BuiltinOperator;

// ---- reading the flatbuffer back ----

struct Read {
  Read(const Read&) = delete;  // m / sg point into bytes
  Read& operator=(const Read&) = delete;
  std::string bytes;
  const ::tflite::Model* m = nullptr;
  const ::tflite::SubGraph* sg = nullptr;

  explicit Read(std::string b) : bytes(std::move(b)) {
    EXPECT_EQ(tflite::verify(bytes.data(), bytes.size()), "");
    m = ::tflite::GetModel(bytes.data());
    sg = m->subgraphs()->Get(0);
  }
  const ::tflite::Tensor* tensor(int i) const { return sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i)); }
  const ::tflite::Tensor* input(int k = 0) const { return tensor(sg->inputs()->Get(static_cast<flatbuffers::uoffset_t>(k))); }
  const ::tflite::Tensor* output(int k = 0) const { return tensor(sg->outputs()->Get(static_cast<flatbuffers::uoffset_t>(k))); }
  BOp code(const ::tflite::Operator* op) const { return m->operator_codes()->Get(op->opcode_index())->builtin_code(); }
  std::vector<const ::tflite::Operator*> ops(BOp b) const {
    std::vector<const ::tflite::Operator*> v;
    for (const ::tflite::Operator* op : *sg->operators())
      if (code(op) == b) v.push_back(op);
    return v;
  }
  std::vector<std::string> op_names() const {
    std::vector<std::string> v;
    for (const ::tflite::Operator* op : *sg->operators()) v.push_back(::tflite::EnumNameBuiltinOperator(code(op)));
    return v;
  }
  const ::tflite::Tensor* in(const ::tflite::Operator* op, int k) const { return tensor(op->inputs()->Get(static_cast<flatbuffers::uoffset_t>(k))); }
  const ::tflite::Tensor* out(const ::tflite::Operator* op, int k = 0) const { return tensor(op->outputs()->Get(static_cast<flatbuffers::uoffset_t>(k))); }
  // The constant data of a tensor (empty for an activation).
  template <class T>
  std::vector<T> data(const ::tflite::Tensor* t) const {
    const ::tflite::Buffer* b = m->buffers()->Get(t->buffer());
    if (!b->data()) return {};
    std::vector<T> v(b->data()->size() / sizeof(T));
    std::memcpy(v.data(), b->data()->data(), v.size() * sizeof(T));
    return v;
  }
};

std::vector<int> shape(const ::tflite::Tensor* t) { return t->shape() ? std::vector<int>(t->shape()->begin(), t->shape()->end()) : std::vector<int>{}; }
std::vector<int> signature(const ::tflite::Tensor* t) {
  return t->shape_signature() ? std::vector<int>(t->shape_signature()->begin(), t->shape_signature()->end()) : std::vector<int>{};
}
std::vector<float> scales(const ::tflite::Tensor* t) {
  if (!t->quantization() || !t->quantization()->scale()) return {};
  return std::vector<float>(t->quantization()->scale()->begin(), t->quantization()->scale()->end());
}
std::vector<int64_t> zero_points(const ::tflite::Tensor* t) {
  if (!t->quantization() || !t->quantization()->zero_point()) return {};
  return std::vector<int64_t>(t->quantization()->zero_point()->begin(), t->quantization()->zero_point()->end());
}
int qdim(const ::tflite::Tensor* t) { return t->quantization() ? t->quantization()->quantized_dimension() : -1; }

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// ---- small QDQ graphs ----

constexpr float kSx = 0.05f;
constexpr int kZx = 3;

std::vector<float> channel_scales(int64_t n) {
  std::vector<float> s;
  for (int64_t i = 0; i < n; ++i) s.push_back(0.004f + 0.001f * static_cast<float>(i));
  return s;
}
std::vector<int32_t> some_bias(int64_t n) {
  std::vector<int32_t> b;
  for (int64_t i = 0; i < n; ++i) b.push_back(static_cast<int32_t>(i * 37 - 50));
  return b;
}

// x [N, cin, 7, 6] -> conv2d (kh x kw, padding ph/pw, groups) -> optional activation -> Q/DQ(so, zo).
struct ConvSpec {
  int64_t cin = 4, cout = 6, kh = 3, kw = 1, ph = 1, pw = 0, groups = 1;
  std::string act;  // "", "relu", or "hardtanh:lo:hi"
  double lo = 0, hi = 6;
  float so = 0.05f;
  int zo = -10;
};
Graph conv_graph(const ConvSpec& s, Tensor* w_out = nullptr) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, s.cin, 7, 6}), kSx, kZx);
  const Tensor w = random_i8({s.cout, s.cin / s.groups, s.kh, s.kw}, 11);
  if (w_out) *w_out = w;
  const std::vector<float> sw = channel_scales(s.cout);
  Attrs a;
  a.set("stride", std::vector<int64_t>{1, 1});
  a.set("padding", std::vector<int64_t>{s.ph, s.pw, s.ph, s.pw});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", s.groups);
  int y = q.node("aten.conv2d.default", {x, q.weight(w, sw), q.bias(some_bias(s.cout), kSx, sw)}, a, "/conv/Conv");
  if (s.act == "relu") y = q.node("aten.relu.default", {y});
  if (s.act == "hardtanh") {
    Attrs h;
    h.set("min_val", s.lo);
    h.set("max_val", s.hi);
    y = q.node("aten.hardtanh.default", {y}, h);
  }
  q.output(q.qdq(y, s.so, s.zo));
  return q.done();
}

// ---- the fixtures, quantized in-process (generic per-channel quantizer, their own 16 images) ----

Graph quantized_fixture(const std::string& model) {
  const std::string dir = std::string(EQ_FIXTURES_DIR) + "/models/";
  const Graph g = onnx::load(dir + model + ".onnx");
  const GenericQuantizer quantizer{symmetric_int8_config(true)};
  Prepared p = prepare_pt2e(g, quantizer);
  p.run({read_npy(dir + model + ".input.npy")});
  return convert_pt2e(p);
}
bool has_fixture(const std::string& model) {
  return std::filesystem::exists(std::string(EQ_FIXTURES_DIR) + "/models/" + model + ".onnx");
}

// The int8 weight behind the dequantize feeding input 1 of node `n`, and its per-channel scales.
struct QdqWeight {
  Tensor w;
  std::vector<float> scales;
};
QdqWeight qdq_weight(const Graph& g, const Node& n) {
  const Node& dq = g.nodes.at(static_cast<size_t>(g.value(n.inputs.at(1)).producer));
  QdqWeight r;
  r.w = *g.value(dq.inputs.at(0)).constant;
  const Tensor& s = *g.value(dq.inputs.at(1)).constant;
  r.scales.assign(s.data<float>(), s.data<float>() + s.numel());
  return r;
}
std::vector<const Node*> nodes_of(const Graph& g, const std::string& op) {
  std::vector<const Node*> v;
  for (const Node& n : g.nodes)
    if (n.op == op) v.push_back(&n);
  return v;
}

// OIHW (IR) -> OHWI (CONV_2D) or [1, kh, kw, C] (DEPTHWISE_CONV_2D, one input channel per group).
std::vector<int8_t> conv_weight_tflite_order(const Tensor& w, bool depthwise) {
  const int64_t o = w.dim(0), i = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  std::vector<int8_t> v(static_cast<size_t>(w.numel()));
  for (int64_t a = 0; a < o; ++a)
    for (int64_t b = 0; b < i; ++b)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x) {
          const int64_t to = depthwise ? (y * kw + x) * o + a : ((a * kh + y) * kw + x) * i + b;
          v[static_cast<size_t>(to)] = w.data<int8_t>()[((a * i + b) * kh + y) * kw + x];
        }
  return v;
}

void expect_bias_scales(const ::tflite::Tensor* bias, float x_scale, const std::vector<float>& w_scales) {
  const std::vector<float> bs = scales(bias);
  ASSERT_EQ(bs.size(), w_scales.size());
  for (size_t c = 0; c < bs.size(); ++c) EXPECT_NEAR(bs[c], x_scale * w_scales[c], 1e-6 * bs[c]) << "channel " << c;
  EXPECT_EQ(zero_points(bias), std::vector<int64_t>(bs.size(), 0));
}

// ---- layouts and quantization ----

TEST(TfliteExport, ConvWeightsAreOhwiPerChannelWithBias) {
  ConvSpec s;  // 3x1 kernel: a swapped H/W would change the weight shape
  Tensor w;
  const Read r(tflite::export_to_bytes(conv_graph(s, &w)));
  const auto convs = r.ops(BOp::CONV_2D);
  ASSERT_EQ(convs.size(), 1u);
  const ::tflite::Tensor* wt = r.in(convs[0], 1);
  EXPECT_EQ(wt->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(shape(wt), (std::vector<int>{6, 3, 1, 4}));
  EXPECT_EQ(r.data<int8_t>(wt), conv_weight_tflite_order(w, false));
  EXPECT_EQ(scales(wt), channel_scales(6));
  EXPECT_EQ(zero_points(wt), std::vector<int64_t>(6, 0));
  EXPECT_EQ(qdim(wt), 0);

  const ::tflite::Tensor* bt = r.in(convs[0], 2);
  EXPECT_EQ(bt->type(), ::tflite::TensorType::INT32);
  EXPECT_EQ(shape(bt), std::vector<int>{6});
  EXPECT_EQ(r.data<int32_t>(bt), some_bias(6));
  expect_bias_scales(bt, kSx, channel_scales(6));

  const ::tflite::Tensor* xt = r.in(convs[0], 0);
  EXPECT_EQ(xt, r.input());  // the graph input's quantize is absorbed: the conv reads the input
  EXPECT_EQ(shape(xt), (std::vector<int>{1, 7, 6, 4}));
  EXPECT_EQ(signature(xt), (std::vector<int>{-1, 7, 6, 4}));
  EXPECT_EQ(scales(xt), std::vector<float>{kSx});
  EXPECT_EQ(zero_points(xt), std::vector<int64_t>{kZx});
  const auto* o = convs[0]->builtin_options_as_Conv2DOptions();
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->padding(), ::tflite::Padding::SAME);
  EXPECT_EQ(o->stride_h(), 1);
  EXPECT_EQ(o->stride_w(), 1);
  EXPECT_EQ(shape(r.output()), (std::vector<int>{1, 7, 6, 6}));
}

TEST(TfliteExport, DepthwiseWeightsAreOneKhKwC) {
  ConvSpec s;
  s.cin = s.cout = s.groups = 5;
  s.kh = 3, s.kw = 3, s.pw = 1;
  Tensor w;
  const Read r(tflite::export_to_bytes(conv_graph(s, &w)));
  ASSERT_TRUE(r.ops(BOp::CONV_2D).empty());
  const auto dw = r.ops(BOp::DEPTHWISE_CONV_2D);
  ASSERT_EQ(dw.size(), 1u);
  const ::tflite::Tensor* wt = r.in(dw[0], 1);
  EXPECT_EQ(shape(wt), (std::vector<int>{1, 3, 3, 5}));
  EXPECT_EQ(r.data<int8_t>(wt), conv_weight_tflite_order(w, true));
  EXPECT_EQ(scales(wt), channel_scales(5));
  EXPECT_EQ(qdim(wt), 3);
  EXPECT_EQ(dw[0]->builtin_options_as_DepthwiseConv2DOptions()->depth_multiplier(), 1);
  expect_bias_scales(r.in(dw[0], 2), kSx, channel_scales(5));
}

// The cnn fixture: NHWC int8 input with a batch signature and the graph input's quantization;
// every CONV_2D / FULLY_CONNECTED holds the QDQ model's int8 weights (OHWI, FC columns in the
// order of the NHWC flatten) with its per-channel scales; no TRANSPOSE anywhere.
TEST(TfliteExport, CnnFixtureLayoutsAndQuantization) {
  if (!has_fixture("cnn")) GTEST_SKIP() << "no cnn fixture";
  const Graph q = quantized_fixture("cnn");
  const Read r(tflite::export_to_bytes(q));

  const ::tflite::Tensor* in = r.input();
  EXPECT_EQ(in->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(shape(in), (std::vector<int>{1, 28, 28, 1}));
  EXPECT_EQ(signature(in), (std::vector<int>{-1, 28, 28, 1}));
  const Node* quant_in = nullptr;
  for (const Node& n : q.nodes)
    if (n.op == qdqtest::kQ && n.inputs[0] == q.inputs[0]) quant_in = &n;
  ASSERT_NE(quant_in, nullptr);
  const float in_scale = q.value(quant_in->inputs[1]).constant->data<float>()[0];
  const Tensor& zpt = *q.value(quant_in->inputs[2]).constant;
  const int64_t in_zp = zpt.dtype() == DType::i8 ? zpt.data<int8_t>()[0] : zpt.data<uint8_t>()[0];
  EXPECT_EQ(scales(in), std::vector<float>{in_scale});
  EXPECT_EQ(zero_points(in), std::vector<int64_t>{in_zp});
  EXPECT_EQ(r.output()->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(signature(r.output()), (std::vector<int>{-1, 10}));

  const std::vector<std::string> names = r.op_names();
  EXPECT_FALSE(has(names, "TRANSPOSE"));
  EXPECT_FALSE(has(names, "QUANTIZE"));
  EXPECT_FALSE(has(names, "DEQUANTIZE"));

  const auto ir_convs = nodes_of(q, "aten.conv2d.default");
  const auto convs = r.ops(BOp::CONV_2D);
  ASSERT_EQ(convs.size(), ir_convs.size());
  ASSERT_FALSE(convs.empty());
  for (size_t k = 0; k < convs.size(); ++k) {
    const QdqWeight w = qdq_weight(q, *ir_convs[k]);
    const ::tflite::Tensor* wt = r.in(convs[k], 1);
    EXPECT_EQ(shape(wt), (std::vector<int>{static_cast<int>(w.w.dim(0)), static_cast<int>(w.w.dim(2)),
                                           static_cast<int>(w.w.dim(3)), static_cast<int>(w.w.dim(1))}));
    EXPECT_EQ(r.data<int8_t>(wt), conv_weight_tflite_order(w.w, false)) << "conv " << k;
    EXPECT_EQ(scales(wt), w.scales);
    EXPECT_EQ(qdim(wt), 0);
    const ::tflite::Tensor* bt = r.in(convs[k], 2);
    EXPECT_EQ(bt->type(), ::tflite::TensorType::INT32);
    expect_bias_scales(bt, scales(r.in(convs[k], 0)).at(0), w.scales);
  }

  // The first FC reads the flattened [N, 7, 7, C] (NHWC) activation through a RESHAPE: its
  // column j = (h * W + w) * C + c holds the ONNX column c * H * W + h * W + w.
  const auto ir_fcs = nodes_of(q, "aten.linear.default");
  const auto fcs = r.ops(BOp::FULLY_CONNECTED);
  ASSERT_EQ(fcs.size(), ir_fcs.size());
  ASSERT_FALSE(fcs.empty());
  const auto reshapes = r.ops(BOp::RESHAPE);
  ASSERT_EQ(reshapes.size(), 1u);
  EXPECT_EQ(r.out(reshapes[0]), r.in(fcs[0], 0));
  const std::vector<int> nhwc = shape(r.in(reshapes[0], 0));
  ASSERT_EQ(nhwc.size(), 4u);
  const int64_t H = nhwc[1], W = nhwc[2], C = nhwc[3];
  const QdqWeight fw = qdq_weight(q, *ir_fcs[0]);
  ASSERT_EQ(fw.w.dim(1), H * W * C);
  const std::vector<int8_t> got = r.data<int8_t>(r.in(fcs[0], 1));
  ASSERT_EQ(static_cast<int64_t>(got.size()), fw.w.numel());
  int64_t mismatches = 0;
  for (int64_t o = 0; o < fw.w.dim(0); ++o)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t x = 0; x < W; ++x)
        for (int64_t c = 0; c < C; ++c) {
          const int64_t j = (h * W + x) * C + c, src = c * H * W + h * W + x;
          mismatches += got[static_cast<size_t>(o * H * W * C + j)] != fw.w.data<int8_t>()[o * H * W * C + src];
        }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(scales(r.in(fcs[0], 1)), fw.scales);
  expect_bias_scales(r.in(fcs[0], 2), scales(r.in(fcs[0], 0)).at(0), fw.scales);
}

// mbv2's depthwise convs: [1, kh, kw, C] weights quantized on dimension 3.
TEST(TfliteExport, Mbv2FixtureDepthwiseWeights) {
  if (!has_fixture("mbv2")) GTEST_SKIP() << "no mbv2 fixture";
  const Graph q = quantized_fixture("mbv2");
  const Read r(tflite::export_to_bytes(q));
  std::vector<const Node*> ir_dw;
  for (const Node* n : nodes_of(q, "aten.conv2d.default"))
    if (n->attrs.i("groups", 1) > 1) ir_dw.push_back(n);
  const auto dws = r.ops(BOp::DEPTHWISE_CONV_2D);
  ASSERT_EQ(dws.size(), ir_dw.size());
  ASSERT_FALSE(dws.empty());
  for (size_t k = 0; k < dws.size(); ++k) {
    const QdqWeight w = qdq_weight(q, *ir_dw[k]);
    const ::tflite::Tensor* wt = r.in(dws[k], 1);
    EXPECT_EQ(shape(wt), (std::vector<int>{1, static_cast<int>(w.w.dim(2)), static_cast<int>(w.w.dim(3)),
                                           static_cast<int>(w.w.dim(0))}));
    EXPECT_EQ(r.data<int8_t>(wt), conv_weight_tflite_order(w.w, true)) << "depthwise " << k;
    EXPECT_EQ(scales(wt), w.scales);
    EXPECT_EQ(qdim(wt), 3);
    expect_bias_scales(r.in(dws[k], 2), scales(r.in(dws[k], 0)).at(0), w.scales);
  }
  EXPECT_FALSE(has(r.op_names(), "TRANSPOSE"));
}

// A linear after flatten of an NHWC tensor: RESHAPE + FULLY_CONNECTED with permuted columns.
TEST(TfliteExport, LinearAfterNhwcFlattenPermutesColumns) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 4, 3, 2}), kSx, kZx);
  Attrs f;
  f.set("start_dim", int64_t{1});
  const int flat = q.qdq(q.node("aten.flatten.using_ints", {x}, f), kSx, kZx);
  const Tensor w = random_i8({5, 24}, 7);
  const std::vector<float> sw = {0.01f, 0.02f, 0.03f, 0.04f, 0.05f};
  q.output(q.qdq(q.node("aten.linear.default", {flat, q.weight(w, sw), q.bias(some_bias(5), kSx, sw)}), 0.1f, -2));
  const Read r(tflite::export_to_bytes(q.done()));
  EXPECT_EQ(r.op_names(), (std::vector<std::string>{"RESHAPE", "FULLY_CONNECTED"}));
  const auto fc = r.ops(BOp::FULLY_CONNECTED)[0];
  const std::vector<int8_t> got = r.data<int8_t>(r.in(fc, 1));
  ASSERT_EQ(got.size(), 120u);
  for (int64_t o = 0; o < 5; ++o)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t x2 = 0; x2 < 2; ++x2)
        for (int64_t c = 0; c < 4; ++c)
          ASSERT_EQ(got[static_cast<size_t>(o * 24 + (h * 2 + x2) * 4 + c)], w.data<int8_t>()[o * 24 + c * 6 + h * 2 + x2])
              << o << " " << h << " " << x2 << " " << c;
  EXPECT_EQ(scales(r.in(fc, 1)), sw);
  EXPECT_EQ(qdim(r.in(fc, 1)), 0);
  expect_bias_scales(r.in(fc, 2), kSx, sw);
}

// ---- fused activations ----

::tflite::ActivationFunctionType conv_activation(const Read& r) {
  return r.ops(BOp::CONV_2D).at(0)->builtin_options_as_Conv2DOptions()->fused_activation_function();
}

TEST(TfliteExport, ReluAndRelu6FuseIntoTheConv) {
  ConvSpec s;
  s.act = "relu";  // output zp -10: the clamp [-10, 127] is RELU's range
  const Read relu(tflite::export_to_bytes(conv_graph(s)));
  EXPECT_EQ(conv_activation(relu), ::tflite::ActivationFunctionType::RELU);
  EXPECT_EQ(relu.op_names(), std::vector<std::string>{"CONV_2D"});

  s.act = "hardtanh";  // [0, 6] at scale 0.05, zp -10: [-10, 110], RELU6's range
  s.lo = 0, s.hi = 6;
  const Read relu6(tflite::export_to_bytes(conv_graph(s)));
  EXPECT_EQ(conv_activation(relu6), ::tflite::ActivationFunctionType::RELU6);
  EXPECT_EQ(relu6.op_names(), std::vector<std::string>{"CONV_2D"});

  s.act = "relu";  // output zp -128: the clamp is the whole int8 range, nothing to fuse
  s.zo = -128;
  const Read none(tflite::export_to_bytes(conv_graph(s)));
  EXPECT_EQ(conv_activation(none), ::tflite::ActivationFunctionType::NONE);
  EXPECT_EQ(none.op_names(), std::vector<std::string>{"CONV_2D"});
}

TEST(TfliteExport, ClampWithoutFusedActivationIsMaximumMinimum) {
  ConvSpec s;
  s.act = "hardtanh";  // [-0.5, 2] at scale 0.05, zp -10: [-20, 30], no TFLite activation
  s.lo = -0.5, s.hi = 2;
  const Read r(tflite::export_to_bytes(conv_graph(s)));
  EXPECT_EQ(conv_activation(r), ::tflite::ActivationFunctionType::NONE);
  EXPECT_EQ(r.op_names(), (std::vector<std::string>{"CONV_2D", "MAXIMUM", "MINIMUM"}));
  const auto mx = r.ops(BOp::MAXIMUM)[0];
  const auto mn = r.ops(BOp::MINIMUM)[0];
  EXPECT_EQ(r.data<int8_t>(r.in(mx, 1)), std::vector<int8_t>{-20});
  EXPECT_EQ(r.data<int8_t>(r.in(mn, 1)), std::vector<int8_t>{30});
  EXPECT_EQ(r.in(mn, 0), r.out(mx));
  EXPECT_EQ(r.out(mn), r.output());
  for (const auto* t : {r.in(mx, 1), r.in(mn, 1), r.output()}) {  // the clamp keeps the output quantization
    EXPECT_EQ(scales(t), std::vector<float>{0.05f});
    EXPECT_EQ(zero_points(t), std::vector<int64_t>{-10});
  }
}

// ---- float IO ----

TEST(TfliteExport, FloatIoAddsQuantizeAndDequantize) {
  const Graph g = conv_graph(ConvSpec{});
  const Read ints(tflite::export_to_bytes(g));
  EXPECT_EQ(ints.input()->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(ints.output()->type(), ::tflite::TensorType::INT8);

  tflite::ExportOptions o;
  o.float_io = true;
  tflite::ExportReport rep;
  const Read r(tflite::export_to_bytes(g, o, &rep));
  EXPECT_EQ(r.op_names(), (std::vector<std::string>{"QUANTIZE", "CONV_2D", "DEQUANTIZE"}));
  EXPECT_EQ(rep.float_operators, 0u);  // the IO edges do not count as float compute
  const ::tflite::Tensor* in = r.input();
  EXPECT_EQ(in->type(), ::tflite::TensorType::FLOAT32);
  EXPECT_TRUE(scales(in).empty());
  EXPECT_EQ(signature(in), (std::vector<int>{-1, 7, 6, 4}));
  const auto qz = r.ops(BOp::QUANTIZE)[0];
  EXPECT_EQ(r.in(qz, 0), in);
  EXPECT_EQ(r.out(qz)->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(scales(r.out(qz)), std::vector<float>{kSx});
  EXPECT_EQ(zero_points(r.out(qz)), std::vector<int64_t>{kZx});
  EXPECT_EQ(r.in(r.ops(BOp::CONV_2D)[0], 0), r.out(qz));
  const auto dq = r.ops(BOp::DEQUANTIZE)[0];
  EXPECT_EQ(r.out(dq), r.output());
  EXPECT_EQ(r.output()->type(), ::tflite::TensorType::FLOAT32);
  EXPECT_EQ(r.in(dq, 0)->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(scales(r.in(dq, 0)), std::vector<float>{0.05f});
}

// ---- determinism ----

TEST(TfliteExport, ExportIsDeterministic) {
  const Graph g = conv_graph(ConvSpec{});
  const std::string a = tflite::export_to_bytes(g);
  const Graph copy = g;
  EXPECT_EQ(tflite::export_to_bytes(copy), a);
  EXPECT_EQ(tflite::export_to_bytes(g), a);
  if (has_fixture("cnn")) {
    const Graph q = quantized_fixture("cnn");
    const std::string b = tflite::export_to_bytes(q);
    EXPECT_EQ(tflite::export_to_bytes(q), b);
    EXPECT_EQ(tflite::export_to_bytes(quantized_fixture("cnn")), b);  // quantize + export again
  }
}

// ---- verify() on damaged files ----

// Reads every field a consumer of a verified model would (crashes here under ASan / valgrind if
// verify() let a bad offset through).
size_t walk(const std::string& bytes) {
  const ::tflite::Model* m = ::tflite::GetModel(bytes.data());
  size_t sum = 0;
  for (const ::tflite::SubGraph* sg : *m->subgraphs()) {
    if (sg->tensors())
      for (const ::tflite::Tensor* t : *sg->tensors()) {
        sum += t->shape() ? t->shape()->size() : 0;
        sum += t->name() ? t->name()->size() : 0;
        const ::tflite::Buffer* b = m->buffers()->Get(t->buffer());
        if (b->data())
          for (uint8_t x : *b->data()) sum += x;
        if (t->quantization() && t->quantization()->scale()) sum += t->quantization()->scale()->size();
      }
    if (sg->operators())
      for (const ::tflite::Operator* op : *sg->operators()) {
        sum += static_cast<size_t>(m->operator_codes()->Get(op->opcode_index())->builtin_code());
        if (op->inputs())
          for (int32_t i : *op->inputs()) sum += i >= 0 ? static_cast<size_t>(sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(i))->type()) : 0;
      }
  }
  return sum;
}

TEST(TfliteExport, VerifyRejectsDamagedFiles) {
  const std::string good = tflite::export_to_bytes(conv_graph(ConvSpec{}));
  ASSERT_EQ(tflite::verify(good.data(), good.size()), "");
  EXPECT_GT(walk(good), 0u);

  std::string id = good;
  id[4] = 'X';  // "TFL3" -> "XFL3"
  EXPECT_NE(tflite::verify(id.data(), id.size()).find("TFL3"), std::string::npos);
  EXPECT_NE(tflite::verify(good.data(), 0), "");
  EXPECT_NE(tflite::verify(good.data(), 7), "");

  std::string root = good;  // root table offset far outside the file
  root[0] = root[1] = root[2] = '\x7f';
  EXPECT_NE(tflite::verify(root.data(), root.size()), "");

  // Every cut: rejected (or, where only trailing alignment padding was cut, still fully readable).
  int accepted_cuts = 0;
  for (size_t n = 0; n < good.size(); ++n) {
    const std::string cut = good.substr(0, n);  // a copy: reads past n are heap overflows
    if (tflite::verify(cut.data(), cut.size()).empty()) {
      ++accepted_cuts;
      walk(cut);
    }
  }
  EXPECT_LE(accepted_cuts, 16) << "of " << good.size() << " truncations";

  // Random byte flips: verify() never crashes, and what it accepts can be read.
  std::mt19937 rng(1234);
  int accepted = 0;
  const int trials = 3000;
  for (int t = 0; t < trials; ++t) {
    std::string bad = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] ^= static_cast<char>(1 + rng() % 255);
    if (tflite::verify(bad.data(), bad.size()).empty()) {
      ++accepted;
      walk(bad);
    }
  }
  std::cout << accepted << " of " << trials << " randomly damaged files pass verify() (flips in weights, "
            << "shapes and names are valid files); " << accepted_cuts << " of " << good.size()
            << " truncations pass\n";
}

// An operator index or tensor index out of range passes the FlatBuffers verifier but not TFLite's
// structural rules.
TEST(TfliteExport, VerifyChecksIndicesInRange) {
  const Graph g = conv_graph(ConvSpec{});
  const std::string good = tflite::export_to_bytes(g);
  auto mutate = [&](auto&& edit) {
    std::unique_ptr<::tflite::ModelT> m = ::tflite::UnPackModel(good.data());
    edit(*m);
    flatbuffers::FlatBufferBuilder fbb;
    ::tflite::FinishModelBuffer(fbb, ::tflite::Model::Pack(fbb, m.get()));
    const std::string b(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
    return tflite::verify(b.data(), b.size());
  };
  EXPECT_EQ(mutate([](::tflite::ModelT&) {}), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs[0]->operators[0]->opcode_index = 99; }), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs[0]->operators[0]->inputs[0] = 1000; }), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs[0]->operators[0]->outputs[0] = -1; }), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs[0]->tensors[0]->buffer = 5000; }), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs[0]->inputs[0] = -3; }), "");
  EXPECT_NE(mutate([](::tflite::ModelT& m) { m.subgraphs.clear(); }), "");
}

// ---- what TFLite cannot express ----

std::string export_error(const Graph& g, const tflite::ExportOptions& o = {}) {
  try {
    (void)tflite::export_to_bytes(g, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Graph layer_norm_graph() {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 6, 8}), kSx, kZx);
  Attrs a;
  a.set("axis", int64_t{2});
  a.set("eps", 1e-5);
  q.output(q.qdq(q.node("aten.layer_norm.default", {x}, a, "/encoder/ln/LayerNorm"), 0.03f, 1));
  return q.done();
}

TEST(TfliteExport, FloatLayerNormNeedsFloatFallback) {
  const Graph g = layer_norm_graph();
  const std::string e = export_error(g);
  EXPECT_NE(e.find("node '/encoder/ln/LayerNorm' (aten.layer_norm.default)"), std::string::npos) << e;
  EXPECT_NE(e.find("float_fallback"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;

  tflite::ExportOptions o;
  o.float_fallback = true;
  tflite::ExportReport rep;
  const Read r(tflite::export_to_bytes(g, o, &rep));
  EXPECT_EQ(rep.float_nodes, std::vector<std::string>{"/encoder/ln/LayerNorm (aten.layer_norm.default)"});
  EXPECT_GT(rep.float_operators, 0u);
  const std::vector<std::string> names = r.op_names();
  EXPECT_EQ(names.front(), "DEQUANTIZE");  // int8 in, the island in float, int8 out
  EXPECT_EQ(names.back(), "QUANTIZE");
  EXPECT_EQ(r.input()->type(), ::tflite::TensorType::INT8);
  EXPECT_EQ(r.output()->type(), ::tflite::TensorType::INT8);
}

// XNNPACK's dynamic config: the lowering makes the linear quantized.linear_dynamic (qparams
// chosen at run time), which no TFLite builtin computes with int8 IO.
TEST(TfliteExport, DynamicLinearIsAnErrorNamingTheNode) {
  QdqGraph f;
  const int x = f.input("x", {kBatch, 8});
  std::vector<float> wv;
  for (int i = 0; i < 32; ++i) wv.push_back(0.01f * static_cast<float>(i % 7 - 3));
  const int w = f.g.add_constant("fc.weight", Tensor::from_vector<float>({4, 8}, wv));
  f.output(f.node("aten.linear.default", {x, w}, {}, "/fc/Gemm"));
  XNNPACKQuantizer quantizer;
  quantizer.set_global(xnnpack::get_symmetric_quantization_config(true, false, true));
  Prepared p = prepare_pt2e(f.done(), quantizer);
  const Graph q = convert_pt2e(p);
  ASSERT_FALSE(nodes_of(q, "quantized_decomposed.choose_qparams.tensor").empty());
  for (const bool fallback : {false, true}) {  // float_fallback is no way around it
    tflite::ExportOptions o;
    o.float_fallback = fallback;
    const std::string e = export_error(q, o);
    EXPECT_NE(e.find("node '/fc/Gemm' (quantized.linear_dynamic)"), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

// A choose_qparams the lowering leaves alone (its dequantized value is a model output here) is
// refused by name, as dynamic quantization.
TEST(TfliteExport, ChooseQparamsIsAnErrorNamingTheNode) {
  QdqGraph f;
  const int x = f.input("x", {kBatch, 8});
  Attrs a;
  a.set("quant_min", int64_t{-128});
  a.set("quant_max", int64_t{127});
  a.set("eps", 1.0 / 4096);
  a.set("dtype", std::string("i8"));
  const int c = f.g.add_node("quantized_decomposed.choose_qparams.tensor", "/x/choose", {x}, 2, a);
  const int s = f.g.nodes[static_cast<size_t>(c)].outputs[0], z = f.g.nodes[static_cast<size_t>(c)].outputs[1];
  const int qv = f.node(qdqtest::kQ, {x, s, z});
  f.output(f.node("aten.relu.default", {f.node(qdqtest::kDQ, {qv, s, z})}));
  const std::string e = export_error(f.done());
  EXPECT_NE(e.find("node '/x/choose' (quantized_decomposed.choose_qparams.tensor)"), std::string::npos) << e;
  EXPECT_NE(e.find("dynamic quantization"), std::string::npos) << e;
}

}  // namespace
}  // namespace eq
