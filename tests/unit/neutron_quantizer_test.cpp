// eq::NeutronQuantizer on small built graphs: the specs of ExecuTorch's NeutronQuantizer (act,
// weight, bias), conv/linear fusion, fixed qparams, mul's fixed inputs, sharing and NXP's
// annotation order, config overrides and their precedence, the conv1d → conv2d rewrite.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "edgequant/executor.h"
#include "edgequant/neutron.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "op_test_util.h"

namespace eq {
namespace {

using optest::random_tensor;

// A graph under construction: values by id, nodes by index.
struct Builder {
  Graph g;
  Builder() { register_builtin_op_schemas(); }
  int input(Shape s, const std::string& name = "x") {
    const int v = g.add_value(name, DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  int constant(Tensor t, const std::string& name) { return g.add_constant(name, std::move(t)); }
  // Returns the node index; out(k) is its output value.
  int node(const std::string& op, const std::string& name, std::vector<int> ins, Attrs a = {}) {
    return g.add_node(op, name, std::move(ins), 1, std::move(a));
  }
  int out(int node) const { return g.nodes[static_cast<size_t>(node)].outputs[0]; }
  Graph done(std::vector<int> outputs) {
    g.outputs = std::move(outputs);
    infer_graph(g);
    g.validate();
    return g;
  }
};

Attrs conv2d_attrs(int64_t pad = 1) {
  Attrs a;
  a.set("stride", std::vector<int64_t>{1, 1});
  a.set("padding", std::vector<int64_t>{pad, pad, pad, pad});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", int64_t{1});
  return a;
}

Attrs hardtanh(double lo, double hi) {
  Attrs a;
  a.set("min_val", lo);
  a.set("max_val", hi);
  return a;
}

Attrs dim_attr(int64_t d) {
  Attrs a;
  a.set("dim", d);
  return a;
}

int add_conv(Builder& b, int x, int cin, int cout, const std::string& module, uint32_t seed) {
  const int w = b.constant(random_tensor({cout, cin, 3, 3}, seed), module + ".weight");
  const int bias = b.constant(random_tensor({cout}, seed + 1), module + ".bias");
  return b.node("aten.conv2d.default", "/" + module + "/Conv", {x, w, bias}, conv2d_attrs());
}

int add_linear(Builder& b, int x, int in, int out, const std::string& module, uint32_t seed) {
  const int w = b.constant(random_tensor({out, in}, seed), module + ".weight");
  const int bias = b.constant(random_tensor({out}, seed + 1), module + ".bias");
  return b.node("aten.linear.default", "/" + module + "/Gemm", {x, w, bias});
}

NeutronQuantizer neutron() { return NeutronQuantizer{NeutronTargetSpec::from_name("imxrt700")}; }

struct Annotated {
  Graph g;  // after transform_for_annotation
  Annotations a;
  std::vector<SkipReason> skipped;
};

Annotated annotate(Graph g, const Quantizer& q) {
  Annotated r;
  q.transform_for_annotation(g);
  q.annotate(g, r.a, r.skipped);
  r.g = std::move(g);
  return r;
}

const QuantizationSpec& plain(const QuantizationSpecBase& s) { return std::get<QuantizationSpec>(s); }
const FixedQParamsQuantizationSpec& fixed_of(const QuantizationSpecBase& s) {
  return std::get<FixedQParamsQuantizationSpec>(s);
}

std::string skip_reason(const std::vector<SkipReason>& skipped, int node) {
  for (const auto& s : skipped)
    if (s.node == node) return s.reason;
  return "";
}

// ---- the specs ----

TEST(NeutronQuantizer, DefaultConfigIsNxpsSpecs) {
  const QuantizationConfig c = neutron().default_config();
  ASSERT_TRUE(c.input_activation && c.output_activation && c.weight);
  const QuantizationSpec& act = *c.input_activation;
  EXPECT_EQ(act.dtype, DType::i8);
  EXPECT_EQ(act.quant_min, -128);
  EXPECT_EQ(act.quant_max, 127);
  EXPECT_EQ(act.qscheme, QuantizationScheme::per_tensor_affine);
  EXPECT_EQ(act.eps, 1.0f / 4096.0f);
  EXPECT_EQ(act.observer.kind, ObserverKind::histogram);
  const QuantizationSpec& w = *c.weight;
  EXPECT_EQ(w.quant_min, -127);
  EXPECT_EQ(w.quant_max, 127);
  EXPECT_EQ(w.qscheme, QuantizationScheme::per_tensor_symmetric);
  EXPECT_EQ(w.observer.kind, ObserverKind::minmax);
  // NXP builds the weight spec without eps: the observer's default, float32 epsilon.
  EXPECT_EQ(w.eps, std::numeric_limits<float>::epsilon());
  EXPECT_FALSE(c.is_qat);
}

TEST(NeutronQuantizer, QatUsesMovingAverageObservers) {
  const NeutronQuantizer q{NeutronTargetSpec::from_name("imxrt700"), /*is_qat=*/true};
  const QuantizationConfig c = q.default_config();
  EXPECT_TRUE(c.is_qat);
  EXPECT_EQ(c.input_activation->observer.kind, ObserverKind::moving_average_minmax);
  EXPECT_EQ(c.input_activation->eps, 1.0f / 4096.0f);
  EXPECT_EQ(c.weight->observer.kind, ObserverKind::moving_average_minmax);

  // Per-channel conv weights get the per-channel moving-average observer, and prepare runs.
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int conv = add_conv(b, x, 2, 4, "conv", 1);
  const int relu = b.node("aten.relu.default", "/relu/Relu", {b.out(conv)});
  const Graph g = b.done({b.out(relu)});
  NeutronQuantizer pc{NeutronTargetSpec::from_name("imxrt700"), true};
  pc.set_per_channel_conv(true);
  const Annotated r = annotate(g, pc);
  EXPECT_EQ(plain(r.a.at(conv).input_qspec_map.at(1)).observer.kind, ObserverKind::moving_average_per_channel_minmax);
  Prepared p = prepare_pt2e(g, pc);
  p.run({random_tensor({2, 2, 6, 6}, 9)});
  EXPECT_EQ(p.group_qparams(p.group_of(EdgeOrNode::edge(conv, 1))).scale.size(), 4u);
}

TEST(NeutronQuantizer, ConvWeightsPerTensorByDefaultPerChannelOnRequest) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int conv = add_conv(b, x, 2, 4, "conv", 1);
  Attrs fa;
  fa.set("start_dim", int64_t{1});
  fa.set("end_dim", int64_t{-1});
  const int flat = b.node("aten.flatten.using_ints", "/Flatten", {b.out(conv)}, fa);
  const int fc = add_linear(b, b.out(flat), 144, 3, "fc", 5);
  const Graph g = b.done({b.out(fc)});

  const Annotated pt = annotate(g, neutron());
  EXPECT_EQ(plain(pt.a.at(conv).input_qspec_map.at(1)).qscheme, QuantizationScheme::per_tensor_symmetric);
  const auto& pt_bias = std::get<DerivedQuantizationSpec>(pt.a.at(conv).input_qspec_map.at(2));
  EXPECT_EQ(pt_bias.qscheme, QuantizationScheme::per_tensor_symmetric);
  EXPECT_EQ(pt_bias.quant_min, -int64_t{2147483647});

  NeutronQuantizer q = neutron();
  q.set_per_channel_conv(true);
  const Annotated pc = annotate(g, q);
  const QuantizationSpec& w = plain(pc.a.at(conv).input_qspec_map.at(1));
  EXPECT_EQ(w.qscheme, QuantizationScheme::per_channel_symmetric);
  EXPECT_EQ(w.ch_axis, 0);
  EXPECT_EQ(w.observer.kind, ObserverKind::per_channel_minmax);
  const auto& cb = std::get<DerivedQuantizationSpec>(pc.a.at(conv).input_qspec_map.at(2));
  EXPECT_EQ(cb.qscheme, QuantizationScheme::per_channel_symmetric);
  EXPECT_EQ(cb.quant_min, -int64_t{2147483647});
  EXPECT_EQ(cb.quant_max, int64_t{2147483647});
  // Linear stays per tensor, its bias per_tensor_affine over the full int32 range.
  EXPECT_EQ(plain(pc.a.at(fc).input_qspec_map.at(1)).qscheme, QuantizationScheme::per_tensor_symmetric);
  const auto& lb = std::get<DerivedQuantizationSpec>(pc.a.at(fc).input_qspec_map.at(2));
  EXPECT_EQ(lb.qscheme, QuantizationScheme::per_tensor_affine);
  EXPECT_EQ(lb.quant_min, int64_t{std::numeric_limits<int32_t>::min()});

  // The derived bias qparams carry NXP's range.
  Prepared p = prepare_pt2e(g, q);
  p.run({random_tensor({2, 2, 6, 6}, 3)});
  const QParams in = p.group_qparams(p.group_of(EdgeOrNode::edge(conv, 0)));
  const QParams wq = p.group_qparams(p.group_of(EdgeOrNode::edge(conv, 1)));
  const QParams bq = p.group_qparams(p.group_of(EdgeOrNode::edge(conv, 2)));
  ASSERT_EQ(bq.scale.size(), 4u);
  EXPECT_EQ(bq.qmin, -int64_t{2147483647});
  for (size_t c = 0; c < 4; ++c) EXPECT_EQ(bq.scale[c], in.scale[0] * wq.scale[c]);
  EXPECT_EQ(p.group_qparams(p.group_of(EdgeOrNode::edge(fc, 2))).qmin, int64_t{std::numeric_limits<int32_t>::min()});
}

// ---- fusion ----

TEST(NeutronQuantizer, ConvAndLinearFuseTheirActivation) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int c1 = add_conv(b, x, 2, 4, "c1", 1);
  const int relu6 = b.node("aten.hardtanh.default", "/r6/Clip", {b.out(c1)}, hardtanh(0, 6));
  const int c2 = add_conv(b, b.out(relu6), 4, 4, "c2", 3);
  const int sig = b.node("aten.sigmoid.default", "/sig/Sigmoid", {b.out(c2)});
  const int c3 = add_conv(b, b.out(sig), 4, 4, "c3", 5);
  const int ht = b.node("aten.hardtanh.default", "/ht/Clip", {b.out(c3)}, hardtanh(-2, 2));  // not fusable
  Attrs fa;
  fa.set("start_dim", int64_t{1});
  fa.set("end_dim", int64_t{-1});
  const int flat = b.node("aten.flatten.using_ints", "/Flatten", {b.out(ht)}, fa);
  const int fc = add_linear(b, b.out(flat), 144, 8, "fc", 7);
  const int tanh = b.node("aten.tanh.default", "/tanh/Tanh", {b.out(fc)});
  const Graph g = b.done({b.out(tanh)});
  const Annotated r = annotate(g, neutron());
  EXPECT_TRUE(r.skipped.empty());

