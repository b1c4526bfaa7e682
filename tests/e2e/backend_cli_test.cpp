// End-to-end tests of the backend quantizers from the command line: `quantize --backend
// neutron|xnnpack|ethos-u [--target] [--config]`, determinism, the JSON config overrides, `run`
// with --delegate xnnpack, the error contract, and `demo` (the main job) on a few images.
#include "cli_test_util.h"

namespace {

using namespace eqtest;

// Calibration on the committed cnn input images: no dataset needed.
Result quantize(const std::string& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"quantize", kModels + "/cnn.onnx", "--calib", kModels + "/cnn.input.npy", "-o", out,
                                   "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return cli(args);
}

TEST(BackendCli, EachBackendQuantizesDeterministically) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  for (const std::string backend : {"neutron", "xnnpack", "ethos-u"}) {
    const Result a = quantize(dir / (backend + ".a.onnx"), {"--backend", backend});
    ASSERT_EQ(a.rc, 0) << backend << show(a);
    const Json j = parse_json_or_fail(a.out);
    EXPECT_EQ(j.get("quantizer")->str, backend);
    EXPECT_EQ(num(*j.get("nodes"), "float"), 0) << backend << a.out;
    const Result b = quantize(dir / (backend + ".b.onnx"), {"--backend", backend});
    ASSERT_EQ(b.rc, 0) << show(b);
    EXPECT_EQ(slurp(dir / (backend + ".a.onnx")), slurp(dir / (backend + ".b.onnx"))) << backend << ": not byte-identical";
    // The quantized model runs (integer kernels), and with XNNPACK delegation.
    const Result run = cli({"run", dir / (backend + ".a.onnx"), "--input", kModels + "/cnn.input.npy", "-o", dir / "y.npy"});
    EXPECT_EQ(run.rc, 0) << backend << show(run);
  }
  const Result d = cli({"run", dir / "xnnpack.a.onnx", "--input", kModels + "/cnn.input.npy", "--delegate", "xnnpack",
                        "-o", dir / "yx.npy"});
  EXPECT_EQ(d.rc, 0) << show(d);
}

TEST(BackendCli, ConfigOverridesByModuleNameAndOperator) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  // Keep the classifier's last linear (module classifier.2) and every max pool in float.
  {
    std::ofstream f(dir / "cfg.json");
    f << R"({"global": {"is_per_channel": true}, "module_name": {"classifier.2": null},
             "operator_type": {"aten.max_pool2d.default": null}})";
  }
  const Result r = quantize(dir / "x.onnx", {"--backend", "xnnpack", "--config", dir / "cfg.json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  const Json* fl = j.get("float_nodes");
  ASSERT_NE(fl, nullptr);
  std::vector<std::string> ops;
  for (const Json& n : fl->arr) ops.push_back(n.get("op")->str);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "aten.linear.default"), 1) << r.out;
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "aten.max_pool2d.default"), 2) << r.out;
  bool named = false;
  for (const Json& n : fl->arr) named |= n.get("reason")->str.find("module name 'classifier.2'") != std::string::npos;
  EXPECT_TRUE(named) << r.out;

  // Ethos-U 16x8 through the config, on a U85.
  {
    std::ofstream f(dir / "a16.json");
    f << R"({"global": {"a16w8": true}})";
  }
  const Result e = quantize(dir / "e.onnx", {"--backend", "ethos-u", "--target", "ethos-u85-256", "--config", dir / "a16.json"});
  ASSERT_EQ(e.rc, 0) << show(e);
}

TEST(BackendCli, ErrorsAreOneLineAndWriteNothing) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  const std::string out = dir / "q.onnx";
  expect_one_line_error(quantize(out, {"--backend", "tpu"}), 2, "unknown backend 'tpu'");
  expect_one_line_error(quantize(out, {"--backend", "neutron", "--target", "imxrt1170"}), 2, "imxrt700");
  expect_one_line_error(quantize(out, {"--backend", "ethos-u", "--target", "ethos-u99-1"}), 2, "ethos-u55-128");
  expect_one_line_error(quantize(out, {"--backend", "xnnpack", "--target", "cpu"}), 2, "--target");
  expect_one_line_error(quantize(out, {"--backend", "neutron", "--per-channel"}), 2, "--config");
  expect_one_line_error(quantize(out, {"--target", "imxrt700"}), 2, "--backend");
  expect_one_line_error(quantize(out, {"--backend", "xnnpack", "--config", dir / "missing.json"}), 1, "missing.json");
  {
    std::ofstream f(dir / "bad.json");
    f << "{\"global\": {\"is_per_chanel\": true}}";
  }
  expect_one_line_error(quantize(out, {"--backend", "xnnpack", "--config", dir / "bad.json"}), 2, "is_per_chanel");
  {
    std::ofstream f(dir / "bad2.json");
    f << "{\"modules\": {}}";
  }
  expect_one_line_error(quantize(out, {"--backend", "neutron", "--config", dir / "bad2.json"}), 2, "\"modules\"");
  {
    std::ofstream f(dir / "bad3.json");
    f << "{not json";
  }
  expect_one_line_error(quantize(out, {"--backend", "ethos-u", "--config", dir / "bad3.json"}), 1, "not valid JSON");
  expect_one_line_error(cli({"run", kModels + "/cnn.onnx", "--input", kModels + "/cnn.input.npy", "--delegate", "gpu"}), 2,
                        "xnnpack");
  EXPECT_FALSE(fs::exists(out));
}

TEST(BackendCli, DemoPrintsOneRowPerBackend) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Result r = cli({"demo", "--limit", "200", "--calib-size", "64", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  const Json* rows = j.get("rows");
  ASSERT_NE(rows, nullptr);
  ASSERT_EQ(rows->arr.size(), 6u) << r.out;
  const double fp32 = num(rows->arr[0], "top1");
  EXPECT_GT(fp32, 80.0);
  for (const Json& row : rows->arr) {
    EXPECT_NEAR(num(row, "top1"), fp32, 3.0) << row.get("key")->str;  // 200 images: 1 image = 0.5 pp
    EXPECT_GT(num(row, "bytes"), 0);
    EXPECT_GT(num(row, "latency_ms"), 0);
  }
  // int8 rows store the weights in a quarter of the fp32 bytes, or about.
  EXPECT_LT(num(rows->arr[1], "bytes") * 3, num(rows->arr[0], "bytes"));
  const Result t = cli({"demo", "--limit", "100", "--calib-size", "32"});
  ASSERT_EQ(t.rc, 0) << show(t);
  for (const char* needle : {"fp32", "Neutron imxrt700", "XNNPACK", "Ethos-U55-128", "Ethos-U85-256", "delegated"})
    EXPECT_NE(t.out.find(needle), std::string::npos) << needle << "\n" << t.out;
}

}  // namespace
