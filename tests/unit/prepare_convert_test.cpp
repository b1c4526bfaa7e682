// prepare_pt2e / convert_pt2e on small hand-built graphs: sharing groups (explicit, implicit,
// cat), broken sharing specs, derived bias qparams, fixed qparams, the QDQ structure convert
// writes, calibration errors and sharded calibration.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "edgequant/executor.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "op_test_util.h"

namespace eq {
namespace {

using optest::random_tensor;

// x[N,2,6,6] → conv(4) → relu → max_pool 2 → flatten → linear(3) → y
struct ConvNet {
  Graph g;
  int conv = -1, relu = -1, pool = -1, flat = -1, linear = -1;
  ConvNet() {
    register_builtin_op_schemas();
    const int x = g.add_value("x", DType::f32, {kBatch, 2, 6, 6});
    g.inputs = {x};
    const int w = g.add_constant("conv.weight", random_tensor({4, 2, 3, 3}, 1));
    const int b = g.add_constant("conv.bias", random_tensor({4}, 2));
    Attrs ca;
    ca.set("stride", std::vector<int64_t>{1, 1});
    ca.set("padding", std::vector<int64_t>{1, 1, 1, 1});
    ca.set("dilation", std::vector<int64_t>{1, 1});
    ca.set("groups", int64_t{1});
    conv = g.add_node("aten.conv2d.default", "/conv/Conv", {x, w, b}, 1, ca);
    relu = g.add_node("aten.relu.default", "/relu/Relu", {g.nodes[conv].outputs[0]}, 1);
    Attrs pa;
    pa.set("kernel_size", std::vector<int64_t>{2, 2});
    pa.set("stride", std::vector<int64_t>{2, 2});
    pa.set("padding", std::vector<int64_t>{0, 0, 0, 0});
    pa.set("dilation", std::vector<int64_t>{1, 1});
    pa.set("ceil_mode", int64_t{0});
    pool = g.add_node("aten.max_pool2d.default", "/pool/MaxPool", {g.nodes[relu].outputs[0]}, 1, pa);
    Attrs fa;
    fa.set("start_dim", int64_t{1});
    fa.set("end_dim", int64_t{-1});
    flat = g.add_node("aten.flatten.using_ints", "/Flatten", {g.nodes[pool].outputs[0]}, 1, fa);
    const int lw = g.add_constant("fc.weight", random_tensor({3, 36}, 3));
    const int lb = g.add_constant("fc.bias", random_tensor({3}, 4));
    linear = g.add_node("aten.linear.default", "/fc/Gemm", {g.nodes[flat].outputs[0], lw, lb}, 1);
    g.value(g.nodes[linear].outputs[0]).name = "logits";
    g.outputs = {g.nodes[linear].outputs[0]};
    infer_graph(g);
  }
};

GenericQuantizer minmax_quantizer(bool per_channel) {
  return GenericQuantizer{symmetric_int8_config(per_channel, ObserverSpec{ObserverKind::minmax})};
}

TEST(Prepare, ImplicitSharingThroughPoolAndFlatten) {
  ConvNet net;
  const GenericQuantizer q = minmax_quantizer(true);
  Prepared p = prepare_pt2e(net.g, q);
  const int relu_out = p.group_of(EdgeOrNode::output(net.relu));
  ASSERT_GE(relu_out, 0);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(net.conv)), -1) << "conv+relu is fused: no observer in between";
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(net.pool, 0)), relu_out);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(net.pool)), relu_out);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(net.flat)), relu_out);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(net.linear, 0)), relu_out);
  EXPECT_NE(p.group_of(EdgeOrNode::edge(net.conv, 0)), relu_out);
  EXPECT_NE(p.group_of(EdgeOrNode::edge(net.conv, 1)), p.group_of(EdgeOrNode::edge(net.linear, 1)));
  // groups: x, conv w, conv b, relu out (shared ×5), fc w, fc b, logits
  EXPECT_EQ(p.groups().size(), 7u);
  EXPECT_TRUE(p.skipped().empty());
}