  // conv + relu6: nothing between them, the activation's output observed.
  EXPECT_FALSE(r.a.at(c1).output_qspec.has_value());
  EXPECT_TRUE(r.a.at(relu6).input_qspec_map.empty());
  EXPECT_EQ(plain(*r.a.at(relu6).output_qspec).observer.kind, ObserverKind::histogram);
  // conv + sigmoid: the sigmoid's fixed qparams.
  EXPECT_FALSE(r.a.at(c2).output_qspec.has_value());
  EXPECT_TRUE(r.a.at(sig).input_qspec_map.empty());
  EXPECT_EQ(fixed_of(*r.a.at(sig).output_qspec).scale, 1.0f / 256.0f);
  EXPECT_EQ(fixed_of(*r.a.at(sig).output_qspec).zero_point, -128);
  // hardtanh(-2, 2) is not fused: the conv output is observed and hardtanh shares it.
  EXPECT_TRUE(r.a.at(c3).output_qspec.has_value());
  EXPECT_EQ(std::get<SharedQuantizationSpec>(*r.a.at(ht).output_qspec).edge_or_node, EdgeOrNode::output(c3));
  // linear (rank-2 output) + tanh: tanh's fixed 1/128, zp 0.
  EXPECT_FALSE(r.a.at(fc).output_qspec.has_value());
  EXPECT_EQ(fixed_of(*r.a.at(tanh).output_qspec).scale, 1.0f / 128.0f);
  EXPECT_EQ(fixed_of(*r.a.at(tanh).output_qspec).zero_point, 0);
}

TEST(NeutronQuantizer, ActivationAnnotatedBeforeItsConvStillFuses) {
  // The first relu comes before the conv, so NXP's relu pattern annotates every relu (the fused
  // one included) before the conv pattern runs; the conv then takes the second one over: its
  // input edge loses its spec and the conv output gets no observer.
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int r0 = b.node("aten.relu.default", "/r0/Relu", {x});
  const int conv = add_conv(b, b.out(r0), 2, 4, "conv", 1);
  const int r1 = b.node("aten.relu.default", "/r1/Relu", {b.out(conv)});
  const Graph g = b.done({b.out(r1)});
  const Annotated r = annotate(g, neutron());
  EXPECT_FALSE(r.a.at(conv).output_qspec.has_value());
  EXPECT_TRUE(r.a.at(r1).input_qspec_map.empty());
  EXPECT_TRUE(r.a.at(r1).output_qspec.has_value());
  const Prepared p = prepare_pt2e(g, neutron());
  EXPECT_EQ(p.group_of(EdgeOrNode::output(conv)), -1);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(conv, 0)), p.group_of(EdgeOrNode::output(r0)));
}

