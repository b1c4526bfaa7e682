// lower_to_integer with LowerOptions::int16_activations (the TFLite 16x8 export): Ethos-U a16w8
// QDQ graphs lower to quantized.* ops on int16 activations (int8 weights, int64 bias, zero point
// 0, act range [-32768, 32767]), unary functions to quantized.unary; hand-built QDQ graphs check
// the bias re-quantization, the mixed int8/int16 rules and the zero-point rule; int8 lowering is
// unchanged by the option; the executor refuses int16 integer nodes; the schemas keep int8 strict.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "float_net.h"
#include "edgequant/error.h"
#include "edgequant/ethos_u.h"
#include "edgequant/executor.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "op_test_util.h"
#include "qdq_graph_util.h"

namespace eq {
namespace {

using namespace qdqtest;

const LowerOptions kInt16{true};

struct Net : testnet::FloatNet {
  Net() : FloatNet(5) {}
};

Attrs pool_attrs(int64_t k) {
  Attrs a;
  a.set("kernel_size", std::vector<int64_t>{k, k});
  a.set("stride", std::vector<int64_t>{k, k});
  return a;
}

Tensor random_f32(const Shape& s, uint32_t seed) {
  Tensor t(DType::f32, s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// x → conv → relu → (+ 1x1 conv of it) → max_pool → avg_pool → flatten → linear → sigmoid.
Graph a16w8_model() {
  Net n;
  const int x = n.input({kBatch, 2, 8, 8});
  const int r = n.op("aten.relu.default", {n.conv2d(x, 4, 3, 1, 1, 1, "/conv1")}, {}, "/relu");
  const int a = n.op("aten.add.Tensor", {r, n.conv2d(r, 4, 1, 1, 0, 1, "/conv2")}, {}, "/add");
  const int mp = n.op("aten.max_pool2d.default", {a}, pool_attrs(2), "/maxpool");
  const int ap = n.op("aten.avg_pool2d.default", {mp}, pool_attrs(2), "/avgpool");
  Attrs fl;
  fl.set("start_dim", int64_t{1});
  fl.set("end_dim", int64_t{-1});
  const int f = n.op("aten.flatten.using_ints", {ap}, fl, "/flatten");
  const int l = n.op("aten.linear.default", {f, n.weight({3, 16}), n.weight({3}, 0.1f)}, {}, "/fc");
  n.g.outputs.push_back(n.op("aten.sigmoid.default", {l}, {}, "/sigmoid"));
  EthosUQuantizer q{EthosUCompileSpec("ethos-u55-128")};
  q.set_global(ethosu::get_symmetric_a16w8_quantization_config());
  std::vector<std::vector<Tensor>> calib;
  for (uint32_t b = 0; b < 3; ++b) calib.push_back({random_f32({4, 2, 8, 8}, 21 + b)});
  return q.quantize_with_submodules(n.g, calib);
}

const Node* find_node(const Graph& g, const std::string& op, const std::string& name = "") {
  for (const Node& n : g.nodes)
    if (n.op == op && (name.empty() || n.name == name)) return &n;
  return nullptr;
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op == op;
  return c;
}

int count_prefix(const Graph& g, const std::string& prefix) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op.rfind(prefix, 0) == 0;
  return c;
}

DType in_dtype(const Graph& g, const Node& n, size_t i) { return g.value(n.inputs.at(i)).dtype; }
DType out_dtype(const Graph& g, const Node& n) { return g.value(n.outputs.at(0)).dtype; }

// The dequantize node producing `v` in the QDQ graph, and its inputs as constants.
const Node& producer(const Graph& g, int v) { return g.nodes.at(static_cast<size_t>(g.value(v).producer)); }
const Tensor& dq_input(const Graph& g, int v, size_t k) { return *g.value(producer(g, v).inputs.at(k)).constant; }

// A QDQ graph with int16 activations (zero points stored as i16 scalars).
struct Qdq16 : QdqGraph {
  int zp16(int z) { return g.add_constant(fresh("zp"), Tensor::scalar<int16_t>(static_cast<int16_t>(z))); }
  int q16(int x, float s, int z = 0, const std::string& name = "") { return node(kQ, {x, scale(s), zp16(z)}, {}, name); }
  int dq16(int qv, float s, int z = 0) { return node(kDQ, {qv, scale(s), zp16(z)}); }
  int qdq16(int x, float s, int z = 0, const std::string& name = "") { return dq16(q16(x, s, z, name), s, z); }
  // conv2d 3x3, padding 1, on `x` with int8 weights (scales w_scales) and an int32 bias behind a
  // dequantize of scale bias_x_scale * w_scale[c].
  int conv(int x, const std::vector<float>& w_scales, const std::vector<int32_t>& b, float bias_x_scale,
           const std::string& name = "/conv") {
    const int64_t cout = static_cast<int64_t>(w_scales.size());
    Attrs a;
    a.set("stride", std::vector<int64_t>{1, 1});
    a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
    a.set("dilation", std::vector<int64_t>{1, 1});
    a.set("groups", int64_t{1});
    return node("aten.conv2d.default",
                {x, weight(random_i8({cout, 2, 3, 3}, 3), w_scales), bias(b, bias_x_scale, w_scales)}, a, name);
  }
};

// ---- Ethos-U a16w8 ----

TEST(LowerInt16, EthosUA16W8ModelLowersToInt16Ops) {
  const Graph qdq = a16w8_model();
  Graph l = qdq;
  EXPECT_EQ(lower_to_integer(l, kInt16), 9);  // 2 conv, relu, add, 2 pools, flatten, fc, sigmoid
  l.validate();
  // Only the model input's quantize and the output's dequantize are left, no float compute.
  EXPECT_EQ(count_prefix(l, "quantized_decomposed."), 2);
  EXPECT_EQ(count_prefix(l, "aten."), 1);  // the flatten, on int16
  for (const std::string op : {"quantized.conv2d", "quantized.linear"}) {
    for (const Node& n : l.nodes) {
      if (n.op != op) continue;
      SCOPED_TRACE(n.name);
      EXPECT_EQ(in_dtype(l, n, 0), DType::i16);
      EXPECT_EQ(in_dtype(l, n, 1), DType::i8);
      EXPECT_EQ(in_dtype(l, n, 2), DType::i64);
      EXPECT_EQ(out_dtype(l, n), DType::i16);
      // a16w8 is symmetric: zero point 0; no fused activation: the whole int16 range.
      EXPECT_EQ(n.attrs.i("x_zero_point"), 0);
      EXPECT_EQ(n.attrs.i("out_zero_point"), 0);
      EXPECT_EQ(n.attrs.i("act_min"), -32768);
      EXPECT_EQ(n.attrs.i("act_max"), 32767);
      // The QDQ graph's scales, weights and bias (ExecuTorch's int32 bias already has scale
      // x_scale * w_scale[c]: taken as it is, widened to int64).
      const Node* f = find_node(qdq, op == "quantized.conv2d" ? "aten.conv2d.default" : "aten.linear.default", n.name);
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(n.attrs.f("x_scale"), dq_input(qdq, f->inputs[0], 1).to_double_vector().at(0));
      EXPECT_EQ(n.attrs.floats("w_scales"), dq_input(qdq, f->inputs[1], 1).to_double_vector());
      EXPECT_EQ(l.value(n.inputs[1]).constant->to_int64_vector(), dq_input(qdq, f->inputs[1], 0).to_int64_vector());
      const Tensor& b32 = dq_input(qdq, f->inputs[2], 0);
      EXPECT_EQ(b32.dtype(), DType::i32);
      const Tensor& b64 = *l.value(n.inputs[2]).constant;
      EXPECT_EQ(b64.dtype(), DType::i64);
      EXPECT_EQ(b64.to_int64_vector(), b32.to_int64_vector());
    }
  }
  EXPECT_EQ(count_op(l, "quantized.conv2d"), 2);
  EXPECT_EQ(count_op(l, "quantized.linear"), 1);
  const Node* add = find_node(l, "quantized.add", "/add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(in_dtype(l, *add, 0), DType::i16);
  EXPECT_EQ(in_dtype(l, *add, 1), DType::i16);
  EXPECT_EQ(out_dtype(l, *add), DType::i16);
  EXPECT_EQ(add->attrs.i("act_min"), -32768);
  EXPECT_EQ(add->attrs.i("act_max"), 32767);
  for (const char* pool : {"quantized.max_pool2d", "quantized.avg_pool2d"}) {
    const Node* p = find_node(l, pool);
    ASSERT_NE(p, nullptr) << pool;
    EXPECT_EQ(in_dtype(l, *p, 0), DType::i16);
    EXPECT_EQ(out_dtype(l, *p), DType::i16);
    EXPECT_EQ(p->attrs.ints("kernel_size"), (std::vector<int64_t>{2, 2}));
  }
  // Unary functions: quantized.unary naming the ATen op, no table.
  const Node* relu = find_node(l, "quantized.unary", "/relu");
  const Node* sig = find_node(l, "quantized.unary", "/sigmoid");
  ASSERT_TRUE(relu && sig);
  EXPECT_EQ(relu->attrs.s("function"), "aten.relu.default");
  EXPECT_EQ(sig->attrs.s("function"), "aten.sigmoid.default");
  EXPECT_EQ(relu->inputs.size(), 1u);
  EXPECT_EQ(relu->attrs.f("x_scale"), relu->attrs.f("out_scale"));  // a16w8 shares the relu's qparams
  EXPECT_EQ(out_dtype(l, *sig), DType::i16);
  // The flatten moves int16 (qparams shared).
  const Node* fl = find_node(l, "aten.flatten.using_ints");
  ASSERT_NE(fl, nullptr);
  EXPECT_EQ(in_dtype(l, *fl, 0), DType::i16);
  EXPECT_EQ(out_dtype(l, *fl), DType::i16);
  // Lowering again changes nothing.
  Graph again = l;
  EXPECT_EQ(lower_to_integer(again, kInt16), 0);
}

TEST(LowerInt16, DefaultOptionsLeaveInt16Alone) {
  const Graph qdq = a16w8_model();
  Graph a = qdq, b = qdq;
  EXPECT_EQ(lower_to_integer(a), 0);
  EXPECT_EQ(lower_to_integer(b, LowerOptions{}), 0);
  EXPECT_EQ(count_prefix(a, "quantized."), 0);
  EXPECT_EQ(count_prefix(b, "quantized."), 0);
  EXPECT_EQ(a.nodes.size(), qdq.nodes.size());
}

TEST(LowerInt16, ExecutorRefusesInt16IntegerNodes) {
  Graph l = a16w8_model();
  lower_to_integer(l, kInt16);
  optest::expect_error_naming_node(
      [&] {
        Executor ex(l);
        ex.run({random_f32({1, 2, 8, 8}, 3)});
      },
      "node '/conv1' (quantized.conv2d)", "int16 integer kernels are not implemented; run the QDQ graph (fake-quant)");
  // quantized.unary alone (it has no int8 form: always refused).
  Qdq16 q;
  const int x = q.input("x", {1, 8});
  q.output(q.qdq16(q.node("aten.tanh.default", {q.qdq16(x, 1.f / 4096)}, {}, "/tanh"), 1.f / 32768));
  Graph u = q.done();
  EXPECT_EQ(lower_to_integer(u, kInt16), 1);
  optest::expect_error_naming_node(
      [&] {
        Executor ex(u);
        ex.run({random_f32({1, 8}, 4)});
      },
      "node '/tanh' (quantized.unary)", "int16 integer kernels are not implemented");
}

// ---- int8 is unchanged by the option ----

void expect_same_graph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    SCOPED_TRACE(x.describe());
    EXPECT_EQ(x.op, y.op);
    EXPECT_EQ(x.name, y.name);
    EXPECT_TRUE(x.attrs == y.attrs);
    ASSERT_EQ(x.inputs.size(), y.inputs.size());
    for (size_t k = 0; k < x.inputs.size(); ++k) {
      if (x.inputs[k] < 0 || y.inputs[k] < 0) {
        EXPECT_EQ(x.inputs[k], y.inputs[k]);
        continue;
      }
      const Value& u = a.value(x.inputs[k]);
      const Value& v = b.value(y.inputs[k]);
      EXPECT_EQ(u.name, v.name);
      EXPECT_EQ(u.dtype, v.dtype);
      EXPECT_EQ(u.shape, v.shape);
      ASSERT_EQ(u.constant.has_value(), v.constant.has_value());
      if (u.constant) {
        EXPECT_EQ(u.constant->to_double_vector(), v.constant->to_double_vector());
      }
    }
  }
}

TEST(LowerInt16, Int8LoweringIsUnchangedByTheOption) {
  // A similar model through Ethos-U's int8 config.
  Net n;
  const int x = n.input({kBatch, 2, 8, 8});
  const int r = n.op("aten.relu.default", {n.conv2d(x, 4, 3, 1, 1, 1, "/conv1")}, {}, "/relu");
  const int a = n.op("aten.add.Tensor", {r, n.conv2d(r, 4, 1, 1, 0, 1, "/conv2")}, {}, "/add");
  const int mp = n.op("aten.max_pool2d.default", {a}, pool_attrs(2), "/maxpool");
  Attrs fl;
  fl.set("start_dim", int64_t{1});
  fl.set("end_dim", int64_t{-1});
  const int l = n.op("aten.linear.default", {n.op("aten.flatten.using_ints", {mp}, fl), n.weight({3, 64}), n.weight({3}, 0.1f)});
  n.g.outputs.push_back(n.op("aten.tanh.default", {l}, {}, "/tanh"));
  EthosUQuantizer q{EthosUCompileSpec("ethos-u55-128")};
  q.set_global(ethosu::get_symmetric_quantization_config());
  const Graph qdq = q.quantize_with_submodules(n.g, {{random_f32({4, 2, 8, 8}, 8)}});
  Graph plain = qdq, opt = qdq;
  const int k = lower_to_integer(plain);
  EXPECT_GT(k, 5);
  EXPECT_EQ(lower_to_integer(opt, kInt16), k);
  EXPECT_EQ(count_op(plain, "quantized.lookup_table"), 1);  // tanh: int8 keeps its table
  EXPECT_EQ(count_op(plain, "quantized.unary"), 0);
  expect_same_graph(plain, opt);
}

// ---- hand-built int16 patterns ----

TEST(LowerInt16, BiasIsReQuantizedToInt64AndFusedReluClamps) {
  const float xs = 0.125f, ys = 0.25f;
  const std::vector<float> ws = {0.25f, 0.5f, 0.0625f, 0.125f};  // powers of two: exact arithmetic
  Qdq16 q;
  const int x = q.input("x", {1, 2, 4, 4});
  // The bias's dequantize scale is 2 x_scale w_scale[c]: re-quantized to x_scale w_scale[c].
  const int c = q.conv(q.qdq16(x, xs), ws, {100, -37, 2000, 0}, 2 * xs);
  q.output(q.dq16(q.q16(q.node("aten.relu.default", {c}), ys), ys));
  // A second conv whose bias exceeds int32 on the new scale (1e9 × 4): int64 holds it.
  const int c2 = q.conv(q.qdq16(x, xs), {0.25f}, {1000000000}, 4 * xs, "/conv_big");
  q.output(q.dq16(q.q16(c2, ys), ys));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 2);
  const Node* conv = find_node(l, "quantized.conv2d", "/conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(l.value(conv->inputs[2]).dtype, DType::i64);
  EXPECT_EQ(l.value(conv->inputs[2]).constant->to_int64_vector(), (std::vector<int64_t>{200, -74, 4000, 0}));
  EXPECT_EQ(conv->attrs.i("act_min"), 0);  // relu: the zero point
  EXPECT_EQ(conv->attrs.i("act_max"), 32767);
  EXPECT_EQ(conv->attrs.f("x_scale"), 0.125);
  EXPECT_EQ(conv->attrs.f("out_scale"), 0.25);
  EXPECT_EQ(conv->attrs.floats("w_scales"), (std::vector<double>{0.25, 0.5, 0.0625, 0.125}));
  EXPECT_EQ(count_op(l, "aten.relu.default"), 0);
  const Node* big = find_node(l, "quantized.conv2d", "/conv_big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(l.value(big->inputs[2]).constant->to_int64_vector(), (std::vector<int64_t>{4000000000}));
  // The default (int8) lowering touches neither.
  Graph d = q.done();
  EXPECT_EQ(lower_to_integer(d), 0);
}

TEST(LowerInt16, FusedHardtanhRangeIsOnTheInt16Grid) {
  const float ys = 1.0f / 4096;
  Qdq16 q;
  const int x = q.input("x", {1, 2, 4, 4});
  const int c = q.conv(q.qdq16(x, 0.125f), {0.25f, 0.25f}, {1, 2}, 0.125f);
  Attrs h;
  h.set("min_val", 0.0);
  h.set("max_val", 6.0);
  q.output(q.dq16(q.q16(q.node("aten.hardtanh.default", {c}, h), ys), ys));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 1);
  const Node* conv = find_node(l, "quantized.conv2d");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->attrs.i("act_min"), 0);
  EXPECT_EQ(conv->attrs.i("act_max"), 24576);  // 6 × 4096: beyond int8, within int16
}

TEST(LowerInt16, NonZeroInt16ZeroPointStaysFloat) {
  Qdq16 q;
  const int x = q.input("x", {1, 2, 4, 4});
  q.output(q.qdq16(q.node("aten.max_pool2d.default", {q.qdq16(x, 0.01f, 5)}, pool_attrs(2)), 0.01f, 5));
  const int c = q.conv(q.qdq16(x, 0.01f, 5), {0.25f}, {7}, 0.01f);
  q.output(q.qdq16(c, 0.02f, 5));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 0);
  EXPECT_EQ(count_op(l, "aten.max_pool2d.default"), 1);
  EXPECT_EQ(count_op(l, "aten.conv2d.default"), 1);
}

