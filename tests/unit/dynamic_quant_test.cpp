// Dynamic activation quantization end to end (XNNPACK's dynamic config): prepare_pt2e with a
// dynamic QuantizationSpec (no observer), convert_pt2e's choose_qparams → quantize → dequantize,
// the choose_qparams kernel against torch (fixtures/quant/dynamic/, made by
// tools/fixtures/make_dynamic_quant_goldens.py), the converted MLP against torchao's converted
// model, lower_to_integer's quantized.linear_dynamic / conv2d_dynamic against the fake-quant graph,
// and the QDQ ONNX round trip with com.edgequant ChooseQParams.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

constexpr const char* kChoose = "quantized_decomposed.choose_qparams.tensor";
constexpr float kXnnEps = 1.0f / 4096.0f;  // get_symmetric_quantization_config's eps 2^-12

nlohmann::json read_json(const std::string& rel) {
  std::ifstream f(std::string(EQ_FIXTURES_DIR) + "/" + rel);
  EXPECT_TRUE(f.good()) << rel;
  return nlohmann::json::parse(f);
}

// XNNPACK's dynamic activation spec (torchao: int8 [-128, 127], per_tensor_affine, is_dynamic,
// PlaceholderObserver(eps=2^-12)) and its per-channel weight spec.
QuantizationSpec dynamic_act_spec() {
  QuantizationSpec s;
  s.dtype = DType::i8;
  s.quant_min = -128;
  s.quant_max = 127;
  s.qscheme = QuantizationScheme::per_tensor_affine;
  s.is_dynamic = true;
  s.eps = kXnnEps;
  s.observer = ObserverSpec{ObserverKind::placeholder};
  return s;
}
QuantizationSpec weight_spec() {
  QuantizationSpec s;
  s.dtype = DType::i8;
  s.quant_min = -127;
  s.quant_max = 127;
  s.qscheme = QuantizationScheme::per_channel_symmetric;
  s.ch_axis = 0;
  s.eps = kXnnEps;
  s.observer = ObserverSpec{ObserverKind::per_channel_minmax};
  return s;
}

// Annotates every conv/linear as XNNPACK's dynamic config does: dynamic input edge, per-channel
// weight, bias and output left float (no bias spec in the dynamic config).
class DynamicAnnotator : public Quantizer {
 public:
  std::string name() const override { return "dynamic-test"; }
  void annotate(const Graph& g, Annotations& a, std::vector<SkipReason>&) const override {
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const std::string& op = g.nodes[i].op;
      if (op != "aten.linear.default" && op != "aten.conv2d.default" && op != "aten.conv1d.default") continue;
      QuantizationAnnotation ann;
      ann.input_qspec_map[0] = dynamic_act_spec();
      ann.input_qspec_map[1] = weight_spec();
      a[static_cast<int>(i)] = ann;
    }
  }
};

int count_op(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.op == op; }));
}

std::vector<Tensor> run(const Graph& g, const std::vector<Tensor>& in) { return Executor(g).run(in); }

float max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  float m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

Tensor from_json_2d(const nlohmann::json& j) {
  std::vector<float> v;
  for (const auto& row : j)
    for (const auto& x : row) v.push_back(x.get<float>());
  return Tensor::from_vector<float>({static_cast<int64_t>(j.size()), static_cast<int64_t>(j[0].size())}, v);
}

Tensor random_f32(Shape s, uint32_t seed, float scale = 1.f, float shift = 0.f) {
  Tensor t(DType::f32, std::move(s));
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng) * scale + shift;
  return t;
}

// x → choose_qparams → (scale, zp) → quantize(x, scale, zp); outputs scale, zp, q.
Graph choose_graph(Shape shape, int64_t qmin, int64_t qmax, double eps) {
  Graph g;
  const int x = g.add_value("x", DType::f32, std::move(shape));
  g.inputs.push_back(x);
  Attrs a;
  a.set("quant_min", qmin);
  a.set("quant_max", qmax);
  a.set("eps", eps);
  a.set("dtype", std::string("i8"));
  const int c = g.add_node(kChoose, "choose", {x}, 2, a);
  const int s = g.nodes[static_cast<size_t>(c)].outputs[0], z = g.nodes[static_cast<size_t>(c)].outputs[1];
  const int q = g.add_node("quantized_decomposed.quantize_per_tensor.default", "q", {x, s, z}, 1);
  g.outputs = {s, z, g.nodes[static_cast<size_t>(q)].outputs[0]};
  infer_graph(g);
  g.validate();
  return g;
}

// ---- choose_qparams against torch ----