TEST(NeutronQuantizer, LinearWithRank3OutputDoesNotFuse) {
  Builder b;
  const int x = b.input({kBatch, 5, 8});
  const int fc = add_linear(b, x, 8, 4, "fc", 1);
  const int relu = b.node("aten.relu.default", "/relu/Relu", {b.out(fc)});
  const Graph g = b.done({b.out(relu)});
  const Annotated r = annotate(g, neutron());
  EXPECT_TRUE(r.a.at(fc).output_qspec.has_value());
  EXPECT_EQ(r.a.at(relu).input_qspec_map.size(), 1u);
  EXPECT_TRUE(r.a.at(relu).output_qspec.has_value());
}

TEST(NeutronQuantizer, ConvWithTwoReadersDoesNotFuse) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int conv = add_conv(b, x, 2, 4, "conv", 1);
  const int relu = b.node("aten.relu.default", "/relu/Relu", {b.out(conv)});
  const int add = b.node("aten.add.Tensor", "/Add", {b.out(conv), b.out(relu)});
  const Graph g = b.done({b.out(add)});
  const Annotated r = annotate(g, neutron());
  EXPECT_TRUE(r.a.at(conv).output_qspec.has_value());
  EXPECT_EQ(r.a.at(relu).input_qspec_map.size(), 1u);
  // add: both inputs and the output observed.
  EXPECT_EQ(r.a.at(add).input_qspec_map.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<QuantizationSpec>(*r.a.at(add).output_qspec));
}

