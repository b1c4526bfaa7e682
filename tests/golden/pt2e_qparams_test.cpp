// Whole-model golden test against PyTorch's PT2E flow: torchao's prepare_pt2e with the XNNPACK
// symmetric config (MinMax activations, per-channel symmetric int8 weights, eps 2^-12), calibrated
// on the 64 committed images (fixtures/quant/calib64.npy, 2 batches of 32), recorded per module by
// tools/fixtures/make_quant_goldens.py. Our generic quantizer with the same specs must give the
// same scales (relative 1e-6) and zero points (exact) wherever its annotation places the same
// observers; the places where the generic quantizer deliberately differs from XNNPACK's are
// listed with the reason (the XNNPACK quantizer of the backend issue matches them).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"

namespace eq {
namespace {

const std::string kDir = std::string(EQ_FIXTURES_DIR);

nlohmann::json load_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return nlohmann::json::parse(f);
}

int module_node(const Graph& g, const std::string& module) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.module == module && (n.op == "aten.conv2d.default" || n.op == "aten.conv1d.default" || n.op == "aten.linear.default"))
      return static_cast<int>(i);
  }
  return -1;
}

// The observer position of a node's output: its own, or its fused activation's.
int output_group(const Prepared& p, int node) {
  const int g = p.group_of(EdgeOrNode::output(node));
  if (g >= 0) return g;
  const auto consumers = p.graph().consumers();
  const auto& c = consumers[static_cast<size_t>(p.graph().nodes[static_cast<size_t>(node)].outputs[0])];
  return c.size() == 1 ? p.group_of(EdgeOrNode::output(c[0])) : -1;
}

void expect_qparams(const QParams& ours, const nlohmann::json& torch, const std::string& what) {
  ASSERT_EQ(ours.scale.size(), 1u) << what;
  const double s = torch["scale"].get<double>();
  EXPECT_NEAR(ours.scale[0], s, 1e-6 * s) << what;
  EXPECT_EQ(ours.zero_point[0], torch["zero_point"].get<int>()) << what;
}

struct Case {
  std::string model;
  std::set<std::string> skip;  // "<module>.input" / "<module>.output": where the generic quantizer differs, and why
};

class Pt2eGolden : public ::testing::TestWithParam<Case> {};

