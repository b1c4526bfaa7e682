// partition_for_xnnpack on lowered QDQ graphs: the delegated graph (xnnpack.subgraph nodes on
// libxnnpack) against the undelegated integer graph (our TFLite-exact kernels), both run by
// eq::Executor. Every int8 value both graphs produce under the same name must agree within 1 LSB
// (XNNPACK requantizes in fp32 with round-half-even, TFLite with a fixed-point multiplier), and
// partitions and the reasons for CPU nodes must be as expected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/quantizer.h"
#include "edgequant/xnnpack.h"
#include "op_test_util.h"
#include "qdq_graph_util.h"

namespace eq {
namespace {

using namespace qdqtest;

std::vector<int32_t> random_i32(size_t n, uint32_t seed, int lo = -3000, int hi = 3000) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int32_t> v(n);
  for (int32_t& x : v) x = d(rng);
  return v;
}

std::vector<float> channel_scales(int64_t c, float base, float step) {
  std::vector<float> s;
  for (int64_t i = 0; i < c; ++i) s.push_back(base + step * static_cast<float>(i % 7));
  return s;
}

int count_op(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

// Every value a run produces, by name.
std::map<std::string, Tensor> run_values(const Graph& g, const std::vector<Tensor>& inputs, int threads = 2,
                                         std::vector<Tensor>* outputs = nullptr) {
  std::map<std::string, Tensor> values;
  Executor ex(g, ExecutorOptions{threads});
  std::vector<Tensor> out = ex.run(inputs, [&](int v, const Tensor& t) { values[g.value(v).name] = t.clone(); });
  if (outputs) *outputs = std::move(out);
  return values;
}

struct Diff {
  int64_t compared = 0, differing = 0;
  int max_lsb = 0;
};

// Compares every i8 value present in both runs (only those named in `only` when given).
Diff compare_i8(const std::map<std::string, Tensor>& want, const std::map<std::string, Tensor>& got,
                const std::set<std::string>* only = nullptr) {
  Diff d;
  for (const auto& [name, t] : got) {
    if (t.dtype() != DType::i8 || (only && !only->count(name))) continue;
    auto it = want.find(name);
    if (it == want.end()) continue;
    EXPECT_EQ(it->second.shape(), t.shape()) << name;
    if (it->second.shape() != t.shape()) continue;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const int e = std::abs(static_cast<int>(t.data<int8_t>()[i]) - static_cast<int>(it->second.data<int8_t>()[i]));
      d.max_lsb = std::max(d.max_lsb, e);
      d.differing += e != 0;
      ++d.compared;
    }
  }
  return d;
}

struct Delegated {
  Graph integer, xnn;
  XnnpackPartitionReport report;
  Diff diff;
  std::map<std::string, Tensor> int_values, xnn_values;
  std::string reason_for(const std::string& op) const {  // first CPU node of `op` in the integer graph
    for (const auto& [n, why] : report.cpu_nodes_with_reason)
      if (integer.nodes[static_cast<size_t>(n)].op == op) return why;
    return "<delegated>";
  }
  bool delegated(const std::string& op) const {
    for (int n : report.delegated_nodes)
      if (integer.nodes[static_cast<size_t>(n)].op == op) return true;
    return false;
  }
};

// Lowers `qdq`, partitions a copy, runs both on `inputs` and compares their common int8 values.
Delegated delegate_and_compare(const Graph& qdq, const std::vector<Tensor>& inputs, int max_lsb = 1) {
  Delegated d;
  d.integer = qdq;
  lower_to_integer(d.integer);
  d.xnn = d.integer;
  d.report = partition_for_xnnpack(d.xnn);
  d.xnn.validate();
  EXPECT_EQ(count_op(d.xnn, "xnnpack.subgraph"), d.report.partitions);
  EXPECT_EQ(d.report.delegated_nodes.size() + d.report.cpu_nodes_with_reason.size(), d.integer.nodes.size());
  d.int_values = run_values(d.integer, inputs);
  d.xnn_values = run_values(d.xnn, inputs);
  d.diff = compare_i8(d.int_values, d.xnn_values);
  EXPECT_GT(d.diff.compared, 0);
  EXPECT_LE(d.diff.max_lsb, max_lsb);
  std::set<std::string> delegated;  // what the partitions produce
  for (const Node& n : d.xnn.nodes)
    if (n.op == "xnnpack.subgraph")
      for (int v : n.outputs) delegated.insert(d.xnn.value(v).name);
  const Diff own = compare_i8(d.int_values, d.xnn_values, &delegated);
  std::printf("[ xnnpack ] delegated int8 outputs: %lld of %lld differ from the integer kernels, by at most %d LSB\n",
              static_cast<long long>(own.differing), static_cast<long long>(own.compared), own.max_lsb);
  return d;
}

// ------------------------------------------------------------------------------ conv ---------

struct ConvCase {
  int64_t n = 2, cin = 8, h = 9, w = 10, cout = 16, kh = 3, kw = 3, groups = 1;
  std::vector<int64_t> stride = {1, 1}, pad = {1, 1, 1, 1}, dilation = {1, 1};
  bool per_channel = true;
  std::string act = "none";  // none | relu | relu6
  float sx = 0.05f, so = 0.09f;
  int zx = 3, zo = -20;
};

Graph conv_graph(const ConvCase& c, uint32_t seed) {
  const std::vector<float> sw = c.per_channel ? channel_scales(c.cout, 0.004f, 0.0007f) : std::vector<float>{0.005f};
  const Tensor w = random_i8({c.cout, c.cin / c.groups, c.kh, c.kw}, seed);
  QdqGraph q;
  const int x = q.input("x", {kBatch, c.cin, c.h, c.w});
  const int xd = q.qdq(x, c.sx, c.zx, "x_q");
  Attrs a;
  a.set("stride", c.stride);
  a.set("padding", c.pad);
  a.set("dilation", c.dilation);
  a.set("groups", c.groups);
  int y = q.node("aten.conv2d.default", {xd, q.weight(w, sw), q.bias(random_i32(static_cast<size_t>(c.cout), seed + 1), c.sx, sw)}, a,
                 "/m/conv/Conv");
  if (c.act == "relu") y = q.node("aten.relu.default", {y});
  if (c.act == "relu6") {
    Attrs h;
    h.set("min_val", 0.0);
    h.set("max_val", 6.0);
    y = q.node("aten.hardtanh.default", {y}, h);
  }
  q.output(q.dq(q.q(y, c.so, c.zo, "y_q"), c.so, c.zo));
  return q.done();
}

void check_conv(const ConvCase& c, uint32_t seed) {
  const Graph g = conv_graph(c, seed);
  const Delegated d = delegate_and_compare(g, {optest::random_tensor({c.n, c.cin, c.h, c.w}, seed + 2, -4.f, 4.f)});
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated("quantized.conv2d"));
  EXPECT_EQ(count_op(d.xnn, "quantized.conv2d"), 0);
  EXPECT_NE(d.reason_for(kQ).find("float boundary"), std::string::npos) << d.reason_for(kQ);
  EXPECT_EQ(d.report.delegated_nodes.size(), 1u);
  // y_q is the delegated conv's output (the node output keeps its name).
  ASSERT_TRUE(d.xnn_values.count("y_q"));
}

