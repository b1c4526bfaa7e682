// eq::XNNPACKQuantizer on small hand-built graphs: ExecuTorch's config, relu-only fusion,
// propagate_annotation, cat's qparam source, the dynamic rules, set_* precedence and the JSON
// config object.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "edgequant/xnnpack.h"
#include "op_test_util.h"

namespace eq {
namespace {

using optest::random_tensor;
using xnnpack::get_symmetric_quantization_config;

// Builds graphs node by node, with the conv / pool attributes the importer writes.
struct Builder {
  Graph g;
  uint32_t seed = 1;
  Builder() { register_builtin_op_schemas(); }
  int input(Shape s) {
    const int x = g.add_value("x" + std::to_string(g.inputs.size()), DType::f32, std::move(s));
    g.inputs.push_back(x);
    return x;
  }
  int out(int node) const { return g.nodes[static_cast<size_t>(node)].outputs[0]; }
  int conv(const std::string& name, int x, int64_t cin, int64_t cout, int64_t groups = 1, bool bias = true) {
    const int w = g.add_constant(name + ".weight", random_tensor({cout, cin / groups, 3, 3}, seed++));
    std::vector<int> in = {x, w};
    if (bias) in.push_back(g.add_constant(name + ".bias", random_tensor({cout}, seed++)));
    Attrs a;
    a.set("stride", std::vector<int64_t>{1, 1});
    a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
    a.set("dilation", std::vector<int64_t>{1, 1});
    a.set("groups", groups);
    return g.add_node("aten.conv2d.default", name, in, 1, a);
  }
  int linear(const std::string& name, int x, int64_t in_f, int64_t out_f) {
    const int w = g.add_constant(name + ".weight", random_tensor({out_f, in_f}, seed++));
    const int b = g.add_constant(name + ".bias", random_tensor({out_f}, seed++));
    return g.add_node("aten.linear.default", name, {x, w, b}, 1);
  }
  int unary(const std::string& op, const std::string& name, int x, Attrs a = {}) {
    return g.add_node(op, name, {x}, 1, std::move(a));
  }
  int relu(const std::string& name, int x) { return unary("aten.relu.default", name, x); }
  int relu6(const std::string& name, int x) {
    Attrs a;
    a.set("min_val", 0.0);
    a.set("max_val", 6.0);
    return unary("aten.hardtanh.default", name, x, a);
  }
  int max_pool(const std::string& name, int x) {
    Attrs a;
    a.set("kernel_size", std::vector<int64_t>{2, 2});
    a.set("stride", std::vector<int64_t>{2, 2});
    a.set("padding", std::vector<int64_t>{0, 0, 0, 0});
    a.set("dilation", std::vector<int64_t>{1, 1});
    a.set("ceil_mode", int64_t{0});
    return unary("aten.max_pool2d.default", name, x, a);
  }
  int flatten(const std::string& name, int x) {
    Attrs a;
    a.set("start_dim", int64_t{1});
    a.set("end_dim", int64_t{-1});
    return unary("aten.flatten.using_ints", name, x, a);
  }
  int binary(const std::string& op, const std::string& name, int a, int b) { return g.add_node(op, name, {a, b}, 1); }
  void finish(std::vector<int> outputs) {
    g.outputs = std::move(outputs);
    infer_graph(g);
  }
};

struct Result {
  Annotations a;
  std::vector<SkipReason> skipped;
  const QuantizationAnnotation* at(int node) const {
    auto it = a.find(node);
    return it == a.end() ? nullptr : &it->second;
  }
  std::string reason(int node) const {
    for (const SkipReason& s : skipped)
      if (s.node == node) return s.reason;
    return "";
  }
};

Result annotate(const Graph& g, const XNNPACKQuantizer& q) {
  Result r;
  q.annotate(g, r.a, r.skipped);
  return r;
}

const QuantizationSpec& plain(const QuantizationSpecBase& s) {
  const auto* p = std::get_if<QuantizationSpec>(&s);
  if (!p) throw Error("not a plain QuantizationSpec");
  return *p;
}

bool shares_with(const std::optional<QuantizationSpecBase>& s, EdgeOrNode pos) {
  if (!s) return false;
  const auto* sh = std::get_if<SharedQuantizationSpec>(&*s);
  return sh && sh->edge_or_node == pos;
}

XNNPACKQuantizer static_quantizer(bool per_channel = true) {
  XNNPACKQuantizer q;
  q.set_global(get_symmetric_quantization_config(per_channel));
  return q;
}

TEST(XnnpackConfig, StaticPerChannelAndPerTensor) {
  for (bool pc : {true, false}) {
    const QuantizationConfig c = get_symmetric_quantization_config(pc);
    ASSERT_TRUE(c.input_activation && c.output_activation && c.weight);
    EXPECT_EQ(*c.input_activation, *c.output_activation);
    const QuantizationSpec& a = *c.input_activation;
    EXPECT_EQ(a.dtype, DType::i8);
    EXPECT_EQ(a.quant_min, -128);
    EXPECT_EQ(a.quant_max, 127);
    EXPECT_EQ(a.qscheme, QuantizationScheme::per_tensor_affine);
    EXPECT_EQ(a.observer.kind, ObserverKind::histogram);
    EXPECT_EQ(a.eps, 1.0f / 4096.0f);
    EXPECT_FALSE(a.is_dynamic);
    const QuantizationSpec& w = *c.weight;
    EXPECT_EQ(w.quant_min, -127);
    EXPECT_EQ(w.quant_max, 127);
    EXPECT_EQ(w.ch_axis, 0);
    EXPECT_EQ(w.eps, 1.0f / 4096.0f);
    EXPECT_EQ(w.qscheme, pc ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_symmetric);
    EXPECT_EQ(w.observer.kind, pc ? ObserverKind::per_channel_minmax : ObserverKind::minmax);
    EXPECT_FALSE(c.bias) << "ExecuTorch's bias_quantization_spec is None";
    EXPECT_FALSE(c.is_qat);
  }
}

TEST(XnnpackConfig, DynamicQatAndCustomRanges) {
  const QuantizationConfig d = get_symmetric_quantization_config(true, false, true);
  ASSERT_TRUE(d.input_activation);
  EXPECT_TRUE(d.input_activation->is_dynamic);
  EXPECT_EQ(d.input_activation->observer.kind, ObserverKind::placeholder);
  EXPECT_FALSE(d.output_activation.has_value());

  const QuantizationConfig q = get_symmetric_quantization_config(true, true);
  EXPECT_TRUE(q.is_qat);
  EXPECT_EQ(q.input_activation->observer.kind, ObserverKind::moving_average_minmax);
  EXPECT_FLOAT_EQ(q.input_activation->observer.averaging_constant, 0.01f);
  EXPECT_EQ(q.weight->observer.kind, ObserverKind::moving_average_per_channel_minmax);
  EXPECT_EQ(get_symmetric_quantization_config(false, true).weight->observer.kind, ObserverKind::moving_average_minmax);
  const QuantizationConfig qd = get_symmetric_quantization_config(false, true, true);
  EXPECT_TRUE(qd.input_activation->is_dynamic);
  EXPECT_FLOAT_EQ(qd.input_activation->observer.averaging_constant, 1.0f);

  const QuantizationConfig r = get_symmetric_quantization_config(false, false, false, -100, 100, -63, 63);
  EXPECT_EQ(r.input_activation->quant_min, -100);
  EXPECT_EQ(r.output_activation->quant_max, 100);
  EXPECT_EQ(r.weight->quant_min, -63);
  EXPECT_EQ(r.weight->quant_max, 63);
}

// x → conv → relu → max_pool → flatten → linear → y: relu fuses into the conv, the pool and the
// flatten share the relu's observer, the graph input is not annotated, the bias stays float.
TEST(XnnpackQuantizer, ReluFusesAndPropagationSharesThroughPoolAndFlatten) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int conv = b.conv("/conv/Conv", x, 2, 4);
  const int relu = b.relu("/relu/Relu", b.out(conv));
  const int pool = b.max_pool("/pool/MaxPool", b.out(relu));
  const int flat = b.flatten("/Flatten", b.out(pool));
  const int fc = b.linear("/fc/Gemm", b.out(flat), 36, 3);
  b.finish({b.out(fc)});
  const Result r = annotate(b.g, static_quantizer());

