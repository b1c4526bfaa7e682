// End-to-end tests of `edgequant partition`: a QDQ model from `edgequant quantize`, partitioned for
// Neutron (text and JSON), operators kept on the CPU with --exclude, a float model, and the error
// contract (unknown backend, target or operator); XNNPACK and Ethos-U partitioning of the same model.
#include "cli_test_util.h"

namespace {

using namespace eqtest;

// cnn quantized with its committed input images as calibration data (no dataset needed).
std::string quantized_cnn(const TempDir& dir) {
  const std::string out = dir / "cnn.qdq.onnx";
  const Result r = cli({"quantize", kModels + "/cnn.onnx", "--calib", kModels + "/cnn.input.npy", "--observer", "minmax",
                        "-o", out});
  EXPECT_EQ(r.rc, 0) << show(r);
  return out;
}

TEST(PartitionCli, CnnFullyDelegatedJsonAndText) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  const std::string q = quantized_cnn(dir);
  const Result r = cli({"partition", q, "--backend", "neutron", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  ASSERT_NE(j.get("summary"), nullptr);
  const Json& s = *j.get("summary");
  EXPECT_EQ(num(s, "compute_nodes"), 10);
  EXPECT_EQ(num(s, "delegated"), 10) << r.out;
  EXPECT_EQ(num(s, "cpu"), 0);
  EXPECT_DOUBLE_EQ(num(s, "share"), 1.0);
  ASSERT_NE(j.get("partitions"), nullptr);
  EXPECT_EQ(j.get("partitions")->arr.size(), 1u);
  EXPECT_EQ(j.get("target")->get("name")->str, "imxrt700");
  EXPECT_EQ(num(*j.get("target"), "num_macs"), 8);
  ASSERT_NE(j.get("nodes"), nullptr);
  for (const Json& n : j.get("nodes")->arr) {
    EXPECT_TRUE(n.get("delegated")->b) << n.get("node")->str;
    EXPECT_EQ(n.get("reason")->kind, Json::kNull);
  }

  const Result t = cli({"partition", q, "--backend", "neutron", "--target", "imxrt700"});
  ASSERT_EQ(t.rc, 0) << show(t);
  EXPECT_NE(t.out.find("partitions  1"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("delegated   10 / 10 compute nodes (100.0%)"), std::string::npos) << t.out;
}

TEST(PartitionCli, ExcludedOperatorsStayOnCpuWithReason) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  const std::string q = quantized_cnn(dir);
  const Result r = cli({"partition", q, "--backend", "neutron", "--exclude", "aten::linear", "--exclude", "max_pool2d", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  int cpu = 0;
  for (const Json& n : j.get("nodes")->arr) {
    const std::string op = n.get("op")->str;
    if (op == "aten.linear.default" || op == "aten.max_pool2d.default") {
      EXPECT_FALSE(n.get("delegated")->b) << op;
      EXPECT_NE(n.get("reason")->str.find("excluded by operators_not_to_delegate"), std::string::npos) << n.get("reason")->str;
    }
    cpu += n.get("delegated")->b ? 0 : 1;
  }
  // 2 linear + 2 max_pool excluded; the relu fused after the first linear goes with it, and the
  // flatten (channels-first to 2-D, h*w = 49) needs the linear in its partition.
  EXPECT_EQ(cpu, 6) << r.out;
  EXPECT_EQ(num(*j.get("summary"), "cpu"), 6);
  EXPECT_EQ(j.get("partitions")->arr.size(), 2u);  // conv+relu twice, split by the max pools
  const Json* ex = j.get("operators_not_to_delegate");
  ASSERT_NE(ex, nullptr);
  ASSERT_EQ(ex->arr.size(), 2u);
  EXPECT_EQ(ex->arr[0].str, "aten.linear.default");
  EXPECT_EQ(ex->arr[1].str, "aten.max_pool2d.default");

  // The text form prints one line per CPU node with its reason; comma lists work too.
  const Result t = cli({"partition", q, "--backend", "neutron", "--exclude", "linear,aten.max_pool2d.default"});
  ASSERT_EQ(t.rc, 0) << show(t);
  EXPECT_NE(t.out.find("on CPU      6 compute nodes"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("(aten.linear.default): excluded by operators_not_to_delegate"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("delegated   4 / 10 compute nodes (40.0%)"), std::string::npos) << t.out;
}

// The same QDQ model for XNNPACK (after lowering to integer ops) and Ethos-U: every node of the
// small CNN is supported by both.
TEST(PartitionCli, XnnpackAndEthosU) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  TempDir dir;
  const std::string q = quantized_cnn(dir);
  const Result x = cli({"partition", q, "--backend", "xnnpack", "--json"});
  ASSERT_EQ(x.rc, 0) << show(x);
  const Json jx = parse_json_or_fail(x.out);
  EXPECT_EQ(jx.get("target")->get("name")->str, "cpu");
  EXPECT_GT(num(*jx.get("summary"), "delegated"), 0) << x.out;
  EXPECT_DOUBLE_EQ(num(*jx.get("summary"), "share"), 1.0) << x.out;

  const Result e = cli({"partition", q, "--backend", "ethos-u", "--target", "ethos-u85-256", "--json"});
  ASSERT_EQ(e.rc, 0) << show(e);
  const Json je = parse_json_or_fail(e.out);
  EXPECT_EQ(je.get("target")->get("name")->str, "ethos-u85-256");
  EXPECT_EQ(num(*je.get("target"), "num_macs"), 256);
  EXPECT_EQ(num(*je.get("summary"), "compute_nodes"), 10);
  const Result t = cli({"partition", q, "--backend", "ethos-u"});
  ASSERT_EQ(t.rc, 0) << show(t);
  EXPECT_NE(t.out.find("backend     ethos-u, target ethos-u55-128"), std::string::npos) << t.out;
}

TEST(PartitionCli, FloatModelIsNotQuantized) {
  if (!fs::exists(kModels + "/cnn.onnx")) GTEST_SKIP() << "no cnn fixture";
  const Result r = cli({"partition", kModels + "/cnn.onnx", "--backend", "neutron"});
  ASSERT_EQ(r.rc, 0) << show(r);
  EXPECT_NE(r.out.find("no quantize/dequantize nodes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("not quantized"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("delegated   0 / 10 compute nodes (0.0%)"), std::string::npos) << r.out;
}

TEST(PartitionCli, ErrorsAreOneLine) {
  SKIP_WITHOUT_MODEL(name);
  const std::string model = kModels + "/" + name + ".onnx";
  expect_one_line_error(cli({"partition", model, "--backend", "xnnpack", "--target", "x"}), 2, "--target does not apply");
  expect_one_line_error(cli({"partition", model, "--backend", "ethos-u", "--target", "ethos-u99"}), 2, "ethos-u55-128");
  expect_one_line_error(cli({"partition", model, "--backend", "ethos-u", "--exclude", "conv2d"}), 2, "--exclude");
  expect_one_line_error(cli({"partition", model, "--backend", "coreml"}), 2, "unknown --backend 'coreml'");
  expect_one_line_error(cli({"partition", model}), 2, "--backend");
  expect_one_line_error(cli({"partition", model, "--backend", "neutron", "--target", "imxrt1170"}), 2,
                        "known targets: imxrt700 (supported)");
  expect_one_line_error(cli({"partition", model, "--backend", "neutron", "--target", "imx95"}), 2, "Neutron-S");
  expect_one_line_error(cli({"partition", model, "--backend", "neutron", "--exclude", "conv7d"}), 2, "'conv7d'");
  expect_one_line_error(cli({"partition", kModels + "/missing.onnx", "--backend", "neutron"}), 1, "missing.onnx");
  const Result help = cli({"help", "partition"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("--exclude"), std::string::npos);
}

}  // namespace