TEST(XnnpackDelegate, ConvPerTensor) {
  ConvCase c;
  c.per_channel = false;
  check_conv(c, 1);
}

TEST(XnnpackDelegate, ConvPerChannelRelu) {
  ConvCase c;
  c.act = "relu";
  check_conv(c, 2);
}

TEST(XnnpackDelegate, ConvStride2AsymmetricPaddingDilationRelu6) {
  ConvCase c;
  c.stride = {2, 2};
  c.pad = {0, 1, 2, 1};
  c.dilation = {1, 2};
  c.act = "relu6";
  c.kh = 3, c.kw = 2;
  check_conv(c, 3);
}

TEST(XnnpackDelegate, DepthwiseConv) {
  ConvCase c;
  c.cin = c.cout = 24;
  c.groups = 24;
  check_conv(c, 4);
  c.stride = {2, 2};  // stride 2, depth multiplier 2
  c.cout = 48;
  c.per_channel = false;
  check_conv(c, 5);
}

TEST(XnnpackDelegate, GroupedConvAndPointwise) {
  ConvCase c;
  c.groups = 4;
  check_conv(c, 6);
  ConvCase p;
  p.kh = p.kw = 1;
  p.pad = {0, 0, 0, 0};
  p.cin = 40, p.cout = 72;
  check_conv(p, 7);
}