TEST(LowerInt16, MixedInt8Int16OpsStayFloatAndPairsRequantize) {
  Qdq16 q;
  const int x = q.input("x", {1, 2, 4, 4});
  // int16 input, int8 output: no TFLite conv kernel takes that.
  q.output(q.dq(q.q(q.conv(q.qdq16(x, 0.125f), {0.25f}, {3}, 0.125f), 0.1f, 3), 0.1f, 3));
  // add of an int16 and an int8 activation.
  q.output(q.qdq16(q.node("aten.add.Tensor", {q.qdq16(x, 0.01f), q.qdq(x, 0.02f, 0)}), 0.01f));
  // Leftover pairs across dtypes: int16 → int8 and int8 → int16.
  q.output(q.dq(q.q(q.qdq16(x, 1.f / 4096, 0, "x16"), 0.05f, -3, "x8"), 0.05f, -3));
  q.output(q.dq16(q.q16(q.qdq(x, 0.05f, 2, "y8"), 1.f / 4096, 0, "y16"), 1.f / 4096));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 2);
  EXPECT_EQ(count_op(l, "aten.conv2d.default"), 1);
  EXPECT_EQ(count_op(l, "aten.add.Tensor"), 1);
  ASSERT_EQ(count_op(l, "quantized.requantize"), 2);
  for (const Node& n : l.nodes) {
    if (n.op != "quantized.requantize") continue;
    const bool down = l.value(n.outputs[0]).name == "x8";
    SCOPED_TRACE(n.name);
    EXPECT_EQ(in_dtype(l, n, 0), down ? DType::i16 : DType::i8);
    EXPECT_EQ(out_dtype(l, n), down ? DType::i8 : DType::i16);
    EXPECT_EQ(n.attrs.s("out_dtype"), down ? "i8" : "i16");
    EXPECT_EQ(n.attrs.i("out_zero_point"), down ? -3 : 0);
    EXPECT_EQ(n.attrs.i("x_zero_point"), down ? 0 : 2);
  }
  Graph d = q.done();
  EXPECT_EQ(lower_to_integer(d), 0);
}