  ASSERT_NE(r.at(conv), nullptr);
  EXPECT_FALSE(r.at(conv)->output_qspec.has_value()) << "conv+relu: no observer in between";
  EXPECT_EQ(plain(r.at(conv)->input_qspec_map.at(0)).observer.kind, ObserverKind::histogram);
  EXPECT_EQ(plain(r.at(conv)->input_qspec_map.at(1)).qscheme, QuantizationScheme::per_channel_symmetric);
  EXPECT_EQ(r.at(conv)->input_qspec_map.count(2), 0u) << "the bias edge stays float";
  ASSERT_NE(r.at(relu), nullptr);
  EXPECT_EQ(plain(*r.at(relu)->output_qspec).observer.kind, ObserverKind::histogram);
  ASSERT_NE(r.at(pool), nullptr);
  EXPECT_TRUE(shares_with(r.at(pool)->input_qspec_map.at(0), EdgeOrNode::output(relu)));
  EXPECT_TRUE(shares_with(r.at(pool)->output_qspec, EdgeOrNode::output(relu)));
  ASSERT_NE(r.at(flat), nullptr);
  EXPECT_TRUE(shares_with(r.at(flat)->output_qspec, EdgeOrNode::output(pool)));
  ASSERT_NE(r.at(fc), nullptr);
  EXPECT_TRUE(r.at(fc)->output_qspec.has_value());
  EXPECT_EQ(r.a.size(), 5u);
  EXPECT_TRUE(r.skipped.empty());