TEST(XnnpackDelegate, ConvWithFusedSigmoidStaysOnCpu) {
  // The float activation on the accumulator has no XNNPACK form.
  const float sx = 0.05f, so = 1.f / 256;
  const std::vector<float> sw = channel_scales(6, 0.004f, 0.001f);
  QdqGraph q;
  const int x = q.input("x", {kBatch, 4, 5, 5});
  Attrs a;
  a.set("padding", std::vector<int64_t>{1, 1});
  int y = q.node("aten.conv2d.default", {q.qdq(x, sx, 0), q.weight(random_i8({6, 4, 3, 3}, 8), sw), q.bias(random_i32(6, 9), sx, sw)}, a);
  y = q.node("aten.sigmoid.default", {y});
  q.output(q.dq(q.q(y, so, -128, "y_q"), so, -128));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({2, 4, 5, 5}, 10, -3.f, 3.f)}, 0);
  EXPECT_EQ(d.report.partitions, 0);
  EXPECT_NE(d.reason_for("quantized.conv2d").find("sigmoid"), std::string::npos) << d.reason_for("quantized.conv2d");
}

TEST(XnnpackDelegate, ConvRequantScaleOutsideLimitsStaysOnCpu) {
  ConvCase c;
  c.per_channel = false;
  c.sx = 40.f;  // 40 * 0.005 / 0.09 is fine; make the output scale tiny
  c.so = 0.0005f;
  const Graph g = conv_graph(c, 11);
  Graph i = g;
  lower_to_integer(i);
  Graph x = i;
  const XnnpackPartitionReport r = partition_for_xnnpack(x);
  EXPECT_EQ(r.partitions, 0);
  bool found = false;
  for (const auto& [n, why] : r.cpu_nodes_with_reason)
    if (i.nodes[static_cast<size_t>(n)].op == "quantized.conv2d") {
      found = true;
      EXPECT_NE(why.find("requantization scale"), std::string::npos) << why;
      EXPECT_EQ(xnnpack_unsupported_reason(i, n), why);
    }
  EXPECT_TRUE(found);
}

TEST(XnnpackDelegate, Conv1dAndMaxPool1dRunAsHeightOne) {
  const float sx = 0.04f, so = 0.06f;
  const std::vector<float> sw = channel_scales(10, 0.005f, 0.0006f);
  QdqGraph q;
  const int x = q.input("x", {kBatch, 6, 23});
  Attrs a;
  a.set("stride", std::vector<int64_t>{2});
  a.set("padding", std::vector<int64_t>{1, 2});
  int y = q.node("aten.conv1d.default", {q.qdq(x, sx, -5, "x_q"), q.weight(random_i8({10, 6, 4}, 15), sw), q.bias(random_i32(10, 16), sx, sw)}, a);
  y = q.qdq(y, so, 7, "c_q");
  Attrs p;
  p.set("kernel_size", std::vector<int64_t>{3});
  p.set("stride", std::vector<int64_t>{2});
  y = q.node("aten.max_pool1d.default", {y}, p);
  q.output(q.dq(q.q(y, so, 7, "y_q"), so, 7));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({3, 6, 23}, 17, -4.f, 4.f)});
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated("quantized.conv1d"));
  EXPECT_TRUE(d.delegated("quantized.max_pool1d"));
}

// ---------------------------------------------------------------------------- linear ---------

void check_linear(Shape xshape, int64_t out, bool per_channel, uint32_t seed) {
  const int64_t in = xshape.back();
  const float sx = 0.04f, so = 0.3f;
  const std::vector<float> sw = per_channel ? channel_scales(out, 0.003f, 0.0011f) : std::vector<float>{0.004f};
  QdqGraph q;
  Shape sym = xshape;
  sym[0] = kBatch;
  const int x = q.input("x", sym);
  const int y = q.node("aten.linear.default",
                       {q.qdq(x, sx, -7, "x_q"), q.weight(random_i8({out, in}, seed), sw), q.bias(random_i32(static_cast<size_t>(out), seed + 1), sx, sw)});
  q.output(q.dq(q.q(y, so, 5, "y_q"), so, 5));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor(xshape, seed + 2, -4.f, 4.f)});
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated("quantized.linear"));
}

TEST(XnnpackDelegate, LinearPerTensorAndPerChannel) {
  check_linear({16, 200}, 70, false, 20);
  check_linear({16, 200}, 70, true, 21);
  check_linear({3, 4, 20}, 9, true, 22);  // leading dims flattened
  check_linear({1, 33}, 17, true, 23);    // batch 1
}