TEST(DynamicQuant, ChooseQParamsMatchesTorch) {
  const nlohmann::json gold = read_json("quant/dynamic/choose_qparams.json");
  ASSERT_GE(gold["cases"].size(), 10u);
  int q_mismatches = 0;
  for (const auto& c : gold["cases"]) {
    Shape shape;
    for (const auto& d : c["shape"]) shape.push_back(d.get<int64_t>());
    std::vector<float> xs;
    for (const auto& v : c["x"]) xs.push_back(v.get<float>());
    const Graph g = choose_graph(shape, c["quant_min"], c["quant_max"], c["eps"].get<double>());
    const std::vector<Tensor> out = run(g, {Tensor::from_vector<float>(shape, xs)});
    const std::string what = c["name"].get<std::string>() + " eps " + std::to_string(c["eps"].get<double>());
    // torch returns the scale as f64 holding the f32 it computed: bit-exact.
    EXPECT_EQ(out[0].data<float>()[0], c["scale"].get<float>()) << what;
    EXPECT_EQ(out[1].data<int8_t>()[0], c["zero_point"].get<int>()) << what;
    const std::vector<int>& q = c["q"].get<std::vector<int>>();
    for (size_t i = 0; i < q.size(); ++i) q_mismatches += out[2].data<int8_t>()[i] != q[i];
  }
  // torch quantizes as round(x * f32(1 / scale)), ONNX (and our kernel) as round(x / scale); they
  // can differ by one step where x / scale lies within an ulp of a .5 tie. None of these cases hits
  // one; the assertion keeps it so.
  EXPECT_EQ(q_mismatches, 0);
}

TEST(DynamicQuant, ChooseQParamsEdgeCasesAndErrors) {
  // Empty input: torch's check_min_max_valid gives scale 1, zero point 0.
  {
    const Graph g = choose_graph({0, 3}, -128, 127, kXnnEps);
    const std::vector<Tensor> out = run(g, {Tensor(DType::f32, {0, 3})});
    EXPECT_EQ(out[0].data<float>()[0], 1.0f);
    EXPECT_EQ(out[1].data<int8_t>()[0], 0);
  }
  // NaN: torch asserts (min <= max fails); we throw naming the node.
  {
    const Graph g = choose_graph({2}, -128, 127, kXnnEps);
    try {
      run(g, {Tensor::from_vector<float>({2}, {1.f, NAN})});
      ADD_FAILURE() << "no error on NaN";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("choose"), std::string::npos) << e.what();
    }
  }
  // Bad attributes are schema errors.
  EXPECT_THROW(choose_graph({2}, 5, 127, kXnnEps), Error);   // range without 0
  EXPECT_THROW(choose_graph({2}, -128, 300, kXnnEps), Error);  // outside int8
  EXPECT_THROW(choose_graph({2}, -128, 127, 0.0), Error);      // eps must be > 0
}

// ---- prepare / convert ----

Graph tiny_linear(int64_t batch = 4, int64_t in = 6, int64_t out = 3) {
  Graph g;
  const int x = g.add_value("x", DType::f32, {batch, in});
  g.inputs.push_back(x);
  const int w = g.add_constant("fc.weight", random_f32({out, in}, 1, 0.5f));
  const int b = g.add_constant("fc.bias", random_f32({out}, 2, 0.1f));
  const int n = g.add_node("aten.linear.default", "/fc/Gemm", {x, w, b}, 1);
  g.outputs.push_back(g.nodes[static_cast<size_t>(n)].outputs[0]);
  infer_graph(g);
  return g;
}

TEST(DynamicQuant, PrepareMakesDynamicGroupsWithoutObservers) {
  Prepared p = prepare_pt2e(tiny_linear(), DynamicAnnotator());
  const int gi = p.group_of(EdgeOrNode::edge(0, 0));
  ASSERT_GE(gi, 0);
  const SharingGroup& grp = p.groups()[static_cast<size_t>(gi)];
  EXPECT_TRUE(grp.dynamic);
  EXPECT_EQ(grp.observer, nullptr);
  EXPECT_TRUE(grp.observed_values.empty());
  try {
    p.group_qparams(gi);
    ADD_FAILURE() << "group_qparams of a dynamic group did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dynamic"), std::string::npos) << e.what();
  }
  // The weight group is static and observed its constant at prepare.
  const int wg = p.group_of(EdgeOrNode::edge(0, 1));
  ASSERT_GE(wg, 0);
  EXPECT_FALSE(p.groups()[static_cast<size_t>(wg)].dynamic);
  EXPECT_EQ(p.group_qparams(wg).scale.size(), 3u);
  // Nothing observes the activation: a NaN batch is not an observer error.
  Tensor bad = random_f32({4, 6}, 3);
  bad.data<float>()[5] = NAN;
  EXPECT_NO_THROW(p.run({bad}));
  // Per-channel dynamic quantization has no torch counterpart here: a clear error.
  class PerChannelDynamic : public DynamicAnnotator {
    void annotate(const Graph& g, Annotations& a, std::vector<SkipReason>& s) const override {
      DynamicAnnotator::annotate(g, a, s);
      auto& spec = std::get<QuantizationSpec>(a.begin()->second.input_qspec_map[0]);
      spec.qscheme = QuantizationScheme::per_channel_affine;
    }
  };
  EXPECT_THROW(prepare_pt2e(tiny_linear(), PerChannelDynamic()), Error);
}