  // And the whole flow: one observer from the relu to the linear's input.
  Prepared p = prepare_pt2e(b.g, static_quantizer());
  const int g_relu = p.group_of(EdgeOrNode::output(relu));
  ASSERT_GE(g_relu, 0);
  EXPECT_EQ(p.group_of(EdgeOrNode::output(pool)), g_relu);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(fc, 0)), g_relu);
  EXPECT_EQ(p.group_of(EdgeOrNode::edge(fc, 2)), -1);
}

// relu6 (hardtanh 0..6) does not fuse: the conv output is observed and the hardtanh shares it.
// A relu after a conv with two users does not fuse either.
TEST(XnnpackQuantizer, OnlyReluFusesAndOnlyIntoASoleUser) {
  Builder b;
  const int x = b.input({kBatch, 2, 6, 6});
  const int c1 = b.conv("/c1/Conv", x, 2, 4);
  const int r6 = b.relu6("/r6/Clip", b.out(c1));
  const int c2 = b.conv("/c2/Conv", b.out(r6), 4, 4);
  const int relu = b.relu("/relu/Relu", b.out(c2));
  const int add = b.binary("aten.add.Tensor", "/Add", b.out(c2), b.out(relu));
  b.finish({b.out(add)});
  const Result r = annotate(b.g, static_quantizer());
  EXPECT_TRUE(r.at(c1)->output_qspec.has_value());
  EXPECT_TRUE(shares_with(r.at(r6)->output_qspec, EdgeOrNode::output(c1)));
  EXPECT_TRUE(r.at(c2)->output_qspec.has_value()) << "two users: no fusion";
  EXPECT_TRUE(shares_with(r.at(relu)->output_qspec, EdgeOrNode::output(c2))) << "propagated, not fused";
  EXPECT_TRUE(r.at(add)->output_qspec.has_value());
}

// add + relu and mul + relu fuse; a share-only op after an unannotated op stays float.
TEST(XnnpackQuantizer, BinaryReluFusionAndNoPropagationFromFloat) {
  Builder b;
  const int x = b.input({kBatch, 4});
  const int y = b.input({kBatch, 4});
  const int add = b.binary("aten.add.Tensor", "/Add", x, y);
  const int relu = b.relu("/r1/Relu", b.out(add));
  const int mul = b.binary("aten.mul.Tensor", "/Mul", b.out(relu), y);
  const int relu2 = b.relu("/r2/Relu", b.out(mul));
  const int sig = b.unary("aten.sigmoid.default", "/Sigmoid", b.out(relu2));
  const int relu3 = b.relu("/r3/Relu", b.out(sig));
  b.finish({b.out(relu3)});
  const Result r = annotate(b.g, static_quantizer());
  EXPECT_FALSE(r.at(add)->output_qspec.has_value());
  EXPECT_EQ(r.at(add)->input_qspec_map.size(), 2u);
  EXPECT_TRUE(r.at(relu)->output_qspec.has_value());
  EXPECT_FALSE(r.at(mul)->output_qspec.has_value());
  EXPECT_TRUE(r.at(relu2)->output_qspec.has_value());
  EXPECT_EQ(r.at(sig), nullptr);
  EXPECT_EQ(r.at(relu3), nullptr) << "its input (sigmoid) has no output spec";
  EXPECT_NE(r.reason(sig).find("no pattern for aten.sigmoid"), std::string::npos) << r.reason(sig);
}