// -------------------------------------------------------------------- add, mul, pools ---------

// conv -> {add | mul}(conv output, other) where other is a second conv's output or a pooled
// [N,C,1,1] map (broadcast), all inside one NHWC partition.
void check_binary(const std::string& op, bool broadcast, uint32_t seed) {
  const float sx = 0.05f, s1 = 0.08f, s2 = 0.06f, so = op == "aten.add.Tensor" ? 0.1f : 0.02f;
  const std::vector<float> sw = channel_scales(8, 0.004f, 0.0005f);
  QdqGraph q;
  const int x = q.input("x", {kBatch, 4, 6, 7});
  const int xd = q.qdq(x, sx, 2, "x_q");
  Attrs a;
  a.set("padding", std::vector<int64_t>{1, 1});
  const int c1 = q.node("aten.conv2d.default", {xd, q.weight(random_i8({8, 4, 3, 3}, seed), sw), q.bias(random_i32(8, seed + 1), sx, sw)}, a);
  const int c1d = q.qdq(c1, s1, -3, "c1_q");
  int other;
  if (broadcast) {
    Attrs p;
    p.set("output_size", std::vector<int64_t>{1, 1});
    other = q.qdq(q.node("aten.adaptive_avg_pool2d.default", {c1d}, p), s2, 4, "pool_q");
  } else {
    const int c2 = q.node("aten.conv2d.default", {xd, q.weight(random_i8({8, 4, 3, 3}, seed + 2), sw), q.bias(random_i32(8, seed + 3), sx, sw)}, a);
    other = q.qdq(c2, s2, 4, "c2_q");
  }
  const int y = q.node(op, {c1d, other});
  q.output(q.dq(q.q(y, so, -9, "y_q"), so, -9));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({3, 4, 6, 7}, seed + 4, -4.f, 4.f)});
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated(op == "aten.add.Tensor" ? "quantized.add" : "quantized.mul"));
  EXPECT_EQ(count_op(d.xnn, "quantized.add") + count_op(d.xnn, "quantized.mul"), 0);
}

TEST(XnnpackDelegate, AddAndMulInNhwcPartition) {
  check_binary("aten.add.Tensor", false, 30);
  check_binary("aten.mul.Tensor", false, 31);
  check_binary("aten.add.Tensor", true, 32);
  check_binary("aten.mul.Tensor", true, 33);
}

TEST(XnnpackDelegate, AddOnPlainRank2WithFusedRelu) {
  QdqGraph q;
  const int a = q.input("a", {kBatch, 50});
  const int b = q.input("b", {kBatch, 50});
  int y = q.node("aten.add.Tensor", {q.qdq(a, 0.03f, 10, "a_q"), q.qdq(b, 0.05f, -4, "b_q")});
  y = q.node("aten.relu.default", {y});
  q.output(q.dq(q.q(y, 0.04f, -128, "y_q"), 0.04f, -128));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({4, 50}, 40, -3.f, 3.f), optest::random_tensor({4, 50}, 41, -5.f, 5.f)});
  EXPECT_EQ(d.report.partitions, 1);
}

// x -> q/dq -> pool -> q/dq out
Delegated pool_case(const std::string& op, Attrs a, Shape xs, float so, int zo, uint32_t seed, int max_lsb = 1) {
  QdqGraph q;
  Shape sym = xs;
  sym[0] = kBatch;
  const int x = q.input("x", sym);
  const int y = q.node(op, {q.qdq(x, 0.05f, -6, "x_q")}, std::move(a));
  q.output(q.dq(q.q(y, so, zo, "y_q"), so, zo));
  return delegate_and_compare(q.done(), {optest::random_tensor(xs, seed, -6.f, 6.f)}, max_lsb);
}