// ---- fixed qparams, mul ----

TEST(NeutronQuantizer, SoftmaxSigmoidTanhHaveFixedOutputs) {
  Builder b;
  const int x = b.input({kBatch, 8});
  const int sm = b.node("aten.softmax.int", "/sm/Softmax", {x}, dim_attr(1));
  const int sg = b.node("aten.sigmoid.default", "/sg/Sigmoid", {x});
  const int th = b.node("aten.tanh.default", "/th/Tanh", {x});
  Attrs ca;
  ca.set("dim", int64_t{1});
  const int cat = b.node("aten.cat.default", "/Concat", {b.out(sm), b.out(sg), b.out(th)}, ca);
  const Graph g = b.done({b.out(cat)});
  Prepared p = prepare_pt2e(g, neutron());
  p.run({random_tensor({4, 8}, 2, -3.f, 3.f)});
  auto qp = [&](EdgeOrNode e) { return p.group_qparams(p.group_of(e)); };
  EXPECT_EQ(qp(EdgeOrNode::output(sm)).scale[0], 1.0f / 256.0f);
  EXPECT_EQ(qp(EdgeOrNode::output(sm)).zero_point[0], -128);
  EXPECT_EQ(qp(EdgeOrNode::output(sg)).scale[0], 1.0f / 256.0f);
  EXPECT_EQ(qp(EdgeOrNode::output(sg)).zero_point[0], -128);
  EXPECT_EQ(qp(EdgeOrNode::output(th)).scale[0], 1.0f / 128.0f);
  EXPECT_EQ(qp(EdgeOrNode::output(th)).zero_point[0], 0);
  // The inputs of all three read the graph input: one observer (the placeholder's in torch).
  const int gin = p.group_of(EdgeOrNode::edge(sm, 0));
  EXPECT_GE(gin, 0);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(sg, 0)), gin);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(th, 0)), gin);
  // cat shares with its first input's producer: the softmax's fixed qparams for all three.
  EXPECT_EQ(p.group_of(EdgeOrNode::output(cat)), p.group_of(EdgeOrNode::output(sm)));
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(cat, 2)), p.group_of(EdgeOrNode::output(sm)));
}

