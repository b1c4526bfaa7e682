// The TFLite interpreter's outputs on our exported models, without the interpreter: the int8
// outputs LiteRT's reference kernels computed (fixtures/tflite/goldens.json, made by
// tools/fixtures/make_tflite_goldens.py) against our integer runtime on the same images, and the
// exported model's operator list against the one LiteRT ran.
//
// Each case quantizes a fixture model with the CLI exactly as the generator did (same command,
// calibration fixtures/quant/calib64.npy), so the QDQ model is the one whose export LiteRT ran.
// The runtime output must equal LiteRT's bit for bit, except where the golden records a difference
// with its reason (then at most as many LSBs as recorded). The export is checked in-process:
// verify() passes, and the operators (in order) and the output quantization are the ones LiteRT
// ran, so an exporter change that alters the model fails here and means regenerating the goldens
// (and rerunning LiteRT). A case recorded as not exporting must still fail with the same error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../e2e/cli_test_util.h"
#include "edgequant/dataset.h"
#include "edgequant/error.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/quantize.h"
#include "edgequant/tflite.h"
#include "tflite_subset_generated.h"

namespace {

using eqtest::TempDir;
using nlohmann::json;

const std::string kGoldenPath = std::string(EQ_FIXTURES_DIR) + "/tflite/goldens.json";
const char* kRegenerate = "regenerate with python3 tools/fixtures/make_tflite_goldens.py (needs ai-edge-litert)";

const json& goldens() {
  static const json j = [] {
    std::ifstream f(kGoldenPath);
    return f.good() ? json::parse(f) : json::object();
  }();
  return j;
}

std::vector<int> case_indices() {
  std::vector<int> v;
  if (goldens().contains("cases"))
    for (size_t i = 0; i < goldens()["cases"].size(); ++i) v.push_back(static_cast<int>(i));
  return v;
}

std::string case_name(const testing::TestParamInfo<int>& info) {
  const json& c = goldens()["cases"][static_cast<size_t>(info.param)];
  std::string s = c["model"].get<std::string>() + "_" + c["backend"].get<std::string>();
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

// The builtin names of the model's operators, in execution order.
std::vector<std::string> operator_names(const std::string& bytes) {
  const tflite::Model* m = tflite::GetModel(bytes.data());
  std::vector<std::string> names;
  const tflite::SubGraph* sg = m->subgraphs()->Get(0);
  if (!sg->operators()) return names;
  for (const tflite::Operator* op : *sg->operators()) {
    const tflite::OperatorCode* code = m->operator_codes()->Get(op->opcode_index());
    names.push_back(tflite::EnumNameBuiltinOperator(code->builtin_code()));
  }
  return names;
}

class TfliteGolden : public testing::TestWithParam<int> {
 protected:
  const json& golden() const { return goldens()["cases"][static_cast<size_t>(GetParam())]; }

  // The generator's `edgequant quantize` command, with its fixture paths made absolute.
  std::string quantize(const TempDir& dir) const {
    const json& c = golden();
    const std::string model = c["model"].get<std::string>();
    std::vector<std::string> args = {"quantize", eqtest::kModels + "/" + model + ".onnx"};
    for (const json& a : c["quantize_args"]) {
      const std::string s = a.get<std::string>();
      args.push_back(s.rfind("fixtures/", 0) == 0 ? std::string(EQ_SOURCE_DIR) + "/" + s : s);
    }
    const std::string out = dir / "q.onnx";
    args.insert(args.end(), {"-o", out});
    const eqtest::Result r = eqtest::cli(args);
    EXPECT_EQ(r.rc, 0) << eqtest::show(r);
    return out;
  }
};

TEST_P(TfliteGolden, RuntimeMatchesLiteRtAndExportIsUnchanged) {
  const json& c = golden();
  const std::string model = c["model"].get<std::string>();
  if (!eqtest::fs::exists(eqtest::kModels + "/" + model + ".onnx")) GTEST_SKIP() << "no fixture model " << model;
  TempDir dir;
  const std::string qpath = quantize(dir);
  ASSERT_FALSE(HasFailure());
  const eq::Graph q = eq::onnx::load(qpath);

  // ---- a case that does not export ----
  if (c.contains("export_error")) {
    const std::string want = c["export_error"].get<std::string>();
    try {
      eq::tflite::export_to_bytes(q);
      ADD_FAILURE() << model << " / " << c["backend"] << " now exports (it failed with: " << want << "); "
                    << kRegenerate;
    } catch (const eq::Error& e) {
      EXPECT_EQ(std::string(e.what()), want) << "the error changed; " << kRegenerate;
    }
    return;
  }

  // ---- the export LiteRT ran ----
  eq::tflite::ExportReport report;
  eq::tflite::ExportOptions options;
  options.float_fallback = c.value("float_fallback", false);
  const std::string bytes = eq::tflite::export_to_bytes(q, options, &report);
  ASSERT_EQ(eq::tflite::verify(bytes.data(), bytes.size()), "");
  std::vector<std::string> ops;
  for (const json& o : c["operators"]) ops.push_back(o.get<std::string>());
  EXPECT_EQ(operator_names(bytes), ops) << "the exported operators changed; " << kRegenerate;
  std::map<std::string, int> builtins;
  for (const auto& [k, v] : c["builtins"].items()) builtins[k] = v.get<int>();
  EXPECT_EQ(report.builtins, builtins);
  EXPECT_EQ(report.transposes, c["transposes"].get<size_t>());
  if (report.bytes != c["tflite_bytes"].get<size_t>())  // informative: weights change size too
    std::cout << "note: " << report.bytes << " bytes, the golden's file had " << c["tflite_bytes"] << "\n";

  const tflite::Model* m = tflite::GetModel(bytes.data());
  const tflite::SubGraph* sg = m->subgraphs()->Get(0);
  const tflite::Tensor* out_t = sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(sg->outputs()->Get(0)));
  ASSERT_EQ(out_t->type(), tflite::TensorType::INT8);
  ASSERT_NE(out_t->quantization(), nullptr);
  ASSERT_EQ(out_t->quantization()->scale()->size(), 1u);
  const float scale = out_t->quantization()->scale()->Get(0);
  const int64_t zp = out_t->quantization()->zero_point()->Get(0);
  EXPECT_EQ(scale, c["output_scale"].get<float>());
  EXPECT_EQ(zp, c["output_zero_point"].get<int64_t>());

  // ---- our integer runtime on the same images ----
  eq::Graph g = q;
  eq::lower_to_integer(g);
  eq::Executor exec(std::move(g));
  const eq::Tensor x = eq::read_npy(std::string(EQ_SOURCE_DIR) + "/" + c["input"].get<std::string>());
  const std::vector<eq::Tensor> outs = exec.run({x});
  ASSERT_EQ(outs.size(), 1u);
  const eq::Tensor& y = outs[0];
  ASSERT_EQ(y.dtype(), eq::DType::f32);
  std::vector<int64_t> shape;
  for (const json& d : c["output_shape"]) shape.push_back(d.get<int64_t>());
  ASSERT_EQ(y.shape(), shape);
  const json& lite = c["output"];
  ASSERT_EQ(static_cast<int64_t>(lite.size()), y.numel());

  // The runtime's output is dequantized, (q - zp) * scale: rounding y / scale gives q - zp back.
  int64_t max_diff = 0, n_diff = 0;
  std::string first;
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float r = std::nearbyint(y.data<float>()[i] / scale) + static_cast<float>(zp);
    const int64_t ours = std::clamp<int64_t>(static_cast<int64_t>(r), -128, 127);
    const int64_t theirs = lite[static_cast<size_t>(i)].get<int64_t>();
    const int64_t d = std::abs(ours - theirs);
    if (d && first.empty()) first = "element " + std::to_string(i) + ": ours " + std::to_string(ours) + ", LiteRT " + std::to_string(theirs);
    max_diff = std::max(max_diff, d);
    n_diff += d > 0;
  }
  const int64_t allowed = c["max_lsb_vs_runtime"].get<int64_t>();
  if (allowed == 0) {
    EXPECT_EQ(n_diff, 0) << n_diff << " of " << y.numel() << " outputs differ from LiteRT's (max " << max_diff
                         << " LSB; " << first << ")";
  } else {
    // Recorded with its reason in the golden; the runtime may get closer, never further.
    const std::string reason = c.value("difference_reason", "UNEXPLAINED");
    EXPECT_NE(reason, "UNEXPLAINED");
    EXPECT_LE(max_diff, allowed) << first << " (recorded: " << reason << ")";
    EXPECT_LE(n_diff, c["n_diff_vs_runtime"].get<int64_t>()) << first << " (recorded: " << reason << ")";
    std::cout << "within the recorded " << allowed << " LSB: " << n_diff << " of " << y.numel()
              << " outputs differ (" << reason << ")\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Goldens, TfliteGolden, testing::ValuesIn(case_indices()), case_name);

// The golden file is committed: its absence (or an empty one) must not pass silently.
TEST(TfliteGoldenFile, HasTheCases) {
  ASSERT_TRUE(goldens().contains("cases")) << kGoldenPath << " is missing; " << kRegenerate;
  EXPECT_GE(goldens()["cases"].size(), 15u);
  EXPECT_EQ(goldens().value("resolver", ""), "BUILTIN_REF");
}

}  // namespace