TEST(Prepare, DerivedBiasAndFixedQParams) {
  ConvNet net;
  const GenericQuantizer q = minmax_quantizer(true);
  Prepared p = prepare_pt2e(net.g, q);
  p.run({random_tensor({2, 2, 6, 6}, 7)});
  const QParams in = p.group_qparams(p.group_of(EdgeOrNode::edge(net.conv, 0)));
  const QParams w = p.group_qparams(p.group_of(EdgeOrNode::edge(net.conv, 1)));
  const QParams b = p.group_qparams(p.group_of(EdgeOrNode::edge(net.conv, 2)));
  ASSERT_EQ(w.scale.size(), 4u);
  ASSERT_EQ(b.scale.size(), 4u);
  EXPECT_EQ(b.dtype, DType::i32);
  EXPECT_EQ(b.axis, 0);
  for (size_t c = 0; c < 4; ++c) {
    EXPECT_EQ(b.scale[c], in.scale[0] * w.scale[c]);
    EXPECT_EQ(b.zero_point[c], 0);
  }
  EXPECT_EQ(w.qmin, -127);
  EXPECT_EQ(in.dtype, DType::i8);
}

TEST(Prepare, SigmoidGetsFixedQParams) {
  Graph g;
  register_builtin_op_schemas();
  const int x = g.add_value("x", DType::f32, {kBatch, 8});
  g.inputs = {x};
  const int s = g.add_node("aten.sigmoid.default", "/Sigmoid", {x}, 1);
  g.outputs = {g.nodes[s].outputs[0]};
  infer_graph(g);
  Prepared p = prepare_pt2e(g, minmax_quantizer(false));
  p.run({random_tensor({4, 8}, 3)});
  const QParams o = p.group_qparams(p.group_of(EdgeOrNode::output(s)));
  EXPECT_EQ(o.scale[0], 1.0f / 256.0f);
  EXPECT_EQ(o.zero_point[0], -128);
}

TEST(Prepare, CatSharesOneGroupAcrossInputsAndOutput) {
  Graph g;
  register_builtin_op_schemas();
  const int x = g.add_value("x", DType::f32, {kBatch, 4});
  g.inputs = {x};
  const int a = g.add_node("aten.relu.default", "/a/Relu", {x}, 1);
  const int b = g.add_node("aten.abs.default", "/b/Abs", {x}, 1);
  Attrs ca;
  ca.set("dim", int64_t{1});
  const int cat = g.add_node("aten.cat.default", "/Concat", {g.nodes[a].outputs[0], g.nodes[b].outputs[0]}, 1, ca);
  g.outputs = {g.nodes[cat].outputs[0]};
  infer_graph(g);
  Prepared p = prepare_pt2e(g, minmax_quantizer(false));
  const int gcat = p.group_of(EdgeOrNode::output(cat));
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(cat, 0)), gcat);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(cat, 1)), gcat);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(a)), gcat);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(b)), gcat);
  // One observer sees both branches: its range covers relu (>= 0) and abs.
  p.run({Tensor::from_vector<float>({1, 4}, {-3.f, 1.f, 2.f, -0.5f})});
  const QParams qp = p.group_qparams(gcat);
  EXPECT_NEAR(qp.scale[0], 3.0f / 255.0f, 1e-7);
}

// A quantizer that writes whatever annotations a test gives it.
class FixedAnnotations : public Quantizer {
 public:
  explicit FixedAnnotations(Annotations a) : a_(std::move(a)) {}
  std::string name() const override { return "test"; }
  void annotate(const Graph&, Annotations& a, std::vector<SkipReason>&) const override { a = a_; }

 private:
  Annotations a_;
};

TEST(Prepare, BrokenSharingSpecsGiveClearErrors) {
  ConvNet net;
  QuantizationSpec act = *symmetric_int8_config(false).input_activation;
  {
    Annotations a;
    a[net.relu].input_qspec_map[0] = SharedQuantizationSpec{EdgeOrNode::output(net.flat)};  // flat not annotated
    try {
      prepare_pt2e(net.g, FixedAnnotations(a));
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("has no quantization annotation"), std::string::npos) << e.what();
    }
  }
  {
    Annotations a;  // two positions sharing with each other and nothing else: a cycle
    a[net.relu].output_qspec = SharedQuantizationSpec{EdgeOrNode::output(net.pool)};
    a[net.pool].output_qspec = SharedQuantizationSpec{EdgeOrNode::output(net.relu)};
    EXPECT_THROW(prepare_pt2e(net.g, FixedAnnotations(a)), Error);
  }
  {
    Annotations a;  // an input slot the node does not have
    a[net.relu].input_qspec_map[3] = act;
    EXPECT_THROW(prepare_pt2e(net.g, FixedAnnotations(a)), Error);
  }
}