TEST(LowerInt16, UnaryKeepsTheOpsAttributes) {
  const float s = 1.0f / 4096;
  Qdq16 q;
  const int x = q.input("x", {1, 8});
  Attrs h;
  h.set("min_val", -1.0);
  h.set("max_val", 1.0);
  const int y = q.qdq16(q.node("aten.hardtanh.default", {q.qdq16(x, s)}, h, "/ht"), s);
  Attrs lr;
  lr.set("negative_slope", 0.125);
  q.output(q.qdq16(q.node("aten.leaky_relu.default", {y}, lr, "/lrelu"), s));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 2);
  const Node* ht = find_node(l, "quantized.unary", "/ht");
  const Node* lrelu = find_node(l, "quantized.unary", "/lrelu");
  ASSERT_TRUE(ht && lrelu);
  EXPECT_EQ(ht->attrs.s("function"), "aten.hardtanh.default");
  EXPECT_EQ(ht->attrs.f("min_val"), -1.0);
  EXPECT_EQ(ht->attrs.f("max_val"), 1.0);
  EXPECT_EQ(lrelu->attrs.s("function"), "aten.leaky_relu.default");
  EXPECT_EQ(lrelu->attrs.f("negative_slope"), 0.125);
  EXPECT_EQ(lrelu->attrs.f("x_scale"), static_cast<double>(s));
  EXPECT_EQ(lrelu->attrs.i("out_zero_point"), 0);
  EXPECT_EQ(count_op(l, "quantized.lookup_table"), 0);
}