TEST(NeutronQuantizer, MulInputsAreFixedAndItsOutputObserved) {
  Builder b;
  const int x = b.input({kBatch, 8});
  const int ht = b.node("aten.hardtanh.default", "/ht/Clip", {x}, hardtanh(-2, 2));
  const int ab = b.node("aten.abs.default", "/Abs", {x});
  const int mul = b.node("aten.mul.Tensor", "/Mul", {b.out(ht), b.out(ab)});
  const Graph g = b.done({b.out(mul)});
  const Annotated r = annotate(g, neutron());
  for (int s : {0, 1}) {
    const auto& f = fixed_of(r.a.at(mul).input_qspec_map.at(s));
    EXPECT_EQ(f.scale, 1.0f / 256.0f);
    EXPECT_EQ(f.zero_point, 0);
  }
  EXPECT_EQ(plain(*r.a.at(mul).output_qspec).observer.kind, ObserverKind::histogram);
  Prepared p = prepare_pt2e(g, neutron());
  p.run({random_tensor({4, 8}, 2, -0.4f, 0.4f)});
  const QParams o = p.group_qparams(p.group_of(EdgeOrNode::output(mul)));
  EXPECT_NE(o.scale[0], 1.0f / 256.0f);
  // A fixed input edge never shares with the (observed) producer output.
  EXPECT_NE(p.group_of(EdgeOrNode::edge(mul, 0)), p.group_of(EdgeOrNode::output(ht)));
}

// ---- sharing ----

TEST(NeutronQuantizer, GraphInputConsumersShareOneObserver) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int c1 = add_conv(b, x, 2, 4, "c1", 1);
  const int c2 = add_conv(b, x, 2, 4, "c2", 3);
  Attrs pa;
  pa.set("kernel_size", std::vector<int64_t>{2, 2});
  pa.set("stride", std::vector<int64_t>{2, 2});
  const int pool = b.node("aten.max_pool2d.default", "/pool/MaxPool", {x}, pa);
  const int add = b.node("aten.add.Tensor", "/Add", {b.out(c1), b.out(c2)});
  const Graph g = b.done({b.out(add), b.out(pool)});
  const Prepared p = prepare_pt2e(g, neutron());
  const int gx = p.group_of(EdgeOrNode::edge(c1, 0));
  ASSERT_GE(gx, 0);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(c2, 0)), gx);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(pool, 0)), gx);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(pool)), gx);  // max_pool shares the graph input's
  EXPECT_EQ(p.groups()[static_cast<size_t>(gx)].observed_values.size(), 2u);  // x and the pool output
}