TEST(XnnpackDelegate, MaxPool) {
  Attrs a;
  a.set("kernel_size", std::vector<int64_t>{3, 3});
  a.set("stride", std::vector<int64_t>{2, 2});
  a.set("padding", std::vector<int64_t>{1, 1});
  a.set("ceil_mode", int64_t{1});
  // Max pool shares its input's qparams: the output Q uses the same ones.
  const Delegated d = pool_case("aten.max_pool2d.default", a, {2, 5, 9, 8}, 0.05f, -6, 50, 0);
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated("quantized.max_pool2d"));
  EXPECT_EQ(d.diff.differing, 0);  // max pooling has no arithmetic: bit-exact
  Attrs b;
  b.set("kernel_size", std::vector<int64_t>{2, 2});
  b.set("stride", std::vector<int64_t>{2, 2});
  const Delegated e = pool_case("aten.max_pool2d.default", b, {3, 6, 8, 8}, 0.05f, -6, 51, 0);
  EXPECT_TRUE(e.delegated("quantized.max_pool2d"));
  // Other output qparams: requantized after the max on our kernels, which XNNPACK cannot do.
  const Delegated f = pool_case("aten.max_pool2d.default", b, {3, 6, 8, 8}, 0.07f, 1, 52);
  EXPECT_EQ(f.report.partitions, 0);
  EXPECT_NE(f.reason_for("quantized.max_pool2d").find("qparams differ"), std::string::npos);
}

TEST(XnnpackDelegate, GlobalAveragePool) {
  Attrs a;
  a.set("output_size", std::vector<int64_t>{1, 1});
  const Delegated d = pool_case("aten.adaptive_avg_pool2d.default", a, {4, 12, 7, 7}, 0.02f, 3, 60);
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_TRUE(d.delegated("quantized.adaptive_avg_pool2d"));
  Attrs m;
  m.set("dim", std::vector<int64_t>{-1, -2});
  m.set("keepdim", int64_t{0});
  const Delegated e = pool_case("aten.mean.dim", m, {4, 12, 5, 6}, 0.03f, -2, 61);
  EXPECT_TRUE(e.delegated("quantized.mean"));
  Attrs c;  // mean over channels: no XNNPACK operator
  c.set("dim", std::vector<int64_t>{1});
  c.set("keepdim", int64_t{1});
  const Delegated f = pool_case("aten.mean.dim", c, {4, 12, 5, 6}, 0.03f, -2, 62);
  EXPECT_EQ(f.report.partitions, 0);
  EXPECT_NE(f.reason_for("quantized.mean").find("spatial"), std::string::npos);
}

TEST(XnnpackDelegate, AveragePoolThroughQu8) {
  Attrs a;
  a.set("kernel_size", std::vector<int64_t>{3, 3});
  a.set("stride", std::vector<int64_t>{2, 2});
  const Delegated d = pool_case("aten.avg_pool2d.default", a, {2, 7, 9, 11}, 0.05f, -6, 70);
  EXPECT_TRUE(d.delegated("quantized.avg_pool2d"));
  const Delegated e = pool_case("aten.avg_pool2d.default", a, {2, 7, 9, 11}, 0.04f, 9, 71);  // requantizing
  EXPECT_TRUE(e.delegated("quantized.avg_pool2d"));
  Attrs p = a;
  p.set("padding", std::vector<int64_t>{1, 1});
  p.set("count_include_pad", int64_t{0});
  const Delegated f = pool_case("aten.avg_pool2d.default", p, {2, 7, 9, 11}, 0.05f, -6, 72);
  EXPECT_EQ(f.report.partitions, 0);
  EXPECT_NE(f.reason_for("quantized.avg_pool2d").find("padd"), std::string::npos);
}

TEST(XnnpackDelegate, SigmoidAndTanhWithTheirFixedQparams) {
  for (const std::string f : {"sigmoid", "tanh"}) {
    SCOPED_TRACE(f);
    const bool sig = f == "sigmoid";
    QdqGraph q;
    const int x = q.input("x", {kBatch, 3, 4, 5});
    const int y = q.node("aten." + f + ".default", {q.qdq(x, 0.04f, 2, "x_q")});
    q.output(q.dq(q.q(y, sig ? 1.f / 256 : 1.f / 128, sig ? -128 : 0, "y_q"), sig ? 1.f / 256 : 1.f / 128, sig ? -128 : 0));
    const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({2, 3, 4, 5}, 80, -6.f, 6.f)});
    EXPECT_TRUE(d.delegated("quantized.lookup_table"));
    // Other output qparams stay a lookup table on the CPU.
    QdqGraph r;
    const int x2 = r.input("x", {kBatch, 3, 4, 5});
    const int y2 = r.node("aten." + f + ".default", {r.qdq(x2, 0.04f, 2)});
    r.output(r.dq(r.q(y2, 0.01f, 0), 0.01f, 0));
    const Delegated e = delegate_and_compare(r.done(), {optest::random_tensor({2, 3, 4, 5}, 81, -6.f, 6.f)});
    EXPECT_EQ(e.report.partitions, 0);
    EXPECT_NE(e.reason_for("quantized.lookup_table").find("output qparams"), std::string::npos);
  }
}