TEST(DynamicQuant, ConvertEmitsTorchPatternWithoutCalibration) {
  const Prepared p = prepare_pt2e(tiny_linear(), DynamicAnnotator());
  const Graph q = convert_pt2e(p);  // no calibration batch: nothing needs one
  EXPECT_EQ(count_op(q, kChoose), 1);
  EXPECT_EQ(count_op(q, "quantized_decomposed.quantize_per_tensor.default"), 1);
  EXPECT_EQ(count_op(q, "quantized_decomposed.dequantize_per_tensor.default"), 1);
  EXPECT_EQ(count_op(q, "quantized_decomposed.dequantize_per_channel.default"), 1);  // the int8 weight
  // The chain: linear ← dq(q(x, s, z), s, z) with (s, z) = choose(x), x the graph input.
  const Node& lin = *std::find_if(q.nodes.begin(), q.nodes.end(), [](const Node& n) { return n.op == "aten.linear.default"; });
  const Node& dq = q.nodes[static_cast<size_t>(q.value(lin.inputs[0]).producer)];
  const Node& qn = q.nodes[static_cast<size_t>(q.value(dq.inputs[0]).producer)];
  const Node& ch = q.nodes[static_cast<size_t>(q.value(dq.inputs[1]).producer)];
  EXPECT_EQ(ch.op, kChoose);
  EXPECT_EQ(qn.inputs, (std::vector<int>{q.inputs[0], dq.inputs[1], dq.inputs[2]}));
  EXPECT_EQ(ch.inputs[0], q.inputs[0]);
  EXPECT_EQ(ch.attrs.i("quant_min"), -128);
  EXPECT_EQ(ch.attrs.f("eps"), static_cast<double>(kXnnEps));
  EXPECT_TRUE(q.is_constant(lin.inputs[2]));  // the bias stays float
  EXPECT_EQ(q.value(lin.inputs[2]).dtype, DType::f32);
  // Different batches get different qparams: the output follows each batch's own range.
  const Tensor a = random_f32({4, 6}, 7), b = random_f32({4, 6}, 7, 10.f);
  const Tensor fa = run(tiny_linear(), {a})[0], fb = run(tiny_linear(), {b})[0];
  const Tensor qa = run(q, {a})[0], qb = run(q, {b})[0];
  EXPECT_LT(max_abs_diff(fa, qa), 0.05f);
  EXPECT_LT(max_abs_diff(fb, qb), 0.5f);
}