TEST(LowerInt16, MovementOnInt16) {
  const float s = 1.0f / 4096;
  Qdq16 q;
  const int x = q.input("x", {1, 2, 4, 4});
  Attrs pd;
  pd.set("pad", std::vector<int64_t>{0, 0, 1, 1, 0, 0, 1, 1});
  pd.set("value", 1.0);
  const int p = q.qdq16(q.node("aten.pad.default", {q.qdq16(x, s)}, pd, "/pad"), s);
  Attrs r;
  r.set("shape", std::vector<int64_t>{1, 72});
  // Other qparams after the reshape: reshape on int16, then a requantize int16 → int16.
  q.output(q.dq16(q.q16(q.node("aten.reshape.default", {p}, r, "/reshape"), 2 * s, 0, "out16"), 2 * s));
  Graph l = q.done();
  EXPECT_EQ(lower_to_integer(l, kInt16), 2);
  const Node* pad = find_node(l, "aten.pad.default");
  const Node* rs = find_node(l, "aten.reshape.default");
  const Node* rq = find_node(l, "quantized.requantize");
  ASSERT_TRUE(pad && rs && rq);
  EXPECT_EQ(pad->attrs.f("value"), 4096.0);  // quantize(1.0) on the int16 grid
  EXPECT_EQ(in_dtype(l, *pad, 0), DType::i16);
  EXPECT_EQ(out_dtype(l, *rs), DType::i16);
  EXPECT_EQ(out_dtype(l, *rq), DType::i16);
  EXPECT_FALSE(rq->attrs.has("out_dtype"));
}