TEST_P(Pt2eGolden, QParamsEqualTorchaoXnnpackConfig) {
  const Case& c = GetParam();
  const nlohmann::json j = load_json(kDir + "/quant/" + c.model + "_qparams.json");
  const Graph g = onnx::load(kDir + "/models/" + c.model + ".onnx");
  const GenericQuantizer q{symmetric_int8_config(true, ObserverSpec{ObserverKind::minmax}, 1.0f / 4096.0f)};
  Prepared p = prepare_pt2e(g, q);
  const Tensor calib = read_npy(kDir + "/quant/calib64.npy");
  ASSERT_EQ(calib.dim(0), 64);
  const int64_t per = calib.numel() / 64;
  for (int b = 0; b < 2; ++b) {
    Tensor x(DType::f32, {32, 1, 28, 28});
    std::memcpy(x.data<float>(), calib.data<float>() + b * 32 * per, static_cast<size_t>(32 * per) * sizeof(float));
    p.run({x});
  }
  int compared = 0;
  for (const auto& [module, m] : j["modules"].items()) {
    const int node = module_node(p.graph(), module);
    ASSERT_GE(node, 0) << c.model << ": no conv/linear with module path " << module;
    // Weights: per-channel scales.
    const QParams w = p.group_qparams(p.group_of(EdgeOrNode::edge(node, 1)));
    const auto& ws = m["weight"]["scales"];
    ASSERT_EQ(w.scale.size(), ws.size()) << module;
    for (size_t ch = 0; ch < ws.size(); ++ch) {
      const double s = ws[ch].get<double>();
      EXPECT_NEAR(w.scale[ch], s, 1e-6 * s) << c.model << " " << module << " weight channel " << ch;
      EXPECT_EQ(w.zero_point[ch], 0);
    }
    ++compared;
    if (!c.skip.count(module + ".input")) {
      expect_qparams(p.group_qparams(p.group_of(EdgeOrNode::edge(node, 0))), m["input"], c.model + " " + module + " input");
      ++compared;
    }
    if (!c.skip.count(module + ".output")) {
      const int og = output_group(p, node);
      ASSERT_GE(og, 0) << module;
      expect_qparams(p.group_qparams(og), m["output"], c.model + " " + module + " output");
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(j["modules"].size() * 3 - c.skip.size()));

  // The model output's qparams.
  const Graph& pg = p.graph();
  const int out_node = pg.value(pg.outputs[0]).producer;
  expect_qparams(p.group_qparams(p.group_of(EdgeOrNode::output(out_node))), j["model_output"], c.model + " model output");
}

// torch's convert_pt2e output (fake-quant) on the committed input images: our simulated QDQ graph
// gives the same logits. Only differences of whole quantization steps can appear (a tie rounded
// the other way after a different summation order), so compare within one output LSB.
TEST(Pt2eGolden, CnnConvertedLogitsEqualTorch) {
  const nlohmann::json j = load_json(kDir + "/quant/cnn_qparams.json");
  const Graph g = onnx::load(kDir + "/models/cnn.onnx");
  const GenericQuantizer q{symmetric_int8_config(true, ObserverSpec{ObserverKind::minmax}, 1.0f / 4096.0f)};
  Prepared p = prepare_pt2e(g, q);
  const Tensor calib = read_npy(kDir + "/quant/calib64.npy");
  const int64_t per = calib.numel() / 64;
  for (int b = 0; b < 2; ++b) {
    Tensor x(DType::f32, {32, 1, 28, 28});
    std::memcpy(x.data<float>(), calib.data<float>() + b * 32 * per, static_cast<size_t>(32 * per) * sizeof(float));
    p.run({x});
  }
  Executor e(convert_pt2e(p));
  const Tensor y = e.run({read_npy(kDir + "/models/cnn.input.npy")})[0];
  const auto& ref = j["qdq_reference"]["logits"];
  const double lsb = j["model_output"]["scale"].get<double>();
  ASSERT_EQ(static_cast<int64_t>(ref.size()), y.dim(0));
  int exact = 0;
  for (int64_t i = 0; i < y.dim(0); ++i)
    for (int64_t k = 0; k < y.dim(1); ++k) {
      const double t = ref[static_cast<size_t>(i)][static_cast<size_t>(k)].get<double>();
      const double d = std::fabs(y.data<float>()[i * y.dim(1) + k] - t);
      EXPECT_LE(d, lsb * 1.001) << i << "," << k;
      exact += d < 1e-6;
    }
  // Measured: 148 of 160 identical, the rest one LSB apart.
  EXPECT_GE(exact, static_cast<int>(0.9 * static_cast<double>(y.numel()))) << "most logits must be identical";
}

INSTANTIATE_TEST_SUITE_P(
    Models, Pt2eGolden,
    ::testing::Values(
        Case{"cnn", {}},
        // XNNPACK leaves tanh/sigmoid unannotated (fc1/fc2 outputs observed before them, fc2/fc3
        // inputs observed after them); the generic quantizer fuses them into the linear with fixed
        // output qparams (1/128, 1/256) instead.
        Case{"mlp", {"fc1.output", "fc2.input", "fc2.output", "fc3.input"}},
        // XNNPACK does not share qparams through aten.reshape, so fc's input gets its own observer;
        // the generic quantizer shares the pooled values' qparams through the reshape.
        Case{"resnet", {"fc.input"}}),
    [](const auto& info) { return info.param.model; });

void PrintTo(const Case& c, std::ostream* os) { *os << c.model; }

}  // namespace
}  // namespace eq