// The MLP (fixtures/models/mlp.onnx, the weights of mlp.pt) against torchao's converted model with
// XNNPACKQuantizer(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True)).
TEST(DynamicQuant, MlpMatchesTorchaoConvertedModel) {
  const nlohmann::json gold = read_json("quant/dynamic/mlp_dynamic.json");
  const Graph g = onnx::load(std::string(EQ_FIXTURES_DIR) + "/models/mlp.onnx");
  const Prepared p = prepare_pt2e(g, DynamicAnnotator());
  const Graph q = convert_pt2e(p);
  EXPECT_EQ(count_op(q, kChoose), 3);
  // Weight scales equal torch's per-channel minmax ones.
  int layer = 0;
  for (const SharingGroup& grp : p.groups()) {
    if (grp.dynamic) continue;
    const QParams qp = p.group_qparams(static_cast<int>(&grp - p.groups().data()));
    const auto& ws = gold["layers"][static_cast<size_t>(layer++)]["weight_scales"];
    ASSERT_EQ(qp.scale.size(), ws.size());
    for (size_t c = 0; c < ws.size(); ++c) EXPECT_EQ(qp.scale[c], ws[c].get<float>()) << "layer " << layer << " ch " << c;
  }
  EXPECT_EQ(layer, 3);
  const Tensor x = read_npy(std::string(EQ_FIXTURES_DIR) + "/models/mlp.input.npy");
  const Tensor want = from_json_2d(gold["logits"]);
  const Tensor sim = run(q, {x})[0];
  // Same int8 activations and weights as torch. Measured bit-exact (0) on x86-64; the bound allows
  // for an f32 GEMM summing in another order than torch's, not for a different activation step
  // (one step of the last layer's input moves a logit by ~1e-3).
  const float d_sim = max_abs_diff(sim, want);
  EXPECT_LE(d_sim, 1e-5f) << "fake-quant vs torchao";
  // Lowered: three quantized.linear_dynamic, no Q/DQ left.
  Graph low = q;
  EXPECT_EQ(lower_to_integer(low), 3);
  EXPECT_EQ(count_op(low, "quantized.linear_dynamic"), 3);
  EXPECT_EQ(count_op(low, kChoose), 0);
  EXPECT_EQ(count_op(low, "quantized_decomposed.quantize_per_tensor.default"), 0);
  const Tensor lowered = run(low, {x})[0];
  // Exact int32 sums rescaled once instead of f32 sums: float rounding only (measured 2.9e-6).
  EXPECT_LE(max_abs_diff(lowered, want), 5e-5f) << "integer vs torchao";
  std::printf("mlp dynamic: max |fake-quant - torchao| = %g, max |integer - torchao| = %g, max |integer - fake| = %g\n",
              static_cast<double>(d_sim), static_cast<double>(max_abs_diff(lowered, want)),
              static_cast<double>(max_abs_diff(lowered, sim)));
}

// ---- lower_to_integer: integer ops equal the fake-quant graph within float rounding ----

// conv2d (groups 1 and 2, padding, stride) and conv1d, bias float or absent.
Graph conv_net() {
  Graph g;
  const int x = g.add_value("x", DType::f32, {2, 4, 9, 9});
  g.inputs.push_back(x);
  Attrs a;
  a.set("stride", std::vector<int64_t>{2, 1});
  a.set("padding", std::vector<int64_t>{1, 0, 1, 2});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", int64_t{1});
  const int w1 = g.add_constant("c1.weight", random_f32({6, 4, 3, 3}, 11, 0.3f));
  const int b1 = g.add_constant("c1.bias", random_f32({6}, 12, 0.2f));
  const int c1 = g.add_node("aten.conv2d.default", "/c1/Conv", {x, w1, b1}, 1, a);
  const int y1 = g.nodes[static_cast<size_t>(c1)].outputs[0];
  Attrs a2;
  a2.set("stride", std::vector<int64_t>{1, 1});
  a2.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  a2.set("dilation", std::vector<int64_t>{1, 1});
  a2.set("groups", int64_t{2});
  const int w2 = g.add_constant("c2.weight", random_f32({4, 3, 3, 3}, 13, 0.3f));
  const int c2 = g.add_node("aten.conv2d.default", "/c2/Conv", {y1, w2}, 1, a2);
  g.outputs.push_back(g.nodes[static_cast<size_t>(c2)].outputs[0]);
  infer_graph(g);
  return g;
}

Graph conv1d_net() {
  Graph g;
  const int x = g.add_value("x", DType::f32, {3, 5, 17});
  g.inputs.push_back(x);
  Attrs a;
  a.set("stride", std::vector<int64_t>{2});
  a.set("padding", std::vector<int64_t>{2, 1});
  a.set("dilation", std::vector<int64_t>{2});
  a.set("groups", int64_t{1});
  const int w = g.add_constant("c.weight", random_f32({7, 5, 3}, 21, 0.3f));
  const int b = g.add_constant("c.bias", random_f32({7}, 22, 0.2f));
  const int c = g.add_node("aten.conv1d.default", "/c/Conv", {x, w, b}, 1, a);
  g.outputs.push_back(g.nodes[static_cast<size_t>(c)].outputs[0]);
  infer_graph(g);
  return g;
}

// The largest difference between the lowered and the fake-quant run relative to the output's
// magnitude (float rounding of sums of O(K) products: well below 1e-5).
void expect_lowered_equals_fake(const Graph& float_graph, const std::string& op, int count, const Tensor& x) {
  const Graph q = convert_pt2e(prepare_pt2e(float_graph, DynamicAnnotator()));
  Graph low = q;
  EXPECT_EQ(lower_to_integer(low), count);
  EXPECT_EQ(count_op(low, op), count);
  EXPECT_EQ(count_op(low, kChoose), 0);
  const Tensor fake = run(q, {x})[0], lowered = run(low, {x})[0];
  float mag = 0;
  for (int64_t i = 0; i < fake.numel(); ++i) mag = std::max(mag, std::fabs(fake.data<float>()[i]));
  const float d = max_abs_diff(fake, lowered);
  EXPECT_LE(d, 1e-5f * mag) << op << ": max diff " << d << " of max |y| " << mag;
  EXPECT_GT(mag, 0.1f);
}

