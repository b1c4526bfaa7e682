// End-to-end tests of `edgequant export` and `quantize --format tflite`: the file passes the
// verifier and reads back with the generated reader, bytes are deterministic, --json fields,
// --float-io changes the IO types, and the error contract (one line, no output file).
#include <string>
#include <vector>

#include "cli_test_util.h"
#include "edgequant/tflite.h"
#include "tflite_subset_generated.h"

namespace {

using namespace eqtest;

// One QDQ model (cnn, calibrated on its own 16 images: fast, no data set needed) shared by the tests.
class TfliteCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(kModels + "/cnn.onnx") || !fs::exists(kModels + "/cnn.input.npy")) return;
    dir_ = new TempDir();
    const Result r = cli({"quantize", kModels + "/cnn.onnx", "--calib", kModels + "/cnn.input.npy", "-o", *dir_ / "q.onnx"});
    ASSERT_EQ(r.rc, 0) << show(r);
    qmodel_ = *dir_ / "q.onnx";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (qmodel_.empty()) GTEST_SKIP() << "no cnn fixture in " << kModels;
  }
  static TempDir* dir_;
  static std::string qmodel_;
};
TempDir* TfliteCli::dir_ = nullptr;
std::string TfliteCli::qmodel_;

const tflite::Tensor* io_tensor(const std::string& bytes, bool input) {
  const tflite::Model* m = tflite::GetModel(bytes.data());
  const tflite::SubGraph* sg = m->subgraphs()->Get(0);
  const int idx = (input ? sg->inputs() : sg->outputs())->Get(0);
  return sg->tensors()->Get(static_cast<flatbuffers::uoffset_t>(idx));
}

std::vector<int> dims(const flatbuffers::Vector<int32_t>* v) {
  return v ? std::vector<int>(v->begin(), v->end()) : std::vector<int>{};
}

TEST_F(TfliteCli, ExportWritesAVerifiedDeterministicFile) {
  TempDir out;
  const Result a = cli({"export", qmodel_, "-o", out / "a.tflite"});
  ASSERT_EQ(a.rc, 0) << show(a);
  EXPECT_TRUE(a.err.empty()) << show(a);
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), '\n'), 1) << show(a);  // the one-line summary
  EXPECT_NE(a.out.find("operators"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("CONV_2D"), std::string::npos) << a.out;
  const std::string bytes = slurp(out / "a.tflite");
  ASSERT_GT(bytes.size(), 1000u);
  EXPECT_EQ(eq::tflite::verify(bytes.data(), bytes.size()), "");
  EXPECT_EQ(bytes.substr(4, 4), "TFL3");

  const Result b = cli({"export", qmodel_, "-o", out / "b.tflite"});
  ASSERT_EQ(b.rc, 0) << show(b);
  EXPECT_EQ(slurp(out / "b.tflite"), bytes);
  EXPECT_EQ(out.listing(), (std::vector<std::string>{"a.tflite", "b.tflite"}));  // no temporaries left
}