// cat takes its qparams from the first input that comes from an annotated node, through
// share-only ops; the graph input before it shares that edge's observer.
TEST(XnnpackQuantizer, CatSharesTheAnnotatedInputsObserver) {
  Builder b;
  const int x = b.input({kBatch, 2, 4, 4});
  const int conv = b.conv("/conv/Conv", x, 2, 2);
  const int r6 = b.relu6("/r6/Clip", b.out(conv));
  const int cat = b.g.add_node("aten.cat.default", "/Concat", {x, b.out(r6)}, 1, [] {
    Attrs a;
    a.set("dim", int64_t{1});
    return a;
  }());
  b.finish({b.out(cat)});
  const Result r = annotate(b.g, static_quantizer());
  ASSERT_NE(r.at(cat), nullptr);
  EXPECT_EQ(plain(r.at(cat)->input_qspec_map.at(1)).observer.kind, ObserverKind::histogram);
  EXPECT_TRUE(shares_with(r.at(cat)->input_qspec_map.at(0), EdgeOrNode::edge(cat, 1)));
  EXPECT_TRUE(shares_with(r.at(cat)->output_qspec, EdgeOrNode::edge(cat, 1)));
}

// Dynamic: linear and conv2d only; no depthwise (nor 1-input-channel) conv, no conv+relu; the
// input edge is a dynamic placeholder, no outputs are observed, so nothing propagates.
TEST(XnnpackQuantizer, DynamicAnnotatesLinearAndPlainConv2dOnly) {
  Builder b;
  const int x = b.input({kBatch, 1, 6, 6});
  const int stem = b.conv("/stem/Conv", x, 1, 4);                  // 1 input channel: skipped
  const int full = b.conv("/full/Conv", b.out(stem), 4, 4);        // annotated
  const int dw = b.conv("/dw/Conv", b.out(full), 4, 4, /*groups=*/4);  // depthwise: skipped
  const int cr = b.conv("/cr/Conv", b.out(dw), 4, 4);              // + relu: skipped
  const int relu = b.relu("/relu/Relu", b.out(cr));
  const int flat = b.flatten("/Flatten", b.out(relu));
  const int fc = b.linear("/fc/Gemm", b.out(flat), 144, 3);
  const int relu2 = b.relu("/relu2/Relu", b.out(fc));
  const int add = b.binary("aten.add.Tensor", "/Add", b.out(relu2), b.out(relu2));
  b.finish({b.out(add)});
  XNNPACKQuantizer q;
  q.set_global(get_symmetric_quantization_config(true, false, true));
  const Result r = annotate(b.g, q);
  EXPECT_EQ(r.at(stem), nullptr);
  EXPECT_NE(r.reason(stem).find("depthwise"), std::string::npos) << r.reason(stem);
  EXPECT_EQ(r.at(dw), nullptr);
  EXPECT_EQ(r.at(cr), nullptr);
  EXPECT_NE(r.reason(cr).find("relu"), std::string::npos) << r.reason(cr);
  EXPECT_EQ(r.at(relu), nullptr);
  EXPECT_EQ(r.at(add), nullptr);
  EXPECT_NE(r.reason(add).find("dynamic"), std::string::npos) << r.reason(add);
  for (int n : {full, fc}) {
    ASSERT_NE(r.at(n), nullptr) << n;
    const QuantizationSpec& in = plain(r.at(n)->input_qspec_map.at(0));
    EXPECT_TRUE(in.is_dynamic);
    EXPECT_EQ(in.observer.kind, ObserverKind::placeholder);
    EXPECT_EQ(plain(r.at(n)->input_qspec_map.at(1)).qscheme, QuantizationScheme::per_channel_symmetric);
    EXPECT_FALSE(r.at(n)->output_qspec.has_value());
  }
  EXPECT_EQ(r.at(relu2), nullptr) << "linear + relu: the linear alone, no output to share";
  EXPECT_EQ(r.a.size(), 2u);
}