TEST(NeutronQuantizer, SharedOpsShareTheProducerAndNeedItAnnotated) {
  Builder b;
  const int x = b.input({kBatch, 8});
  const int relu = b.node("aten.relu.default", "/relu/Relu", {x});
  Attrs ra;
  ra.set("shape", std::vector<int64_t>{-1, 2, 4});
  const int rs = b.node("aten.reshape.default", "/Reshape", {b.out(relu)}, ra);
  Attrs pa;
  pa.set("dims", std::vector<int64_t>{0, 2, 1});
  const int perm = b.node("aten.permute.default", "/Transpose", {b.out(rs)}, pa);
  // gelu has no Neutron pattern: the reshape after it has nothing to share with.
  Attrs ga;
  ga.set("approximate", std::string("none"));
  const int gelu = b.node("aten.gelu.default", "/Gelu", {x}, ga);
  const int rs2 = b.node("aten.reshape.default", "/Reshape_1", {b.out(gelu)}, ra);
  const Graph g = b.done({b.out(perm), b.out(rs2)});
  const Annotated r = annotate(g, neutron());
  EXPECT_EQ(std::get<SharedQuantizationSpec>(*r.a.at(rs).output_qspec).edge_or_node, EdgeOrNode::output(relu));
  EXPECT_EQ(std::get<SharedQuantizationSpec>(*r.a.at(perm).output_qspec).edge_or_node, EdgeOrNode::output(rs));
  EXPECT_EQ(r.a.count(rs2), 0u);
  EXPECT_NE(skip_reason(r.skipped, rs2).find("not quantized"), std::string::npos) << skip_reason(r.skipped, rs2);
  EXPECT_NE(skip_reason(r.skipped, gelu).find("no Neutron quantization pattern"), std::string::npos);

  const Prepared p = prepare_pt2e(g, neutron());
  const int gr = p.group_of(EdgeOrNode::output(relu));
  EXPECT_EQ(p.group_of(EdgeOrNode::output(perm)), gr);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(perm, 0)), gr);
}

TEST(NeutronQuantizer, SharedOpAfterFixedOutputSharesItWithItsOwnInputObserver) {
  // softmax → mean: mean's output shares softmax's fixed qparams, its input edge has its own
  // observer (a plain spec never shares with a fixed one), as in ExecuTorch.
  Builder b;
  const int x = b.input({kBatch, 4, 8});
  const int sm = b.node("aten.softmax.int", "/Softmax", {x}, dim_attr(2));
  Attrs ma;
  ma.set("dim", std::vector<int64_t>{2});
  ma.set("keepdim", int64_t{0});
  const int mean = b.node("aten.mean.dim", "/ReduceMean", {b.out(sm)}, ma);
  const Graph g = b.done({b.out(mean)});
  Prepared p = prepare_pt2e(g, neutron());
  p.run({random_tensor({2, 4, 8}, 1)});
  EXPECT_EQ(p.group_of(EdgeOrNode::output(mean)), p.group_of(EdgeOrNode::output(sm)));
  EXPECT_NE(p.group_of(EdgeOrNode::edge(mean, 0)), p.group_of(EdgeOrNode::output(sm)));
  EXPECT_GE(p.group_of(EdgeOrNode::edge(mean, 0)), 0);
}

TEST(NeutronQuantizer, CatPatternRunsOnceAtTheFirstCat) {
  // NXP runs the cat pattern for every cat when it reaches the first one. cat2's inputs (means,
  // whose pattern runs later) are not annotated yet then, so cat2 gets its own observers — what
  // ExecuTorch does on ops.onnx's second cat. The means still share cat1's qparams later.
  Builder b;
  const int x = b.input({kBatch, 4, 8});
  const int relu = b.node("aten.relu.default", "/Relu", {x});
  Attrs ca;
  ca.set("dim", int64_t{2});
  const int cat1 = b.node("aten.cat.default", "/Concat", {b.out(relu), b.out(relu)}, ca);
  Attrs ma;
  ma.set("dim", std::vector<int64_t>{2});
  ma.set("keepdim", int64_t{1});
  const int mean = b.node("aten.mean.dim", "/ReduceMean", {b.out(cat1)}, ma);
  const int mean2 = b.node("aten.mean.dim", "/ReduceMean_1", {b.out(cat1)}, ma);
  const int cat2 = b.node("aten.cat.default", "/Concat_1", {b.out(mean), b.out(mean2)}, ca);
  const Graph g = b.done({b.out(cat2)});
  const Annotated r = annotate(g, neutron());
  EXPECT_EQ(std::get<SharedQuantizationSpec>(r.a.at(cat1).input_qspec_map.at(1)).edge_or_node, EdgeOrNode::output(relu));
  EXPECT_EQ(std::get<SharedQuantizationSpec>(*r.a.at(cat1).output_qspec).edge_or_node, EdgeOrNode::output(relu));
  EXPECT_TRUE(std::holds_alternative<QuantizationSpec>(r.a.at(cat2).input_qspec_map.at(0)));
  EXPECT_TRUE(std::holds_alternative<QuantizationSpec>(r.a.at(cat2).input_qspec_map.at(1)));
  EXPECT_TRUE(std::holds_alternative<QuantizationSpec>(*r.a.at(cat2).output_qspec));
  EXPECT_EQ(std::get<SharedQuantizationSpec>(*r.a.at(mean).output_qspec).edge_or_node, EdgeOrNode::output(cat1));
}