TEST(Convert, QdqStructureAndSimulatedAccuracy) {
  ConvNet net;
  Prepared p = prepare_pt2e(net.g, minmax_quantizer(true));
  const Tensor x = random_tensor({8, 2, 6, 6}, 11);
  p.run({x});
  const Graph q = convert_pt2e(p);
  int quant = 0, dequant = 0;
  for (const Node& n : q.nodes) {
    quant += n.op.find("quantize_per") != std::string::npos && n.op.find("dequantize") == std::string::npos;
    dequant += n.op.find("dequantize_per") != std::string::npos;
  }
  // As torchao: a Q/DQ pair after every annotated output — x's edge, relu, pool, flatten (the last
  // two share relu's qparams; the linear's input edge reuses flatten's), logits — and a DQ for
  // each of the 4 constants.
  EXPECT_EQ(quant, 5);
  EXPECT_EQ(dequant, 9);
  // Weights are int8 and bias int32, with per-channel dequantize on axis 0.
  bool saw_w = false, saw_b = false;
  for (const Node& n : q.nodes) {
    if (n.op != "quantized_decomposed.dequantize_per_channel.default") continue;
    const Value& in = q.value(n.inputs[0]);
    ASSERT_TRUE(in.constant.has_value());
    EXPECT_EQ(n.attrs.i("axis"), 0);
    saw_w |= in.dtype == DType::i8;
    saw_b |= in.dtype == DType::i32;
  }
  EXPECT_TRUE(saw_w);
  EXPECT_TRUE(saw_b);
  EXPECT_EQ(q.value(q.outputs[0]).name, "logits");

  Executor fe(net.g), qe(q);
  const Tensor yf = fe.run({x})[0], yq = qe.run({x})[0];
  const QParams out = p.group_qparams(p.group_of(EdgeOrNode::output(net.linear)));
  for (int64_t i = 0; i < yf.numel(); ++i)
    EXPECT_NEAR(yf.data<float>()[i], yq.data<float>()[i], 6 * out.scale[0]) << i;
}

TEST(Convert, ErrorsWithoutCalibrationAndOnNaN) {
  ConvNet net;
  {
    Prepared p = prepare_pt2e(net.g, minmax_quantizer(false));
    try {
      convert_pt2e(p);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no calibration data"), std::string::npos) << e.what();
    }
  }
  {
    Prepared p = prepare_pt2e(net.g, minmax_quantizer(false));
    Tensor x = random_tensor({1, 2, 6, 6}, 5);
    x.data<float>()[7] = std::nanf("");
    try {
      p.run({x});
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(calibrate_and_quantize(net.g, {}, minmax_quantizer(false)), Error);
}

TEST(Prepare, ShardedCalibrationMergesToTheSameQParams) {
  ConvNet net;
  const GenericQuantizer q = minmax_quantizer(false);  // min/max merge exactly
  const Tensor a = random_tensor({4, 2, 6, 6}, 21, -2, 1), b = random_tensor({4, 2, 6, 6}, 22, -1, 3);
  Prepared whole = prepare_pt2e(net.g, q), s1 = prepare_pt2e(net.g, q), s2 = prepare_pt2e(net.g, q);
  whole.run({a});
  whole.run({b});
  s1.run({a});
  s2.run({b});
  s1.merge_observers(s2.save_observers());
  EXPECT_EQ(s1.batches_seen(), 2);
  for (size_t gi = 0; gi < whole.groups().size(); ++gi) {
    const QParams x = whole.group_qparams(static_cast<int>(gi)), y = s1.group_qparams(static_cast<int>(gi));
    ASSERT_EQ(x.scale.size(), y.scale.size());
    for (size_t c = 0; c < x.scale.size(); ++c) {
      EXPECT_NEAR(x.scale[c], y.scale[c], 1e-6 * x.scale[c] + 1e-9) << gi;
      EXPECT_EQ(x.zero_point[c], y.zero_point[c]) << gi;
    }
  }
  EXPECT_THROW(s1.merge_observers("not json"), Error);
}

}  // namespace
}  // namespace eq