// ------------------------------------------------------------------ partition rules ---------

// conv -> relu -> maxpool -> flatten -> linear -> linear: one partition (the cnn fixture's shape);
// the flatten of the NHWC map costs nothing (the first linear's weight is permuted).
TEST(XnnpackDelegate, ConvPoolFlattenLinearIsOnePartition) {
  const float sx = 0.02f, s1 = 0.03f, s2 = 0.2f, s3 = 0.3f;
  const std::vector<float> sw = channel_scales(6, 0.004f, 0.0005f), sl = channel_scales(20, 0.003f, 0.0004f);
  QdqGraph q;
  const int x = q.input("x", {kBatch, 3, 8, 8});
  Attrs a;
  a.set("padding", std::vector<int64_t>{1, 1});
  int y = q.node("aten.conv2d.default", {q.qdq(x, sx, 0, "x_q"), q.weight(random_i8({6, 3, 3, 3}, 90), sw), q.bias(random_i32(6, 91), sx, sw)}, a);
  y = q.qdq(q.node("aten.relu.default", {y}), s1, -128, "c_q");
  Attrs p;
  p.set("kernel_size", std::vector<int64_t>{2, 2});
  p.set("stride", std::vector<int64_t>{2, 2});
  y = q.qdq(q.node("aten.max_pool2d.default", {y}, p), s1, -128, "p_q");
  Attrs f;
  f.set("start_dim", int64_t{1});
  f.set("end_dim", int64_t{-1});
  y = q.qdq(q.node("aten.flatten.using_ints", {y}, f), s1, -128, "f_q");
  y = q.node("aten.linear.default", {y, q.weight(random_i8({20, 96}, 92), sl), q.bias(random_i32(20, 93), s1, sl)});
  y = q.qdq(y, s2, 1, "l1_q");
  y = q.node("aten.linear.default", {y, q.weight(random_i8({10, 20}, 94), {0.01f}), q.bias(random_i32(10, 95), s2, {0.01f})});
  q.output(q.dq(q.q(y, s3, -2, "y_q"), s3, -2));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({5, 3, 8, 8}, 96, -3.f, 3.f)});
  EXPECT_EQ(d.report.partitions, 1);
  EXPECT_EQ(d.report.delegated_nodes.size(), 5u);  // conv, pool, flatten, linear, linear
  EXPECT_EQ(count_op(d.xnn, "aten.flatten.using_ints"), 0);
  // Only the model's quantize and dequantize stay on the CPU.
  for (const auto& [n, why] : d.report.cpu_nodes_with_reason)
    EXPECT_EQ(d.integer.nodes[static_cast<size_t>(n)].op.rfind("quantized_decomposed.", 0), 0u) << why;
  // The flattened map is an inner value: not observed; the final output is.
  EXPECT_TRUE(d.xnn_values.count("y_q"));
  EXPECT_FALSE(d.xnn_values.count("f_q"));
}

// conv -> softmax (CPU) -> conv: two partitions around the CPU node; and a node whose producers
// are a partition and a CPU node fed by that partition cannot join it (cycle through the CPU).
TEST(XnnpackDelegate, CpuNodesSplitPartitionsAndConvexityHolds) {
  const float sx = 0.05f, s1 = 0.07f, s2 = 1.f / 256;
  const std::vector<float> sw = channel_scales(4, 0.01f, 0.001f);
  QdqGraph q;
  const int x = q.input("x", {kBatch, 4, 5, 5});
  Attrs a;
  a.set("padding", std::vector<int64_t>{1, 1});
  const int c1 = q.qdq(q.node("aten.conv2d.default", {q.qdq(x, sx, 0, "x_q"), q.weight(random_i8({4, 4, 3, 3}, 100), sw),
                                                      q.bias(random_i32(4, 101), sx, sw)}, a, "/m/c1/Conv"),
                       s1, 0, "c1_q");
  Attrs sm;
  sm.set("dim", int64_t{1});
  const int s = q.qdq(q.node("aten.softmax.int", {c1}, sm, "/m/softmax/Softmax"), s2, -128, "s_q");
  const int c2 = q.qdq(q.node("aten.conv2d.default", {s, q.weight(random_i8({4, 4, 3, 3}, 102), sw), q.bias(random_i32(4, 103), s2, sw)}, a,
                              "/m/c2/Conv"),
                       s1, 0, "c2_q");
  const int y = q.node("aten.add.Tensor", {c1, c2}, {}, "/m/Add");  // c1's partition -> softmax -> c2 -> add
  q.output(q.dq(q.q(y, 0.1f, 0, "y_q"), 0.1f, 0));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({2, 4, 5, 5}, 104, -3.f, 3.f)});
  EXPECT_EQ(d.report.partitions, 2);  // {c1}, {c2, add}
  EXPECT_NE(d.reason_for("quantized.softmax").find("qu8 only"), std::string::npos) << d.reason_for("quantized.softmax");
  EXPECT_EQ(d.report.delegated_nodes.size(), 3u);
  // The delegated graph still runs c1 before softmax before the second partition.
  EXPECT_EQ(count_op(d.xnn, "quantized.softmax"), 1);
}

