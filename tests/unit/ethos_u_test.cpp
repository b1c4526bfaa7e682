// Ethos-U: the compile spec, the two configs, transform_for_annotation's decompositions (each
// numerically equal to the op it replaces), the annotator's fusion / sharing / IO rules and set_*
// overrides, the int16 QDQ flow (executor and ONNX), the JSON config, and the partitioner's rules
// on small graphs quantized with the quantizer itself.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "edgequant/error.h"
#include "edgequant/ethos_u.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "float_net.h"

namespace eq {
namespace {

using Net = testnet::FloatNet;  // seed 7

Attrs ia(std::initializer_list<std::pair<const char*, AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}

Tensor random_input(const Shape& s, uint32_t seed = 1, float lo = -2.0f, float hi = 2.0f) {
  Tensor t(DType::f32, s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

int count_op(const Graph& g, const std::string& op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op == op;
  return c;
}

EthosUQuantizer a8w8(const std::string& target = "ethos-u55-128") {
  EthosUQuantizer q{EthosUCompileSpec(target)};
  q.set_global(ethosu::get_symmetric_quantization_config());
  return q;
}
EthosUQuantizer a16w8(const std::string& target = "ethos-u55-128") {
  EthosUQuantizer q{EthosUCompileSpec(target)};
  q.set_global(ethosu::get_symmetric_a16w8_quantization_config());
  return q;
}

std::vector<std::vector<Tensor>> calib(const Graph& g, int batches = 2) {
  std::vector<std::vector<Tensor>> out;
  for (int b = 0; b < batches; ++b) {
    std::vector<Tensor> in;
    for (int v : g.inputs) {
      Shape s = g.value(v).shape;
      for (int64_t& d : s)
        if (d == kBatch) d = 4;
      in.push_back(random_input(s, 11 + static_cast<uint32_t>(b)));
    }
    out.push_back(in);
  }
  return out;
}

// ---- compile spec and configs ----

TEST(EthosUCompileSpec, KnowsVelasAcceleratorsAndExecuTorchDefaults) {
  EXPECT_EQ(EthosUCompileSpec::known_targets().size(), 11u);
  const EthosUCompileSpec u55("ethos-u55-128");
  EXPECT_EQ(u55.family, "u55");
  EXPECT_EQ(u55.macs, 128);
  EXPECT_EQ(u55.tosa_spec, "TOSA-1.0+INT+int16+int4+u55");
  EXPECT_EQ(u55.system_config, "Ethos_U55_High_End_Embedded");
  EXPECT_EQ(u55.memory_mode, "Shared_Sram");
  const EthosUCompileSpec u65("ethos-u65-512");
  EXPECT_EQ(u65.tosa_spec, "TOSA-1.0+INT+int16+int4+u55");  // ExecuTorch: U65 lowers to the U55 subset
  EXPECT_EQ(u65.system_config, "Ethos_U65_High_End");
  EXPECT_EQ(u65.memory_mode, "Dedicated_Sram_384KB");
  const EthosUCompileSpec u85("ethos-u85-2048");
  EXPECT_EQ(u85.macs, 2048);
  EXPECT_EQ(u85.tosa_spec, "TOSA-1.0+INT+int16+int4+cf");
  EXPECT_EQ(u85.system_config, "Ethos_U85_SYS_DRAM_Mid");
  EXPECT_EQ(u85.memory_mode, "Sram_Only");
  for (const std::string& t : EthosUCompileSpec::known_targets()) EXPECT_EQ(EthosUCompileSpec(t).target, t);
}

TEST(EthosUCompileSpec, UnknownTargetListsTheKnownOnes) {
  try {
    EthosUCompileSpec s("ethos-u55-512");
    FAIL() << "accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("unknown Ethos-U target 'ethos-u55-512'"), std::string::npos) << m;
    EXPECT_NE(m.find("ethos-u55-32"), std::string::npos) << m;
    EXPECT_NE(m.find("ethos-u85-2048"), std::string::npos) << m;
  }
}

TEST(EthosUConfigs, A8W8AndA16W8AsExecuTorch) {
  const QuantizationConfig c = ethosu::get_symmetric_quantization_config();
  EXPECT_EQ(c.input_activation->dtype, DType::i8);
  EXPECT_EQ(c.input_activation->quant_min, -128);
  EXPECT_EQ(c.input_activation->quant_max, 127);
  EXPECT_EQ(c.input_activation->qscheme, QuantizationScheme::per_tensor_affine);
  EXPECT_EQ(c.input_activation->observer.kind, ObserverKind::histogram);
  EXPECT_EQ(c.input_activation->eps, 1.0f / 65536.0f);
  EXPECT_EQ(c.weight->qscheme, QuantizationScheme::per_channel_symmetric);
  EXPECT_EQ(c.weight->quant_min, -127);
  EXPECT_EQ(c.weight->quant_max, 127);
  EXPECT_EQ(c.weight->eps, 1.0f / 65536.0f);
  EXPECT_EQ(c.weight->observer.kind, ObserverKind::per_channel_minmax);
  EXPECT_EQ(ethosu::get_symmetric_quantization_config(false).weight->observer.kind, ObserverKind::minmax);
  const QuantizationConfig h = ethosu::get_symmetric_a16w8_quantization_config();
  EXPECT_EQ(h.output_activation->dtype, DType::i16);
  EXPECT_EQ(h.output_activation->quant_min, -32767);
  EXPECT_EQ(h.output_activation->quant_max, 32767);
  EXPECT_EQ(h.output_activation->qscheme, QuantizationScheme::per_tensor_symmetric);
  EXPECT_EQ(h.output_activation->eps, 1.0f / 4096.0f);
  EXPECT_EQ(h.weight->eps, 1.0f / 65536.0f);
  EXPECT_FALSE(ethosu::get_symmetric_quantization_config(true, false, true).output_activation.has_value());
  EXPECT_THROW(ethosu::get_symmetric_quantization_config(true, false, false, -129, 127), Error);
}

// ---- decompositions: numerically the op they replace ----

void expect_same_after_transform(Net& n, const std::string& gone, const std::vector<std::string>& added) {
  const EthosUQuantizer q = a8w8();
  Graph t = n.g;
  q.transform_for_annotation(t);
  EXPECT_EQ(count_op(t, gone), 0);
  for (const std::string& op : added) EXPECT_GT(count_op(t, op), 0) << op;
  t.validate();
  const std::vector<Tensor> in = calib(n.g, 1)[0];
  Executor before(n.g), after(t);
  const auto a = before.run(in), b = after.run(in);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    float scale = 0;
    for (int64_t k = 0; k < a[i].numel(); ++k) scale = std::max(scale, std::fabs(a[i].data<float>()[k]));
    EXPECT_LE(max_abs_diff(a[i], b[i]), 1e-6f * std::max(1.0f, scale));
  }
}

TEST(EthosUTransform, SoftmaxBecomesAmaxSubExpSumReciprocalMul) {
  for (int64_t dim : {1, -1}) {
    Net n;
    n.output(n.op("aten.softmax.int", {n.input({kBatch, 12, 32})}, ia({{"dim", dim}})));
    expect_same_after_transform(n, "aten.softmax.int",
                                {"aten.amax.default", "aten.sub.Tensor", "aten.exp.default", "aten.sum.dim_IntList",
                                 "aten.reciprocal.default", "aten.mul.Tensor"});
  }
}

TEST(EthosUTransform, MeanDimBecomesReshapeSumMulReshape) {
  Net n;  // rank 3, keepdim false: the ops model's mean
  n.output(n.op("aten.mean.dim", {n.input({kBatch, 12, 32})}, ia({{"dim", std::vector<int64_t>{1}}, {"keepdim", int64_t{0}}})));
  expect_same_after_transform(n, "aten.mean.dim", {"aten.reshape.default", "aten.sum.dim_IntList", "aten.mul.Tensor"});
  Graph t = n.g;
  a8w8().transform_for_annotation(t);
  EXPECT_EQ(count_op(t, "aten.reshape.default"), 2);
  // The 1/N constant is float32(1/12) in a [1,1,1,1] tensor, as torch's _tensor_constant.
  bool found = false;
  for (const Node& nd : t.nodes)
    if (nd.op == "aten.mul.Tensor" && t.is_constant(nd.inputs[1])) {
      const Tensor& k = *t.value(nd.inputs[1]).constant;
      EXPECT_EQ(k.shape(), (Shape{1, 1, 1, 1}));
      EXPECT_EQ(k.data<float>()[0], static_cast<float>(1.0 / 12.0));
      found = true;
    }
  EXPECT_TRUE(found);
  Net m;  // rank 4 over H, W with keepdim: no reshape at all
  m.output(m.op("aten.mean.dim", {m.input({kBatch, 3, 5, 6})}, ia({{"dim", std::vector<int64_t>{2, 3}}, {"keepdim", int64_t{1}}})));
  expect_same_after_transform(m, "aten.mean.dim", {"aten.sum.dim_IntList", "aten.mul.Tensor"});
}

TEST(EthosUTransform, AdaptiveAvgPoolBecomesSlicesAndAvgPool) {
  // 4x4 → 1x1 and 7x7 → 1x1: stride > 3, so the general path (slice, slice, avg_pool2d) even for one bin.
  for (int64_t hw : {4, 7}) {
    Net n;
    n.output(n.op("aten.adaptive_avg_pool2d.default", {n.input({kBatch, 3, hw, hw})},
                  ia({{"output_size", std::vector<int64_t>{1, 1}}})));
    expect_same_after_transform(n, "aten.adaptive_avg_pool2d.default", {"aten.slice_copy.Tensor", "aten.avg_pool2d.default"});
    Graph t = n.g;
    a8w8().transform_for_annotation(t);
    EXPECT_EQ(count_op(t, "aten.slice_copy.Tensor"), 2);
  }
  Net d;  // 6x6 → 3x3: directly representable, one avg_pool2d(2, 2)
  d.output(d.op("aten.adaptive_avg_pool2d.default", {d.input({kBatch, 2, 6, 6})}, ia({{"output_size", std::vector<int64_t>{3, 3}}})));
  expect_same_after_transform(d, "aten.adaptive_avg_pool2d.default", {"aten.avg_pool2d.default"});
  Net b;  // 5x5 → 3x3: 5 % 3 = 2, overlapping bins: nine slice pairs and pools, then cat
  b.output(b.op("aten.adaptive_avg_pool2d.default", {b.input({kBatch, 2, 5, 5})}, ia({{"output_size", std::vector<int64_t>{3, 3}}})));
  expect_same_after_transform(b, "aten.adaptive_avg_pool2d.default",
                              {"aten.slice_copy.Tensor", "aten.avg_pool2d.default", "aten.cat.default"});
}

TEST(EthosUTransform, DivBecomesReciprocalMul) {
  Net n;
  const int x = n.input({kBatch, 8});
  n.output(n.op("aten.div.Tensor", {x, n.op("aten.exp.default", {x})}));
  expect_same_after_transform(n, "aten.div.Tensor", {"aten.reciprocal.default", "aten.mul.Tensor"});
}

TEST(EthosUTransform, FloatConfigLeavesTheOpAlone) {
  Net n;
  n.output(n.op("aten.softmax.int", {n.input({kBatch, 4, 6})}, ia({{"dim", int64_t{1}}}), "/head/Softmax"));
  EthosUQuantizer q = a8w8();
  q.set_module_name("head", std::nullopt);
  Graph t = n.g;
  q.transform_for_annotation(t);
  EXPECT_EQ(count_op(t, "aten.softmax.int"), 1);
}

// ---- annotation ----

const QuantizationAnnotation* ann(const Prepared& p, const std::string& op, int k = 0) {
  for (size_t i = 0; i < p.graph().nodes.size(); ++i)
    if (p.graph().nodes[i].op == op && k-- == 0) {
      auto it = p.annotations().find(static_cast<int>(i));
      return it == p.annotations().end() ? nullptr : &it->second;
    }
  return nullptr;
}

Net conv_relu_net(const std::string& act = "aten.relu.default") {
  Net n;
  const int c = n.conv2d(n.input({kBatch, 2, 6, 6}), 4, 3, 1, 1);
  Attrs a;
  if (act == "aten.hardtanh.default") a = ia({{"min_val", 0.0}, {"max_val", 6.0}});
  n.output(n.op(act, {c}, a));
  return n;
}

TEST(EthosUAnnotate, A8W8FusesConvRelu) {
  for (const char* act : {"aten.relu.default", "aten.hardtanh.default"}) {
    Net n = conv_relu_net(act);
    const Prepared p = prepare_pt2e(n.g, a8w8());
    const auto* conv = ann(p, "aten.conv2d.default");
    ASSERT_NE(conv, nullptr);
    EXPECT_FALSE(conv->output_qspec.has_value()) << act;  // observed after the activation
    EXPECT_TRUE(ann(p, act)->output_qspec.has_value());
    EXPECT_TRUE(std::holds_alternative<DerivedQuantizationSpec>(conv->input_qspec_map.at(2)));
    const auto& bias = std::get<DerivedQuantizationSpec>(conv->input_qspec_map.at(2));
    EXPECT_EQ(bias.quant_min, -2147483647);
    EXPECT_EQ(bias.qscheme, QuantizationScheme::per_channel_symmetric);
  }
}

TEST(EthosUAnnotate, A16W8DoesNotFuseAndTheActivationShares) {
  Net n = conv_relu_net();
  const Prepared p = prepare_pt2e(n.g, a16w8());
  ASSERT_TRUE(ann(p, "aten.conv2d.default")->output_qspec.has_value());
  const auto* relu = ann(p, "aten.relu.default");
  ASSERT_NE(relu, nullptr);
  EXPECT_TRUE(std::holds_alternative<SharedQuantizationSpec>(*relu->output_qspec));
  // conv output and relu input/output: one group (the pre-activation range).
  const int conv = 0, relu_i = 1;
  EXPECT_EQ(p.group_of(EdgeOrNode::output(conv)), p.group_of(EdgeOrNode::output(relu_i)));
}

TEST(EthosUAnnotate, HardtanhWithNegativeMinDoesNotFuse) {
  Net n;
  const int c = n.conv2d(n.input({kBatch, 2, 6, 6}), 4, 3);
  n.output(n.op("aten.hardtanh.default", {c}, ia({{"min_val", -2.0}, {"max_val", 2.0}})));
  const Prepared p = prepare_pt2e(n.g, a8w8());
  EXPECT_TRUE(ann(p, "aten.conv2d.default")->output_qspec.has_value());
  EXPECT_EQ(p.group_of(EdgeOrNode::output(0)), p.group_of(EdgeOrNode::output(1)));
}

TEST(EthosUAnnotate, GraphInputAndOutputAreQuantized) {
  Net n;  // input → reshape (shares) → exp; the graph output is exp's
  const int r = n.op("aten.reshape.default", {n.input({kBatch, 2, 3})}, ia({{"shape", std::vector<int64_t>{kBatchToken, 6}}}));
  n.output(n.op("aten.exp.default", {r}));
  const Prepared p = prepare_pt2e(n.g, a8w8());
  EXPECT_GE(p.group_of(EdgeOrNode::edge(0, 0)), 0);  // the reshape's input: the graph input's observer
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(0, 0)), p.group_of(EdgeOrNode::output(0)));
  EXPECT_GE(p.group_of(EdgeOrNode::output(1)), 0);
  EthosUQuantizer q = a8w8();
  q.set_io(std::nullopt);  // the reshape then has no quantized neighbour on its input side...
  const Prepared f = prepare_pt2e(n.g, q);
  // ...but exp's input edge still is one: the cluster takes that spec.
  EXPECT_GE(f.group_of(EdgeOrNode::edge(0, 0)), 0);
  EXPECT_EQ(f.group_of(EdgeOrNode::edge(0, 0)), f.group_of(EdgeOrNode::edge(1, 0)));
}

TEST(EthosUAnnotate, ModuleNameNoneLeavesItFloat) {
  Net n;
  const int c = n.conv2d(n.input({kBatch, 2, 6, 6}), 4, 3, 1, 0, 1, "/body/conv/Conv");
  n.output(n.op("aten.sigmoid.default", {c}, {}, "/head/Sigmoid"));
  EthosUQuantizer q = a8w8();
  q.set_module_name("head", std::nullopt);
  const Prepared p = prepare_pt2e(n.g, q);
  const auto* s = ann(p, "aten.sigmoid.default");
  EXPECT_TRUE(s == nullptr || !s->annotated);
  bool reason = false;
  for (const SkipReason& r : p.skipped()) reason |= r.node == 1;
  EXPECT_TRUE(reason);
  EXPECT_TRUE(ann(p, "aten.conv2d.default")->annotated);
}

// ---- int16 QDQ: executor, ONNX ----

TEST(EthosUInt16, A16W8QdqGraphRunsAndRoundTripsThroughOnnx) {
  Net n;
  const int x = n.input({kBatch, 2, 6, 6});
  const int c = n.conv2d(x, 4, 3, 1, 1);
  const int r = n.op("aten.relu.default", {c});
  const int m = n.op("aten.mean.dim", {r}, ia({{"dim", std::vector<int64_t>{2, 3}}, {"keepdim", int64_t{0}}}));
  n.output(n.op("aten.softmax.int", {m}, ia({{"dim", int64_t{1}}})));
  const Graph q = a16w8().quantize_with_submodules(n.g, calib(n.g, 3));
  int q16 = 0;
  for (const Node& nd : q.nodes)
    if (nd.op.rfind("quantized_decomposed.quantize", 0) == 0) q16 += q.value(nd.outputs[0]).dtype == DType::i16;
  EXPECT_GT(q16, 5);
  const Tensor in = random_input({4, 2, 6, 6}, 99);
  Executor fq(q), fp(n.g);
  const Tensor yq = fq.run({in})[0], yf = fp.run({in})[0];
  // eps 2^-12 floors every activation scale at 2^-12 (so does ExecuTorch's config): close to float,
  // not exact. The goldens' a16w8 models land within 0.002-0.115 of float.
  EXPECT_LT(max_abs_diff(yq, yf), 0.1f);
  const std::string bytes = onnx::save_to_bytes(q);
  const Graph back = onnx::load_from_bytes(bytes.data(), bytes.size(), "a16w8");
  EXPECT_EQ(back.opset, 21);
  Executor rb(back);
  EXPECT_LE(max_abs_diff(rb.run({in})[0], yq), 1e-6f);
}

TEST(EthosUQuantize, WithSubmodulesNeedsSamples) {
  Net n = conv_relu_net();
  EXPECT_THROW(a8w8().quantize_with_submodules(n.g, {}), Error);
}

// ---- JSON config ----

TEST(EthosUJson, ConfigKeysAndErrors) {
  Net n = conv_relu_net();
  const auto q = make_ethos_u_quantizer_from_json("ethos-u85-256", nlohmann::json::parse(R"({"global": {"a16w8": true}})"));
  const Prepared p = prepare_pt2e(n.g, *q);
  const auto& spec = std::get<QuantizationSpec>(ann(p, "aten.conv2d.default")->input_qspec_map.at(0));
  EXPECT_EQ(spec.dtype, DType::i16);
  try {
    make_ethos_u_quantizer_from_json("ethos-u55-128", nlohmann::json::parse(R"({"global": {"a16w8": true, "bits": 4}})"));
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bits'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_ethos_u_quantizer_from_json("ethos-u99-1", nlohmann::json::object()), Error);
}

// ---- partitioner ----

PartitionResult partition_float(const Graph& g, const std::string& target, bool int16 = false) {
  const EthosUQuantizer q = int16 ? a16w8(target) : a8w8(target);
  const Graph qdq = q.quantize_with_submodules(g, calib(g));
  return EthosUPartitioner(EthosUCompileSpec(target)).partition(qdq);
}

TEST(EthosUPartitioner, QuantizedCnnIsOnePartition) {
  Net n;
  const int c = n.conv2d(n.input({kBatch, 2, 8, 8}), 4, 3, 1, 1);
  const int r = n.op("aten.relu.default", {c});
  const int p = n.op("aten.max_pool2d.default", {r}, ia({{"kernel_size", std::vector<int64_t>{2, 2}}, {"stride", std::vector<int64_t>{2, 2}}}));
  n.output(n.op("aten.sigmoid.default", {p}));
  for (const std::string& t : {std::string("ethos-u55-128"), std::string("ethos-u85-256")}) {
    const PartitionResult res = partition_float(n.g, t);
    EXPECT_EQ(res.partitions.size(), 1u) << t;
    EXPECT_EQ(res.delegated_nodes(), res.compute_nodes()) << t;
  }
}

TEST(EthosUPartitioner, FloatNodesStayOnTheCpuWithTheReason) {
  // A node the quantizer left float between quantized neighbours still sits between Q/DQ pairs
  // (as in torch), so the partitioner sees it quantized; a float input is what keeps it off.
  Net n;
  const int e = n.op("aten.exp.default", {n.input({kBatch, 2, 8, 8})}, {}, "/pre/Exp");
  n.output(n.conv2d(e, 4, 3, 1, 1, 1, "/body/Conv"));
  EthosUQuantizer q = a8w8();
  q.set_module_name("pre", std::nullopt).set_io(std::nullopt);
  const Graph qdq = q.quantize_with_submodules(n.g, calib(n.g));
  const PartitionResult r = EthosUPartitioner(EthosUCompileSpec("ethos-u55-128")).partition(qdq);
  int cpu = 0;
  for (const NodeDecision& d : r.decisions)
    if (!d.delegated) {
      ++cpu;
      EXPECT_EQ(qdq.nodes[static_cast<size_t>(d.node)].op, "aten.exp.default");
      EXPECT_NE(d.reason.find("not quantized: input 0"), std::string::npos) << d.reason;
    }
  EXPECT_EQ(cpu, 1);
  EXPECT_EQ(r.partitions.size(), 1u);
}

TEST(EthosUPartitioner, U55ConvStrideAndKernelLimits) {
  Net n;  // stride 4 with padding: not on U55 (stride > 3 needs no padding), fine on U85
  n.output(n.conv2d(n.input({kBatch, 2, 16, 16}), 4, 5, 4, 2));
  const PartitionResult u55 = partition_float(n.g, "ethos-u55-128");
  ASSERT_EQ(u55.delegated_nodes(), 0);
  EXPECT_NE(u55.decisions[0].reason.find("stride 4 > 3 needs no padding"), std::string::npos) << u55.decisions[0].reason;
  EXPECT_EQ(partition_float(n.g, "ethos-u85-256").delegated_nodes(), 1);
  Net k;  // stride 4 without padding: fine
  k.output(k.conv2d(k.input({kBatch, 2, 16, 16}), 4, 4, 4, 0));
  EXPECT_EQ(partition_float(k.g, "ethos-u65-256").delegated_nodes(), 1);
}

TEST(EthosUPartitioner, U55PoolStrideLimit) {
  Net n;
  const int x = n.input({kBatch, 2, 16, 16});
  const int e = n.op("aten.exp.default", {x});
  n.output(n.op("aten.max_pool2d.default", {e}, ia({{"kernel_size", std::vector<int64_t>{4, 4}}, {"stride", std::vector<int64_t>{4, 4}}})));
  const PartitionResult r = partition_float(n.g, "ethos-u55-64");
  bool found = false;
  for (const NodeDecision& d : r.decisions) found |= d.reason.find("pooling needs stride <= 3") != std::string::npos;
  EXPECT_TRUE(found);
  EXPECT_EQ(partition_float(n.g, "ethos-u85-512").delegated_nodes(), 2);
}

TEST(EthosUPartitioner, U55MatmulTakesInt8Only) {
  Net n;
  const int a = n.input({kBatch, 4, 8});
  const int b = n.op("aten.permute.default", {n.op("aten.exp.default", {a})}, ia({{"dims", std::vector<int64_t>{0, 2, 1}}}));
  n.output(n.op("aten.matmul.default", {a, b}));
  auto reason_for_matmul = [](const PartitionResult& r, const Graph&) {
    for (const NodeDecision& d : r.decisions)
      if (d.reason.find("matmul") != std::string::npos) return d.reason;
    return std::string();
  };
  EXPECT_EQ(reason_for_matmul(partition_float(n.g, "ethos-u55-128", false), n.g), "");
  EXPECT_NE(reason_for_matmul(partition_float(n.g, "ethos-u55-128", true), n.g).find("int8 only"), std::string::npos);
  EXPECT_EQ(reason_for_matmul(partition_float(n.g, "ethos-u85-128", true), n.g), "");
}

TEST(EthosUPartitioner, PartitionOfOnlyReshapesIsRejected) {
  Net n;  // max_pool2d stride 4: quantized but not on U55, which leaves the reshape alone
  const int p = n.op("aten.max_pool2d.default", {n.input({kBatch, 2, 8, 8})},
                     ia({{"kernel_size", std::vector<int64_t>{4, 4}}, {"stride", std::vector<int64_t>{4, 4}}}));
  n.output(n.op("aten.reshape.default", {p}, ia({{"shape", std::vector<int64_t>{kBatchToken, 8}}})));
  const PartitionResult res = partition_float(n.g, "ethos-u55-128");
  EXPECT_EQ(res.delegated_nodes(), 0);
  EXPECT_TRUE(res.partitions.empty());
  ASSERT_EQ(res.decisions.size(), 2u);
  EXPECT_NE(res.decisions[1].reason.find("partition-level"), std::string::npos) << res.decisions[1].reason;
  EXPECT_EQ(partition_float(n.g, "ethos-u85-128").delegated_nodes(), 2);  // with the pool it computes
}

}  // namespace
}  // namespace eq