// ---- overrides ----

QuantizationConfig with_act_observer(QuantizationConfig c, ObserverKind k) {
  c.input_activation->observer.kind = k;
  c.output_activation->observer.kind = k;
  return c;
}

TEST(NeutronQuantizer, OverridePrecedenceModuleNameTypeOperatorGlobal) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int a = add_conv(b, x, 2, 4, "a", 1);      // module name 'a' (over type Conv2d)
  const int c = add_conv(b, b.out(a), 4, 4, "c", 3);  // module type Conv2d
  const int off = add_conv(b, b.out(c), 4, 4, "off", 5);  // module name 'off': left float
  const int add = b.node("aten.add.Tensor", "/Add", {b.out(off), b.out(c)});  // operator add
  const int sub = b.node("aten.sub.Tensor", "/Sub", {b.out(add), b.out(c)});   // global
  const Graph g = b.done({b.out(sub)});

  NeutronQuantizer q = neutron();
  const QuantizationConfig base = q.default_config();
  q.set_module_type("torch.nn.Conv2d", with_act_observer(base, ObserverKind::minmax));
  q.set_module_name("a", with_act_observer(base, ObserverKind::percentile));
  q.set_module_name("off", std::nullopt);
  q.set_operator_type("aten.add.Tensor", with_act_observer(base, ObserverKind::entropy));
  const Annotated r = annotate(g, q);
  auto out_kind = [&](int n) { return plain(*r.a.at(n).output_qspec).observer.kind; };
  EXPECT_EQ(out_kind(a), ObserverKind::percentile);
  EXPECT_EQ(out_kind(c), ObserverKind::minmax);
  EXPECT_EQ(out_kind(add), ObserverKind::entropy);
  EXPECT_EQ(out_kind(sub), ObserverKind::histogram);
  EXPECT_EQ(r.a.count(off), 0u);
  EXPECT_NE(skip_reason(r.skipped, off).find("module name 'off'"), std::string::npos) << skip_reason(r.skipped, off);

  // The QDQ graph keeps that conv in float and still runs.
  Graph qg = calibrate_and_quantize(g, {{random_tensor({2, 2, 6, 6}, 4)}}, q);
  int float_convs = 0;
  for (const Node& n : qg.nodes)
    if (n.op == "aten.conv2d.default" && n.name == "/off/Conv") {
      const int w = n.inputs[1];
      float_convs += qg.is_constant(w) && qg.value(w).dtype == DType::f32;
    }
  EXPECT_EQ(float_convs, 1);
}

TEST(NeutronQuantizer, ActivationUnderAnotherOverrideIsNotFused) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int conv = add_conv(b, x, 2, 4, "conv", 1);
  const int relu = b.node("aten.relu.default", "/act/Relu", {b.out(conv)});
  const Graph g = b.done({b.out(relu)});
  NeutronQuantizer q = neutron();
  q.set_module_name("act", std::nullopt);
  const Annotated r = annotate(g, q);
  EXPECT_TRUE(r.a.at(conv).output_qspec.has_value());
  EXPECT_EQ(r.a.count(relu), 0u);
}

// ---- conv1d → conv2d ----

