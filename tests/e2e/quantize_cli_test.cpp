// End-to-end tests of `edgequant quantize`, `eval` on a quantized model (integer and --simulate)
// and `compare`: the summary JSON, determinism, the error contract, and accuracy against fp32.
#include "cli_test_util.h"
#include "edgequant/dataset.h"

namespace {

using namespace eqtest;

const Json* path(const Json& j, std::initializer_list<const char*> keys) {
  const Json* cur = &j;
  for (const char* k : keys) {
    cur = cur ? cur->get(k) : nullptr;
    EXPECT_NE(cur, nullptr) << "missing key " << k;
  }
  return cur;
}

double top1(const std::string& model, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"eval", model, "--dataset", "fashion-mnist:test", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const Result r = cli(args);
  EXPECT_EQ(r.rc, 0) << show(r);
  return num(parse_json_or_fail(r.out), "top1");
}

TEST(QuantizeCli, SummaryJsonDeterminismAndIntegerEval) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const std::string model = kModels + "/cnn.onnx";
  const Result r = cli({"quantize", model, "--calib", "fashion-mnist:train", "--calib-size", "64", "--observer", "minmax",
                        "--per-channel", "-o", dir / "a.onnx", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  EXPECT_EQ(path(j, {"calibration", "images"})->num, 64);
  EXPECT_GT(path(j, {"calibration", "images_per_second"})->num, 0);
  EXPECT_EQ(path(j, {"nodes", "float"})->num, 0) << r.out;
  EXPECT_GT(path(j, {"nodes", "quantized"})->num, 5);
  EXPECT_LT(path(j, {"size", "after_bytes"})->num * 3.5, path(j, {"size", "before_bytes"})->num);
  EXPECT_EQ(path(j, {"per_channel"})->kind, Json::kBool);

  // Same model, data and options: byte-identical output.
  const Result r2 = cli({"quantize", model, "--calib", "fashion-mnist:train", "--calib-size", "64", "--observer", "minmax",
                         "--per-channel", "-o", dir / "b.onnx"});
  ASSERT_EQ(r2.rc, 0) << show(r2);
  EXPECT_NE(r2.out.find("quantized"), std::string::npos) << r2.out;
  EXPECT_EQ(slurp(dir / "a.onnx"), slurp(dir / "b.onnx"));

  // Integer and simulated runs agree with each other and stay close to fp32 on 1000 images.
  const double f = top1(model, {"--limit", "1000"});
  const double i = top1(dir / "a.onnx", {"--limit", "1000"});
  const double s = top1(dir / "a.onnx", {"--limit", "1000", "--simulate"});
  EXPECT_NEAR(i, f, 1.5);
  EXPECT_NEAR(i, s, 0.5);
  const Result e = cli({"eval", dir / "a.onnx", "--dataset", "fashion-mnist:test", "--limit", "10", "--json"});
  EXPECT_NE(e.out.find("\"mode\": \"integer\""), std::string::npos) << e.out;
}

TEST(QuantizeCli, CompareReportsEveryLayerWorstFirst) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const std::string model = kModels + "/cnn.onnx";
  ASSERT_EQ(cli({"quantize", model, "--calib", "fashion-mnist:train", "--calib-size", "64", "-o", dir / "q.onnx"}).rc, 0);
  for (const bool simulate : {false, true}) {
    std::vector<std::string> args = {"compare", model, dir / "q.onnx", "--dataset", "fashion-mnist:test", "--limit", "64", "--json"};
    if (simulate) args.push_back("--simulate");
    const Result r = cli(args);
    ASSERT_EQ(r.rc, 0) << show(r);
    const Json j = parse_json_or_fail(r.out);
    const Json* layers = j.get("layers");
    ASSERT_NE(layers, nullptr);
    ASSERT_GE(layers->arr.size(), 7u) << r.out;  // 2 × (relu, pool), flatten, fc relu, logits
    double prev = -1e9;
    for (const Json& l : layers->arr) {
      const double sqnr = num(l, "sqnr_db");
      EXPECT_GE(sqnr, prev);
      prev = sqnr;
      EXPECT_GT(sqnr, 15.0) << r.out;  // int8 on this net: every layer well above 15 dB
      EXPECT_GT(num(l, "cosine"), 0.98) << r.out;
    }
  }
}

TEST(QuantizeCli, BadInputGivesOneLineErrorsAndNoOutput) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const std::string model = kModels + "/cnn.onnx";
  const std::string out = dir / "q.onnx";
  expect_one_line_error(cli({"quantize", model, "--calib", "fashion-mnist:train", "--observer", "median", "-o", out}), 2,
                        "--observer");
  expect_one_line_error(cli({"quantize", model, "--calib", "fashion-mnist:train", "--calib-size", "0", "-o", out}), 2,
                        "--calib-size");
  expect_one_line_error(cli({"quantize", model, "--calib", "fashion-mnist:train"}), 2, "-o");
  expect_one_line_error(cli({"quantize", model, "--calib", "fashion-mnist:train", "--observer", "percentile:101", "-o", out}),
                        2, "percentile");
  // Calibration data with a NaN: the error names the tensor; nothing is written.
  eq::Tensor x(eq::DType::f32, {4, 1, 28, 28});
  x.data<float>()[100] = std::nanf("");
  eq::write_npy(x, dir / "nan.npy");
  expect_one_line_error(cli({"quantize", model, "--calib", dir / "nan.npy", "-o", out}), 1, "'input'");
  // Calibration data of the wrong shape.
  eq::write_npy(eq::Tensor(eq::DType::f32, {4, 3, 28, 28}), dir / "bad.npy");
  expect_one_line_error(cli({"quantize", model, "--calib", dir / "bad.npy", "-o", out}), 1, "input");
  std::vector<std::string> expected = {"bad.npy", "nan.npy"};
  EXPECT_EQ(dir.listing(), expected);
}

// The bar: integer-runtime int8 top-1 within 0.5 pp of fp32 on the full test set
// (histogram observer, per-channel weights, 1000 calibration images). Slow: excluded from the
// sanitizer run with the other full-test-set accuracy tests (name contains TestSetTop1).
class QuantizedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizedModel, TestSetTop1WithinHalfPointOfFp32) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  TempDir dir;
  const std::string model = kModels + "/" + GetParam() + ".onnx";
  const Result r = cli({"quantize", model, "--calib", "fashion-mnist:train", "--calib-size", "1000", "--per-channel",
                        "-o", dir / "q.onnx"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const double f = top1(model, {});
  const double i = top1(dir / "q.onnx", {});
  EXPECT_GE(i, f - 0.5) << GetParam() << ": fp32 " << f << "%, int8 " << i << "%";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, QuantizedModel, ::testing::ValuesIn(kModelNames),
                         [](const auto& info) { return info.param; });

}  // namespace
