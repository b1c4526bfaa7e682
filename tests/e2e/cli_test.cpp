// End-to-end tests of the `edgequant` command (EQ_CLI) on the fixture models: inspect, run
// (against PyTorch's logits), eval, bench, and the error contract: non-zero exit, one line
// "edgequant: error: ..." on stderr, and no output file left behind.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cctype>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "edgequant/dataset.h"

namespace {

using namespace eqtest;

// ---- verbs without a model ----

TEST(Cli, VersionAndHelp) {
  Result r = cli({"--version"});
  EXPECT_EQ(r.rc, 0) << show(r);
  EXPECT_EQ(r.out.rfind("edgequant ", 0), 0u) << show(r);
  r = cli({"--help"});
  EXPECT_EQ(r.rc, 0) << show(r);
  for (const char* verb : {"inspect", "run", "eval", "bench"}) EXPECT_NE(r.out.find(verb), std::string::npos) << show(r);
  r = cli({"help", "eval"});
  EXPECT_EQ(r.rc, 0) << show(r);
  for (const char* opt : {"--dataset", "--data", "--labels", "--limit", "--batch", "--threads", "--json"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt << "\n" << show(r);
  r = cli({"bench", "--help"});
  EXPECT_EQ(r.rc, 0) << show(r);
  EXPECT_NE(r.out.find("--iters"), std::string::npos) << show(r);
}

TEST(Cli, UsageErrors) {
  expect_one_line_error(cli({"frobnicate"}), 2, "unknown verb 'frobnicate'");
  expect_one_line_error(cli({"frobnicate"}), 2, "inspect, run, eval, bench");
  expect_one_line_error(cli({}), 2, "verb");
  expect_one_line_error(cli({"help", "nope"}), 2, "unknown verb 'nope'");
  expect_one_line_error(cli({"inspect"}), 2, "MODEL.onnx");
  expect_one_line_error(cli({"inspect", "a.onnx", "b.onnx"}), 2, "unexpected argument 'b.onnx'");
  expect_one_line_error(cli({"eval", "m.onnx", "--batch"}), 2, "'--batch' needs a value");
  expect_one_line_error(cli({"eval", "m.onnx", "--batch", "zero", "--dataset", "fashion-mnist:test"}), 2, "'--batch' expects");
  expect_one_line_error(cli({"eval", "m.onnx"}), 2, "--dataset");
  expect_one_line_error(cli({"bench", "m.onnx", "--threads", "-3"}), 2, "'--threads'");
}

TEST(Cli, UnknownOptionLeavesNoOutput) {
  TempDir tmp;
  const std::string out = tmp / "out.npy";
  expect_one_line_error(cli({"run", kModels + "/cnn.onnx", "--input", "x.npy", "-o", out, "--frobnicate"}), 2,
                        "unknown option '--frobnicate'");
  EXPECT_TRUE(tmp.listing().empty());
}

TEST(Cli, MissingModelFile) {
  TempDir tmp;
  const std::string missing = tmp / "missing.onnx";
  expect_one_line_error(cli({"inspect", missing}), 1, "missing.onnx");
  const std::string x = tmp / "x.npy";
  eq::write_npy(eq::Tensor(eq::DType::f32, {1, 1, 28, 28}), x);
  expect_one_line_error(cli({"run", missing, "--input", x, "-o", tmp / "out.npy"}), 1, "missing.onnx");
  EXPECT_EQ(tmp.listing(), (std::vector<std::string>{"x.npy"}));
}

TEST(Cli, MalformedModel) {
  TempDir tmp;
  const std::string bad = tmp / "garbage.onnx";
  {
    std::ofstream f(bad, std::ios::binary);
    uint32_t x = 12345;
    for (int i = 0; i < 4096; ++i) {
      x = x * 1103515245u + 12345u;
      f.put(static_cast<char>(x >> 24));
    }
  }
  const std::string x = tmp / "x.npy";
  eq::write_npy(eq::Tensor(eq::DType::f32, {1, 1, 28, 28}), x);
  expect_one_line_error(cli({"inspect", bad}), 1, "garbage.onnx");
  expect_one_line_error(cli({"run", bad, "--input", x, "-o", tmp / "out.npy"}), 1, "garbage.onnx");
  // A real model cut in half.
  const std::string name = any_model();
  if (!name.empty()) {
    const std::string whole = slurp(kModels + "/" + name + ".onnx");
    const std::string half = tmp / "half.onnx";
    std::ofstream(half, std::ios::binary).write(whole.data(), static_cast<std::streamsize>(whole.size() / 2));
    expect_one_line_error(cli({"run", half, "--input", x, "-o", tmp / "out.npy"}), 1, "half.onnx");
  }
  std::vector<std::string> expected = {"garbage.onnx", "x.npy"};
  if (!name.empty()) expected.insert(expected.begin() + 1, "half.onnx");
  EXPECT_EQ(tmp.listing(), expected);
}

// ---- with a fixture model ----

TEST(Cli, WrongInputShapeLeavesNoOutput) {
  SKIP_WITHOUT_MODEL(name);
  TempDir tmp;
  const std::string x = tmp / "x.npy";
  eq::write_npy(eq::Tensor(eq::DType::f32, {4, 28, 28}), x);  // missing the channel axis
  expect_one_line_error(cli({"run", kModels + "/" + name + ".onnx", "--input", x, "-o", tmp / "out.npy"}), 1, "x.npy");
  const std::string y = tmp / "y.npy";
  eq::write_npy(eq::Tensor(eq::DType::f32, {2, 1, 27, 28}), y);
  expect_one_line_error(cli({"run", kModels + "/" + name + ".onnx", "--input", y, "-o", tmp / "out.npy"}), 1, "y.npy");
  const std::string z = tmp / "z.npy";
  eq::write_npy(eq::Tensor(eq::DType::i64, {2, 1, 28, 28}), z);
  expect_one_line_error(cli({"run", kModels + "/" + name + ".onnx", "--input", z, "-o", tmp / "out.npy"}), 1, "dtype");
  expect_one_line_error(cli({"run", kModels + "/" + name + ".onnx", "--input", tmp / "none.npy", "-o", tmp / "out.npy"}), 1,
                        "none.npy");
  EXPECT_EQ(tmp.listing(), (std::vector<std::string>{"x.npy", "y.npy", "z.npy"}));
  // An output path in a directory that does not exist.
  expect_one_line_error(cli({"run", kModels + "/" + name + ".onnx", "--input", kModels + "/" + name + ".input.npy", "-o",
                             tmp / "no/such/dir/out.npy"}),
                        1, "out.npy");
}

TEST(Cli, EvalOnNpyFiles) {
  SKIP_WITHOUT_MODEL(name);
  TempDir tmp;
  // The fixture inputs are the first 16 Fashion-MNIST test images; these are their labels.
  const std::string labels = tmp / "labels.npy";
  eq::write_npy(eq::Tensor::from_vector<int64_t>({16}, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1}), labels);
  const Result r = cli({"eval", kModels + "/" + name + ".onnx", "--data", kModels + "/" + name + ".input.npy", "--labels", labels,
                        "--batch", "5", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  EXPECT_EQ(num(j, "samples"), 16);
  EXPECT_GE(num(j, "top1"), 60.0) << r.out;  // every fixture model is > 85% accurate
  EXPECT_GE(num(j, "top5"), num(j, "top1"));
  EXPECT_LE(num(j, "top5"), 100.0);
  // Label count mismatch: an error, not a wrong answer.
  const std::string short_labels = tmp / "short.npy";
  eq::write_npy(eq::Tensor::from_vector<int64_t>({3}, {1, 2, 3}), short_labels);
  expect_one_line_error(cli({"eval", kModels + "/" + name + ".onnx", "--data", kModels + "/" + name + ".input.npy", "--labels",
                             short_labels}),
                        1, "label count");
}

// Per-model tests.
class CliModel : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_ = kModels + "/" + GetParam() + ".onnx";
    if (!fs::exists(model_)) GTEST_SKIP() << model_ << " not found (run python3 tools/fixtures/make_fashion_models.py)";
  }
  std::string model_;
};

std::vector<std::string> expected_ops(const std::string& name) {
  static const std::map<std::string, std::vector<std::string>> ops = {
      {"cnn", {"aten.conv2d.default", "aten.relu.default", "aten.max_pool2d.default", "aten.linear.default"}},
      {"mbv2", {"aten.conv2d.default", "aten.hardtanh.default", "aten.linear.default"}},
      {"resnet", {"aten.conv2d.default", "aten.relu.default", "aten.add.Tensor", "aten.linear.default"}},
      {"vit", {"aten.conv2d.default", "aten.layer_norm.default", "aten.softmax.int", "aten.gelu.default", "aten.matmul.default"}},
      {"conv1d", {"aten.conv1d.default", "aten.relu.default", "aten.max_pool1d.default", "aten.linear.default"}},
      {"mlp", {"aten.flatten.using_ints", "aten.linear.default", "aten.tanh.default", "aten.sigmoid.default"}},
  };
  return ops.at(name);
}

TEST_P(CliModel, Inspect) {
  Result r = cli({"inspect", model_});
  ASSERT_EQ(r.rc, 0) << show(r);
  for (const std::string& op : expected_ops(GetParam())) EXPECT_NE(r.out.find(op), std::string::npos) << op << "\n" << r.out;
  EXPECT_NE(r.out.find("[N,1,28,28]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[N,10]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("parameters"), std::string::npos) << r.out;

  r = cli({"inspect", model_, "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  EXPECT_GT(num(j, "node_count"), 0);
  EXPECT_GT(num(j, "parameter_count"), 1000);
  EXPECT_EQ(num(j, "opset"), 17);
  const Json* inputs = j.get("inputs");
  ASSERT_TRUE(inputs && inputs->kind == Json::kArr && inputs->arr.size() == 1) << r.out;
  ASSERT_NE(inputs->arr[0].get("shape"), nullptr);
  EXPECT_EQ(inputs->arr[0].get("shape")->str, "[N,1,28,28]");
  const Json* counts = j.get("op_counts");
  ASSERT_TRUE(counts && counts->kind == Json::kObj);
  for (const std::string& op : expected_ops(GetParam())) EXPECT_NE(counts->get(op), nullptr) << op;
  const Json* nodes = j.get("nodes");
  ASSERT_TRUE(nodes && nodes->kind == Json::kArr);
  EXPECT_EQ(static_cast<double>(nodes->arr.size()), num(j, "node_count"));
  // The op counts are sorted, most frequent first.
  double prev = INFINITY;
  for (const auto& [op, c] : counts->obj) {
    EXPECT_LE(c.num, prev) << op;
    prev = c.num;
  }
}

TEST_P(CliModel, RunMatchesPyTorch) {
  const std::string in = kModels + "/" + GetParam() + ".input.npy", ref = kModels + "/" + GetParam() + ".output.npy";
  if (!fs::exists(in) || !fs::exists(ref)) GTEST_SKIP() << "no " << in << " / " << ref;
  TempDir tmp;
  const std::string out = tmp / "out.npy";
  const Result r = cli({"run", model_, "--input", in, "-o", out, "--threads", "2"});
  ASSERT_EQ(r.rc, 0) << show(r);
  EXPECT_NE(r.out.find("[16,10]"), std::string::npos) << r.out;
  EXPECT_EQ(tmp.listing(), (std::vector<std::string>{"out.npy"}));
  const eq::Tensor got = eq::read_npy(out), want = eq::read_npy(ref);
  ASSERT_EQ(got.shape(), want.shape());
  ASSERT_EQ(got.dtype(), eq::DType::f32);
  const float* a = got.data<float>();
  const float* b = want.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float tol = 1e-4f * std::max(1.0f, std::fabs(b[i]));
    if (!(std::fabs(a[i] - b[i]) <= tol) && bad++ < 5) ADD_FAILURE() << "element " << i << ": " << a[i] << " vs PyTorch " << b[i];
  }
  EXPECT_EQ(bad, 0);

  // --output-dir writes the output under its name.
  const Result d = cli({"run", model_, "--input", in, "--output-dir", tmp.path()});
  ASSERT_EQ(d.rc, 0) << show(d);
  EXPECT_TRUE(eq::read_npy(tmp / "logits.npy").identical(got));
}

TEST_P(CliModel, EvalJson) {
  if (!fashion_mnist_installed()) GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  const Result r = cli({"eval", model_, "--dataset", "fashion-mnist:test", "--limit", "200", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  EXPECT_TRUE(r.err.empty()) << "no progress bar without a TTY:\n" << r.err;
  const Json j = parse_json_or_fail(r.out);
  EXPECT_EQ(num(j, "samples"), 200);
  EXPECT_GE(num(j, "top1"), 70.0);
  EXPECT_LE(num(j, "top1"), 100.0);
  EXPECT_GE(num(j, "top5"), num(j, "top1"));
  EXPECT_GT(num(j, "seconds"), 0.0);
  EXPECT_GT(num(j, "images_per_second"), 0.0);
}

TEST_P(CliModel, BenchJson) {
  const Result r = cli({"bench", model_, "--batch", "3", "--iters", "2", "--warmup", "1", "--threads", "2", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  EXPECT_EQ(num(j, "batch"), 3);
  EXPECT_EQ(num(j, "threads"), 2);
  EXPECT_EQ(num(j, "iters"), 2);
  EXPECT_GT(num(j, "latency_ms"), 0.0);
  EXPECT_NEAR(num(j, "throughput"), 3 * 1000.0 / num(j, "latency_ms"), 1e-6 * num(j, "throughput"));
  ASSERT_NE(j.get("model"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CliModel, ::testing::ValuesIn(kModelNames),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