TEST(XnnpackDelegate, ResultsDoNotDependOnThreadsAndRepeat) {
  ConvCase c;
  c.n = 3, c.cin = 16, c.cout = 32, c.h = 12, c.w = 12;
  Graph g = conv_graph(c, 110);
  lower_to_integer(g);
  partition_for_xnnpack(g);
  const std::vector<Tensor> in = {optest::random_tensor({3, 16, 12, 12}, 111, -4.f, 4.f)};
  std::vector<Tensor> one, two, again;
  run_values(g, in, 1, &one);
  run_values(g, in, 2, &two);
  run_values(g, in, 2, &again);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_TRUE(one[0].identical(two[0]));
  EXPECT_TRUE(two[0].identical(again[0]));
  // Another batch size plans again (operators re-created for it).
  const std::vector<Tensor> in1 = {optest::random_tensor({1, 16, 12, 12}, 112, -4.f, 4.f)};
  Executor ex(g);
  const Tensor b1 = ex.run(in1)[0];
  const Tensor b3 = ex.run(in)[0];
  EXPECT_TRUE(b3.identical(one[0]));
  EXPECT_EQ(b1.shape()[0], 1);
}

TEST(XnnpackDelegate, PartitioningTwiceChangesNothing) {
  Graph g = conv_graph(ConvCase{}, 130);
  lower_to_integer(g);
  EXPECT_EQ(partition_for_xnnpack(g).partitions, 1);
  const size_t nodes = g.nodes.size();
  const XnnpackPartitionReport again = partition_for_xnnpack(g);
  EXPECT_EQ(again.partitions, 0);
  EXPECT_EQ(g.nodes.size(), nodes);
  for (const auto& [n, why] : again.cpu_nodes_with_reason)
    if (g.nodes[static_cast<size_t>(n)].op == "xnnpack.subgraph") {
      EXPECT_EQ(why, "already delegated");
    }
}

TEST(XnnpackDelegate, UnsupportedOpsGiveReasons) {
  // matmul of two activations and a cat: no XNNPACK operator in this libxnnpack.
  QdqGraph q;
  const int a = q.input("a", {kBatch, 4, 6});
  const int b = q.input("b", {kBatch, 6, 3});
  const int m = q.node("aten.matmul.default", {q.qdq(a, 0.05f, 0), q.qdq(b, 0.05f, 0)});
  q.output(q.dq(q.q(m, 0.2f, 0, "m_q"), 0.2f, 0));
  const Delegated d = delegate_and_compare(q.done(), {optest::random_tensor({2, 4, 6}, 120), optest::random_tensor({2, 6, 3}, 121)});
  EXPECT_EQ(d.report.partitions, 0);
  EXPECT_NE(d.reason_for("quantized.matmul").find("matmul"), std::string::npos);
}

// ---------------------------------------------------------------- fixture models ---------