Graph conv1d_net() {
  Builder b;
  const int x = b.input({kBatch, 4, 16});
  Attrs a;
  a.set("stride", std::vector<int64_t>{2});
  a.set("padding", std::vector<int64_t>{1, 2});
  a.set("dilation", std::vector<int64_t>{1});
  a.set("groups", int64_t{2});
  const int w = b.constant(random_tensor({6, 2, 3}, 1), "c1.weight");
  const int bias = b.constant(random_tensor({6}, 2), "c1.bias");
  const int c1 = b.node("aten.conv1d.default", "/c1/Conv", {x, w, bias}, a);
  const int relu = b.node("aten.relu.default", "/act/Relu", {b.out(c1)});
  Attrs a2;
  a2.set("stride", std::vector<int64_t>{1});
  a2.set("padding", std::vector<int64_t>{0, 0});
  a2.set("dilation", std::vector<int64_t>{2});
  a2.set("groups", int64_t{1});
  const int w2 = b.constant(random_tensor({3, 6, 2}, 3), "c2.weight");
  const int c2 = b.node("aten.conv1d.default", "/c2/Conv", {b.out(relu), w2}, a2);  // no bias
  b.g.value(b.out(c2)).name = "y";
  return b.done({b.out(c2)});
}

TEST(NeutronQuantizer, Conv1dBecomesUnsqueezeConv2dSqueeze) {
  const Graph g = conv1d_net();
  Graph t = g;
  neutron().transform_for_annotation(t);
  std::map<std::string, int> ops;
  for (const Node& n : t.nodes) ++ops[n.op];
  EXPECT_EQ(ops["aten.conv1d.default"], 0);
  EXPECT_EQ(ops["aten.conv2d.default"], 2);
  EXPECT_EQ(ops["aten.unsqueeze.default"], 2);
  EXPECT_EQ(ops["aten.squeeze.dims"], 2);
  // The relu moved before the first squeeze (conv2d → relu → squeeze), the weight is [O, I/g, 1, k].
  int conv = -1;
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].name == "/c1/Conv") conv = static_cast<int>(i);
  ASSERT_GE(conv, 0);
  EXPECT_EQ(t.nodes[static_cast<size_t>(conv)].module, "c1");
  EXPECT_EQ(t.value(t.nodes[static_cast<size_t>(conv)].inputs[1]).shape, (Shape{6, 2, 1, 3}));
  const auto users = t.consumers();
  const int c_out = t.nodes[static_cast<size_t>(conv)].outputs[0];
  ASSERT_EQ(users[static_cast<size_t>(c_out)].size(), 1u);
  EXPECT_EQ(t.nodes[static_cast<size_t>(users[static_cast<size_t>(c_out)][0])].op, "aten.relu.default");
  EXPECT_EQ(t.value(t.outputs[0]).name, "y");

  // Numerically the same model.
  const Tensor in = random_tensor({3, 4, 16}, 11);
  Executor e1(g), e2(t);
  const Tensor y1 = e1.run({in})[0];
  const Tensor y2 = e2.run({in})[0];
  ASSERT_EQ(y1.shape(), y2.shape());
  float diff = 0;
  for (int64_t k = 0; k < y1.numel(); ++k) diff = std::max(diff, std::fabs(y1.data<float>()[k] - y2.data<float>()[k]));
  EXPECT_LT(diff, 1e-5f);

  // And annotated as conv2d + fused relu; the squeezes share their producer's qparams.
  const Annotated r = annotate(g, neutron());
  EXPECT_TRUE(r.skipped.empty());
  EXPECT_FALSE(r.a.at(conv).output_qspec.has_value());
  const Prepared p = prepare_pt2e(g, neutron());
  for (size_t i = 0; i < p.graph().nodes.size(); ++i)
    if (p.graph().nodes[i].op == "aten.squeeze.dims") {
      const int ii = static_cast<int>(i);
      EXPECT_EQ(p.group_of(EdgeOrNode::output(ii)), p.group_of(EdgeOrNode::edge(ii, 0)));
    }
}

}  // namespace
}  // namespace eq