TEST_F(TfliteCli, JsonReportsTheExport) {
  TempDir out;
  const Result r = cli({"export", qmodel_, "-o", out / "m.tflite", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  ASSERT_NE(j.get("model"), nullptr);
  EXPECT_EQ(j.get("model")->str, qmodel_);
  EXPECT_EQ(j.get("output")->str, out / "m.tflite");
  EXPECT_EQ(j.get("float_io")->kind, Json::kBool);
  EXPECT_FALSE(j.get("float_io")->b);
  EXPECT_FALSE(j.get("float_fallback")->b);
  const Json* builtins = j.get("builtins");
  ASSERT_NE(builtins, nullptr);
  ASSERT_EQ(builtins->kind, Json::kObj);
  EXPECT_EQ(num(*builtins, "CONV_2D"), 2) << r.out;  // cnn: two convs, two linears
  EXPECT_EQ(num(*builtins, "FULLY_CONNECTED"), 2) << r.out;
  double sum = 0;
  for (const auto& [name, count] : builtins->obj) sum += count.num;
  EXPECT_EQ(sum, num(j, "operators"));
  EXPECT_EQ(num(j, "float_operators"), 0);
  ASSERT_NE(j.get("float_nodes"), nullptr);
  EXPECT_TRUE(j.get("float_nodes")->arr.empty());
  EXPECT_GE(num(j, "transposes"), 0);
  EXPECT_EQ(num(j, "bytes"), static_cast<double>(fs::file_size(out / "m.tflite")));
}

TEST_F(TfliteCli, FloatIoChangesTheModelsInputAndOutputTypes) {
  TempDir out;
  ASSERT_EQ(cli({"export", qmodel_, "-o", out / "int.tflite"}).rc, 0);
  const Result r = cli({"export", qmodel_, "-o", out / "float.tflite", "--float-io", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  EXPECT_TRUE(parse_json_or_fail(r.out).get("float_io")->b);

  const std::string i = slurp(out / "int.tflite"), f = slurp(out / "float.tflite");
  ASSERT_EQ(eq::tflite::verify(f.data(), f.size()), "");
  EXPECT_EQ(io_tensor(i, true)->type(), tflite::TensorType::INT8);
  EXPECT_EQ(io_tensor(i, false)->type(), tflite::TensorType::INT8);
  EXPECT_EQ(io_tensor(f, true)->type(), tflite::TensorType::FLOAT32);
  EXPECT_EQ(io_tensor(f, false)->type(), tflite::TensorType::FLOAT32);
  // NHWC input, batch 1 with -1 in the signature (the ONNX batch is symbolic).
  for (const std::string* b : {&i, &f}) {
    EXPECT_EQ(dims(io_tensor(*b, true)->shape()), (std::vector<int>{1, 28, 28, 1}));
    EXPECT_EQ(dims(io_tensor(*b, true)->shape_signature()), (std::vector<int>{-1, 28, 28, 1}));
  }
  const tflite::QuantizationParameters* q = io_tensor(i, true)->quantization();
  ASSERT_NE(q, nullptr);
  ASSERT_NE(q->scale(), nullptr);
  EXPECT_EQ(q->scale()->size(), 1u);
  EXPECT_GT(q->scale()->Get(0), 0.0f);
}

TEST_F(TfliteCli, QuantizeFormatTfliteWritesWhatExportWrites) {
  TempDir out;
  const std::string cnn = kModels + "/cnn.onnx", calib = kModels + "/cnn.input.npy";
  // -o *.tflite implies --format tflite; the same calibration as the suite's q.onnx.
  const Result r = cli({"quantize", cnn, "--calib", calib, "-o", out / "q.tflite", "--json"});
  ASSERT_EQ(r.rc, 0) << show(r);
  const Json j = parse_json_or_fail(r.out);
  EXPECT_EQ(j.get("format")->str, "tflite");
  const Json* t = j.get("tflite");
  ASSERT_NE(t, nullptr) << r.out;
  EXPECT_EQ(num(*t, "bytes"), static_cast<double>(fs::file_size(out / "q.tflite")));
  ASSERT_EQ(cli({"export", qmodel_, "-o", out / "e.tflite"}).rc, 0);
  EXPECT_EQ(slurp(out / "q.tflite"), slurp(out / "e.tflite"));

  // --format tflite with another extension, --float-io passed through; the text summary has a tflite line.
  const Result r2 = cli({"quantize", cnn, "--calib", calib, "--format", "tflite", "--float-io", "-o", out / "q.bin"});
  ASSERT_EQ(r2.rc, 0) << show(r2);
  EXPECT_NE(r2.out.find("tflite "), std::string::npos) << r2.out;
  const std::string b = slurp(out / "q.bin");
  ASSERT_EQ(eq::tflite::verify(b.data(), b.size()), "");
  EXPECT_EQ(io_tensor(b, true)->type(), tflite::TensorType::FLOAT32);

  // --format onnx wins over the extension.
  ASSERT_EQ(cli({"quantize", cnn, "--calib", calib, "--format", "onnx", "-o", out / "x.tflite"}).rc, 0);
  EXPECT_EQ(slurp(out / "x.tflite"), slurp(qmodel_));
}

TEST_F(TfliteCli, ErrorsAreOneLineAndLeaveNoFile) {
  TempDir out;
  const std::string o = out / "m.tflite";
  expect_one_line_error(cli({"export", out / "missing.onnx", "-o", o}), 1, "missing.onnx");
  expect_one_line_error(cli({"export", qmodel_}), 2, "-o");
  expect_one_line_error(cli({"export", qmodel_, "-o", o, "--bogus"}), 2, "--bogus");
  // An unquantized model: its first op has no integer TFLite builtin and is named.
  const Result f = cli({"export", kModels + "/cnn.onnx", "-o", o});
  expect_one_line_error(f, 1, "node '");
  EXPECT_NE(f.err.find("conv"), std::string::npos) << show(f);
  // Not a model at all.
  {
    std::ofstream(out / "junk.onnx") << "not a protobuf";
  }
  expect_one_line_error(cli({"export", out / "junk.onnx", "-o", o}), 1, "junk.onnx");
  // Output directory that does not exist.
  expect_one_line_error(cli({"export", qmodel_, "-o", out / "no/such/dir/m.tflite"}), 1);

  // quantize: a wrong --format and tflite-only options are usage errors, found before calibrating.
  const std::string cnn = kModels + "/cnn.onnx", calib = kModels + "/cnn.input.npy";
  expect_one_line_error(cli({"quantize", cnn, "--calib", calib, "--format", "tf", "-o", o}), 2, "--format 'tf'");
  expect_one_line_error(cli({"quantize", cnn, "--calib", calib, "--float-io", "-o", out / "q.onnx"}), 2, "--float-io");
  expect_one_line_error(cli({"quantize", cnn, "--calib", calib, "--format", "onnx", "--float-fallback", "-o", o}), 2,
                        "--float-fallback");
  EXPECT_EQ(out.listing(), (std::vector<std::string>{"junk.onnx"}));
}

}  // namespace