// x → features.conv → features.relu → flatten → fc (Linear) → head.fc (Linear)
struct TwoLinears {
  Builder b;
  int conv, relu, flat, fc, head;
  TwoLinears() {
    const int x = b.input({kBatch, 2, 4, 4});
    conv = b.conv("/features/conv/Conv", x, 2, 2);
    relu = b.relu("/features/relu/Relu", b.out(conv));
    flat = b.flatten("/Flatten", b.out(relu));
    fc = b.linear("/fc/Gemm", b.out(flat), 32, 8);
    head = b.linear("/head/fc/Gemm", b.out(fc), 8, 3);
    b.finish({b.out(head)});
  }
  static QuantizationScheme weight_scheme(const Result& r, int node) {
    return plain(r.at(node)->input_qspec_map.at(1)).qscheme;
  }
};

TEST(XnnpackQuantizer, PrecedenceModuleNameOverModuleTypeOverOperatorOverGlobal) {
  TwoLinears t;
  const auto pt = get_symmetric_quantization_config(false);
  const auto pc = get_symmetric_quantization_config(true);
  {  // operator beats global
    XNNPACKQuantizer q;
    q.set_global(pt).set_operator_type("aten.linear.default", pc);
    const Result r = annotate(t.b.g, q);
    EXPECT_EQ(TwoLinears::weight_scheme(r, t.conv), QuantizationScheme::per_tensor_symmetric);
    EXPECT_EQ(TwoLinears::weight_scheme(r, t.fc), QuantizationScheme::per_channel_symmetric);
    EXPECT_EQ(TwoLinears::weight_scheme(r, t.head), QuantizationScheme::per_channel_symmetric);
  }
  {  // module type beats operator: Linear left float; module name beats module type
    XNNPACKQuantizer q;
    q.set_global(pt).set_operator_type("aten.linear", pc).set_module_type("torch.nn.Linear", std::nullopt);
    q.set_module_name("head", pc);
    const Result r = annotate(t.b.g, q);
    EXPECT_EQ(r.at(t.fc), nullptr);
    EXPECT_NE(r.reason(t.fc).find("module type 'Linear'"), std::string::npos) << r.reason(t.fc);
    ASSERT_NE(r.at(t.head), nullptr);
    EXPECT_EQ(TwoLinears::weight_scheme(r, t.head), QuantizationScheme::per_channel_symmetric);
    EXPECT_EQ(TwoLinears::weight_scheme(r, t.conv), QuantizationScheme::per_tensor_symmetric);
  }
  {  // module name nullopt: those nodes stay float, even for propagation
    XNNPACKQuantizer q;
    q.set_global(pc).set_module_name("features.relu", std::nullopt);
    const Result r = annotate(t.b.g, q);
    // ExecuTorch's conv pattern leaves a conv whose only user is a relu to conv+relu, which
    // needs the relu in the same pass: the conv stays float too.
    EXPECT_EQ(r.at(t.conv), nullptr);
    EXPECT_NE(r.reason(t.conv).find("relu is outside"), std::string::npos) << r.reason(t.conv);
    EXPECT_EQ(r.at(t.relu), nullptr);
    EXPECT_NE(r.reason(t.relu).find("module name 'features.relu'"), std::string::npos) << r.reason(t.relu);
    EXPECT_EQ(r.at(t.flat), nullptr) << "its input (the float relu) has no output spec";
  }
  {  // operator nullopt keeps that op float (ExecuTorch ignores None there; see README)
    XNNPACKQuantizer q;
    q.set_global(pc).set_operator_type("aten.linear.default", std::nullopt);
    const Result r = annotate(t.b.g, q);
    EXPECT_EQ(r.at(t.fc), nullptr);
    EXPECT_EQ(r.at(t.head), nullptr);
    EXPECT_NE(r.reason(t.head).find("operator 'aten.linear.default'"), std::string::npos) << r.reason(t.head);
    EXPECT_NE(r.at(t.conv), nullptr);
    EXPECT_NE(r.at(t.flat), nullptr);
    EXPECT_EQ(r.reason(t.conv), "");
  }
  {  // no global config: only the override's nodes
    XNNPACKQuantizer q;
    q.set_module_name("fc", pc);
    const Result r = annotate(t.b.g, q);
    EXPECT_NE(r.at(t.fc), nullptr);
    EXPECT_EQ(r.at(t.conv), nullptr);
    EXPECT_EQ(r.at(t.head), nullptr);
  }
}