// ---- schemas: int16 accepted, int8 as strict as before ----

DType infer_dtype(const std::string& op, const std::vector<std::pair<DType, Shape>>& ins, const Attrs& a) {
  register_builtin_op_schemas();
  Node node;
  node.name = "/test/infer";
  node.op = op;
  node.attrs = a;
  std::vector<ValueInfo> infos;
  std::vector<bool> present;
  for (const auto& [d, sh] : ins) {
    infos.push_back({d, sh, nullptr});
    present.push_back(true);
  }
  return infer_outputs(node, infos, present, 1).at(0).first;
}

Attrs qp(std::initializer_list<std::pair<const char*, int64_t>> zps) {
  Attrs a;
  for (const auto& [p, z] : zps) {
    a.set(std::string(p) + "_scale", 0.01);
    a.set(std::string(p) + "_zero_point", z);
  }
  return a;
}

void expect_schema_error(const std::string& op, const std::vector<std::pair<DType, Shape>>& ins, const Attrs& a,
                         const std::string& part) {
  optest::expect_error_naming_node([&] { infer_dtype(op, ins, a); }, "/test/infer", part);
}

TEST(LowerInt16, SchemasTakeInt16AndKeepInt8Strict) {
  const Shape xs{1, 2, 4, 4}, wsh{3, 2, 1, 1}, bs{3};
  Attrs c = qp({{"x", 0}, {"out", 0}});
  c.set("w_scales", std::vector<double>{0.1});
  EXPECT_EQ(infer_dtype("quantized.conv2d", {{DType::i16, xs}, {DType::i8, wsh}, {DType::i64, bs}}, c), DType::i16);
  EXPECT_EQ(infer_dtype("quantized.conv2d", {{DType::i8, xs}, {DType::i8, wsh}, {DType::i32, bs}}, c), DType::i8);
  expect_schema_error("quantized.conv2d", {{DType::i16, xs}, {DType::i8, wsh}, {DType::i32, bs}}, c, "bias must be i64");
  expect_schema_error("quantized.conv2d", {{DType::i8, xs}, {DType::i8, wsh}, {DType::i64, bs}}, c, "bias must be i32");
  expect_schema_error("quantized.conv2d", {{DType::i16, xs}, {DType::i16, wsh}}, c, "weight must be i8");
  Attrs wide = c;
  wide.set("act_max", int64_t{30000});
  EXPECT_EQ(infer_dtype("quantized.conv2d", {{DType::i16, xs}, {DType::i8, wsh}}, wide), DType::i16);
  expect_schema_error("quantized.conv2d", {{DType::i8, xs}, {DType::i8, wsh}}, wide, "must lie in [-128, 127]");
  // Zero points: the int16 range for int16, [-128, 127] for int8.
  const Attrs big_zp = qp({{"a", 200}, {"b", 0}, {"out", 0}});
  EXPECT_EQ(infer_dtype("quantized.add", {{DType::i16, {4}}, {DType::i16, {4}}}, big_zp), DType::i16);
  expect_schema_error("quantized.add", {{DType::i8, {4}}, {DType::i8, {4}}}, big_zp, "outside [-128, 127]");
  expect_schema_error("quantized.add", {{DType::i16, {4}}, {DType::i16, {4}}}, qp({{"a", 40000}, {"b", 0}, {"out", 0}}),
                      "outside [-32768, 32767]");
  expect_schema_error("quantized.add", {{DType::i8, {4}}, {DType::i16, {4}}}, qp({{"a", 0}, {"b", 0}, {"out", 0}}),
                      "input b must be i8");
  expect_schema_error("quantized.max_pool2d", {{DType::u8, xs}}, qp({{"x", 0}, {"out", 0}}), "input must be i8");
  // requantize: out_dtype converts; the output zero point is checked against the output dtype.
  Attrs rq = qp({{"x", 0}, {"out", 100}});
  EXPECT_EQ(infer_dtype("quantized.requantize", {{DType::i8, {4}}}, rq), DType::i8);
  rq.set("out_dtype", std::string("i16"));
  EXPECT_EQ(infer_dtype("quantized.requantize", {{DType::i8, {4}}}, rq), DType::i16);
  Attrs down = qp({{"x", 1000}, {"out", 200}});
  down.set("out_dtype", std::string("i8"));
  expect_schema_error("quantized.requantize", {{DType::i16, {4}}}, down, "'out_zero_point' = 200 is outside [-128, 127]");
  Attrs un = qp({{"x", 0}, {"out", 0}});
  un.set("function", std::string("aten.tanh.default"));
  EXPECT_EQ(infer_dtype("quantized.unary", {{DType::i16, {4}}}, un), DType::i16);
  expect_schema_error("quantized.unary", {{DType::i8, {4}}}, un, "quantized.lookup_table");
}

}  // namespace
}  // namespace eq