// `int_lsb`: how far the delegated logits may be from the integer graph's. Both round each layer
// to within one LSB of the exact product, but in different directions (TFLite's double rounding vs
// fp32 round-half-even), and through a deep network the one-LSB differences compound: measured
// 1 LSB on cnn, 3 on mbv2 (17 layers; the depthwise 3x3 convs amplify an input LSB ~3x). The
// delegated graph stays within 1 LSB of the fake-quant (QDQ fp32) graph on both, which the
// integer graph does not on mbv2 (3 LSB): XNNPACK's requantization is the closer to exact.
void check_fixture(const std::string& name, int int_lsb) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_FIXTURES_DIR) / "models";
  const Graph g = onnx::load((dir / (name + ".onnx")).string());
  const Tensor x = read_npy((dir / (name + ".input.npy")).string());
  const GenericQuantizer quantizer{symmetric_int8_config(true)};
  Graph integer = calibrate_and_quantize(g, {{x}}, quantizer);
  const Graph qdq = integer;
  lower_to_integer(integer);
  Graph xnn = integer;
  const XnnpackPartitionReport r = partition_for_xnnpack(xnn);
  EXPECT_EQ(r.partitions, 1);
  for (const auto& [n, why] : r.cpu_nodes_with_reason)
    EXPECT_EQ(integer.nodes[static_cast<size_t>(n)].op.rfind("quantized_decomposed.", 0), 0u)
        << integer.nodes[static_cast<size_t>(n)].describe() << ": " << why;
  // The logits' int8 value: the input of the dequantize producing the graph output.
  const int p = integer.value(integer.outputs[0]).producer;
  ASSERT_GE(p, 0);
  const std::string logits = integer.value(integer.nodes[static_cast<size_t>(p)].inputs[0]).name;
  std::vector<Tensor> out_int, out_xnn;
  const auto vi = run_values(integer, {x}, 2, &out_int);
  const auto vx = run_values(xnn, {x}, 2, &out_xnn);
  const Tensor& li = vi.at(logits);
  const Tensor& lx = vx.at(logits);
  ASSERT_EQ(li.shape(), lx.shape());
  ASSERT_EQ(li.rank(), 2);
  const int64_t rows = li.dim(0), cols = li.dim(1);
  EXPECT_EQ(rows, 16);
  int max_lsb = 0;
  int64_t differing = 0;
  for (int64_t i = 0; i < li.numel(); ++i) {
    const int e = std::abs(static_cast<int>(li.data<int8_t>()[i]) - static_cast<int>(lx.data<int8_t>()[i]));
    max_lsb = std::max(max_lsb, e);
    differing += e != 0;
  }
  EXPECT_LE(max_lsb, int_lsb);
  // Against the fake-quant graph's int8 logits (the quantize node's output, same name).
  const auto vq = run_values(qdq, {x}, 2);
  const Tensor& lq = vq.at(logits);
  ASSERT_EQ(lq.dtype(), DType::i8);
  int max_fq = 0;
  for (int64_t i = 0; i < lq.numel(); ++i)
    max_fq = std::max(max_fq, std::abs(static_cast<int>(lq.data<int8_t>()[i]) - static_cast<int>(lx.data<int8_t>()[i])));
  EXPECT_LE(max_fq, 1);
  // Top-1 (first maximum, on the int8 logits, which order as the float ones).
  for (int64_t r0 = 0; r0 < rows; ++r0) {
    const int8_t* a = li.data<int8_t>() + r0 * cols;
    const int8_t* b = lx.data<int8_t>() + r0 * cols;
    EXPECT_EQ(std::max_element(a, a + cols) - a, std::max_element(b, b + cols) - b) << name << " input " << r0;
  }
  // And the float outputs agree in argmax too.
  ASSERT_EQ(out_int.size(), 1u);
  for (int64_t r0 = 0; r0 < rows; ++r0) {
    const float* a = out_int[0].data<float>() + r0 * cols;
    const float* b = out_xnn[0].data<float>() + r0 * cols;
    EXPECT_EQ(std::max_element(a, a + cols) - a, std::max_element(b, b + cols) - b);
  }
  const Diff all = compare_i8(vi, vx);
  std::printf("[ xnnpack ] %s: logits vs integer graph %lld of %lld differ (max %d LSB), vs fake-quant max %d LSB; "
              "all observed int8 values: %lld of %lld differ (max %d)\n",
              name.c_str(), static_cast<long long>(differing), static_cast<long long>(li.numel()), max_lsb, max_fq,
              static_cast<long long>(all.differing), static_cast<long long>(all.compared), all.max_lsb);
}

TEST(XnnpackDelegate, FixtureCnnMatchesIntegerGraph) { check_fixture("cnn", 2); }
TEST(XnnpackDelegate, FixtureMbv2MatchesIntegerGraph) { check_fixture("mbv2", 3); }

}  // namespace
}  // namespace eq