// A mixed configuration: dynamic for the linears, static elsewhere (ExecuTorch's usual recipe).
TEST(XnnpackQuantizer, DynamicOperatorOverrideWithStaticGlobal) {
  TwoLinears t;
  XNNPACKQuantizer q;
  q.set_global(get_symmetric_quantization_config(true));
  q.set_operator_type("aten.linear.default", get_symmetric_quantization_config(true, false, true));
  const Result r = annotate(t.b.g, q);
  EXPECT_TRUE(plain(r.at(t.fc)->input_qspec_map.at(0)).is_dynamic);
  EXPECT_FALSE(r.at(t.fc)->output_qspec.has_value());
  EXPECT_FALSE(plain(r.at(t.conv)->input_qspec_map.at(0)).is_dynamic);
  EXPECT_TRUE(r.at(t.relu)->output_qspec.has_value());
}

TEST(XnnpackQuantizer, ConfigFromJson) {
  const QuantizationConfig c = xnnpack_config_from_json(nlohmann::json{{"is_per_channel", true}, {"act_qmin", -127}});
  EXPECT_EQ(c.weight->qscheme, QuantizationScheme::per_channel_symmetric);
  EXPECT_EQ(c.input_activation->quant_min, -127);
  EXPECT_EQ(xnnpack_config_from_json(nlohmann::json::object()).weight->qscheme,
            QuantizationScheme::per_tensor_symmetric);
  EXPECT_TRUE(xnnpack_config_from_json(nlohmann::json{{"is_dynamic", true}}).input_activation->is_dynamic);
  try {
    xnnpack_config_from_json(nlohmann::json{{"per_channel", true}});
    FAIL() << "unknown key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'per_channel'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(xnnpack_config_from_json(nlohmann::json{{"is_qat", 1}}), Error);
  EXPECT_THROW(xnnpack_config_from_json(nlohmann::json{{"act_qmax", 300}}), Error);
  EXPECT_THROW(xnnpack_config_from_json(nlohmann::json::array()), Error);
}

// The CLI's envelope (edgequant/backends.h) around those config objects.
TEST(XnnpackQuantizer, FromJsonEnvelope) {
  TwoLinears t;
  const auto q = make_xnnpack_quantizer_from_json(nlohmann::json::parse(R"({
      "global": {"is_per_channel": true},
      "module_name": {"head": null},
      "operator_type": {"aten.linear.default": {"is_dynamic": true}}})"));
  const Result r = annotate(t.b.g, dynamic_cast<const XNNPACKQuantizer&>(*q));
  EXPECT_EQ(TwoLinears::weight_scheme(r, t.conv), QuantizationScheme::per_channel_symmetric);
  EXPECT_TRUE(plain(r.at(t.fc)->input_qspec_map.at(0)).is_dynamic);
  EXPECT_EQ(r.at(t.head), nullptr);

  // No "global": ExecuTorch's default config (per tensor); "global": null: nothing.
  const auto d = make_xnnpack_quantizer_from_json(nlohmann::json::object());
  EXPECT_EQ(TwoLinears::weight_scheme(annotate(t.b.g, dynamic_cast<const XNNPACKQuantizer&>(*d)), t.fc),
            QuantizationScheme::per_tensor_symmetric);
  const auto none = make_xnnpack_quantizer_from_json(nlohmann::json{{"global", nullptr}});
  EXPECT_TRUE(annotate(t.b.g, dynamic_cast<const XNNPACKQuantizer&>(*none)).a.empty());

  try {
    make_xnnpack_quantizer_from_json(nlohmann::json::parse(R"({"module_type": {"Linear": {"bits": 4}}})"));
    FAIL() << "unknown key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bits'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_xnnpack_quantizer_from_json(nlohmann::json{{"glob", nlohmann::json::object()}}), Error);
}

}  // namespace
}  // namespace eq