TEST(DynamicQuant, LoweredLinearEqualsFakeQuant) {
  expect_lowered_equals_fake(tiny_linear(), "quantized.linear_dynamic", 1, random_f32({4, 6}, 31, 2.f, 0.7f));
  // The GEMM's edges: odd K (a half-filled pair), a partial 16-row panel, more rows than one tile.
  expect_lowered_equals_fake(tiny_linear(37, 45, 13), "quantized.linear_dynamic", 1, random_f32({37, 45}, 34, 1.f, -0.2f));
  expect_lowered_equals_fake(tiny_linear(1, 3, 2), "quantized.linear_dynamic", 1, random_f32({1, 3}, 35, 1.f, 0.5f));
}

TEST(DynamicQuant, LoweredConvEqualsFakeQuant) {
  // The second conv reads the first's float output: two dynamic quantizations per call.
  expect_lowered_equals_fake(conv_net(), "quantized.conv2d_dynamic", 2, random_f32({2, 4, 9, 9}, 32, 1.5f, -0.3f));
  expect_lowered_equals_fake(conv1d_net(), "quantized.conv1d_dynamic", 1, random_f32({3, 5, 17}, 33));
}

TEST(DynamicQuant, LoweredKeepsInt32BiasAsFloat) {
  // A dynamic linear whose bias is an int32 constant behind a dequantize (not what XNNPACK's config
  // makes, but valid QDQ): the op takes the bias dequantized exactly as the fp32 kernel does.
  Graph q = convert_pt2e(prepare_pt2e(tiny_linear(), DynamicAnnotator()));
  Node& lin = *std::find_if(q.nodes.begin(), q.nodes.end(), [](const Node& n) { return n.op == "aten.linear.default"; });
  const int bq = q.add_constant("bias_q", Tensor::from_vector<int32_t>({3}, {1000, -2000, 30}));
  const int bs = q.add_constant("bias_s", Tensor::scalar<float>(1e-4f));
  const int bz = q.add_constant("bias_z", Tensor::scalar<int32_t>(0));
  const int node = q.add_node("quantized_decomposed.dequantize_per_tensor.default", "bias_dq", {bq, bs, bz}, 1);
  Node& lin2 = *std::find_if(q.nodes.begin(), q.nodes.end(), [](const Node& n) { return n.op == "aten.linear.default"; });
  (void)lin;
  lin2.inputs[2] = q.nodes[static_cast<size_t>(node)].outputs[0];
  q.sort();
  infer_graph(q);
  Graph low = q;
  EXPECT_EQ(lower_to_integer(low), 1);
  const Tensor x = random_f32({4, 6}, 41);
  EXPECT_LE(max_abs_diff(run(q, {x})[0], run(low, {x})[0]), 1e-5f);
}

// ---- QDQ ONNX: export → import → same outputs ----

TEST(DynamicQuant, OnnxRoundTrip) {
  const Graph g = onnx::load(std::string(EQ_FIXTURES_DIR) + "/models/mlp.onnx");
  const Graph q = convert_pt2e(prepare_pt2e(g, DynamicAnnotator()));
  const std::string bytes = onnx::save_to_bytes(q);
  EXPECT_NE(bytes.find("com.edgequant"), std::string::npos);
  EXPECT_NE(bytes.find("ChooseQParams"), std::string::npos);
  const Graph back = onnx::load_from_bytes(bytes.data(), bytes.size(), "roundtrip");
  EXPECT_EQ(count_op(back, kChoose), 3);
  const Tensor x = read_npy(std::string(EQ_FIXTURES_DIR) + "/models/mlp.input.npy");
  const Tensor a = run(q, {x})[0], b = run(back, {x})[0];
  EXPECT_EQ(max_abs_diff(a, b), 0.f);
  // The imported graph still lowers to the integer ops.
  Graph low = back;
  EXPECT_EQ(lower_to_integer(low), 3);
  EXPECT_LE(max_abs_diff(run(low, {x})[0], a), 1e-4f);
  // A com.edgequant op we do not know is still refused by name.
  std::string other = bytes;
  const size_t at = other.find("ChooseQParams");
  other.replace(at, 13, "ChooseQParamz");
  EXPECT_THROW(onnx::load_from_bytes(other.data(), other.size(), "bad"), Error);
}

}  // namespace
}  // namespace eq
