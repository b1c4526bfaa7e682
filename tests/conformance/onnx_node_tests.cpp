// Conformance with ONNX's own backend node tests (Debian's libonnx-testdata, data/node): every
// test whose ops are all in edgequant's import scope is loaded through our importer and run by
// our executor; outputs must match the expected outputs within 1e-4 relative (absolute 1e-4 for
// values below 1). Integer graph inputs (shape, axes, indices) and float parameter inputs (Clip bounds, Pad value,
// Resize scales) are frozen into initializers,
// because our importer folds shape computations statically. Tests that exercise a variant we do
// not support on purpose are skipped with the reason from kSkips below.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "edgequant/executor.h"
#include "edgequant/onnx.h"

namespace fs = std::filesystem;

namespace {

// ONNX ops in scope for issue #2 (import + fp32 execution).
const std::set<std::string> kOpsInScope = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu",
    "PRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Erf", "Gelu", "Softmax", "LogSoftmax",
    "LayerNormalization", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool",
    "ReduceMean", "ReduceSum", "ReduceMax", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
    "Concat", "Slice", "Split", "Gather", "Pad", "Abs", "Neg", "Exp", "Sqrt", "Pow", "Identity",
    "Dropout", "Constant", "Shape", "Cast", "Range", "ConstantOfShape", "Resize", "Upsample",
    "QuantizeLinear", "DequantizeLinear"};

// Tests of in-scope ops that exercise variants edgequant does not support, with the reason.
// Matched by prefix of the test directory name.
const std::vector<std::pair<std::string, std::string>> kSkips = {
    {"test_batchnorm_epsilon_training_mode", "training-mode BatchNormalization (running statistics outputs) is out of scope for inference import"},
    {"test_batchnorm_example_training_mode", "training-mode BatchNormalization (running statistics outputs) is out of scope for inference import"},
    {"test_dropout_default_mask", "Dropout's mask output is a training feature"},
    {"test_training_dropout", "training-mode Dropout is random"},
    {"test_maxpool_with_argmax", "MaxPool's Indices output is not supported"},
    {"test_resize_downsample_scales_cubic", "cubic Resize is out of scope (nearest and linear are supported)"},
    {"test_resize_upsample_scales_cubic", "cubic Resize is out of scope (nearest and linear are supported)"},
    {"test_resize_downsample_sizes_cubic", "cubic Resize is out of scope (nearest and linear are supported)"},
    {"test_resize_upsample_sizes_cubic", "cubic Resize is out of scope (nearest and linear are supported)"},
    {"test_resize_tf_crop_and_resize", "tf_crop_and_resize Resize is out of scope"},
    {"test_averagepool_3d", "3-D pooling is out of scope (1-D and 2-D are supported)"},
    {"test_maxpool_3d", "3-D pooling is out of scope (1-D and 2-D are supported)"},
    {"test_convtranspose_3d", "3-D convolution is out of scope (1-D and 2-D are supported)"},
    {"test_maxpool_2d_uint8", "uint8 max pooling belongs to the integer runtime (issue 3), not the fp32 executor"},
};

// Models below opset 11 are out of the supported range (11 to 21).
std::string unsupported_opset(const onnx::ModelProto& model) {
  for (const auto& o : model.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && o.version() < 11)
      return "opset " + std::to_string(o.version()) + " is below the supported range (11 to 21)";
  return "";
}

struct NodeTest {
  std::string name;
  fs::path dir;
};
void PrintTo(const NodeTest& t, std::ostream* os) { *os << t.name; }

// Inputs that our importer needs as constants (it folds shapes and parameters statically):
// integer inputs anywhere, and float inputs in these ops' parameter positions (>= 1).
const std::set<std::string> kParameterInputOps = {"Clip", "Pad", "Resize", "Upsample", "Range", "Reshape", "Slice",
                                                  "Squeeze", "Unsqueeze", "Split", "ReduceSum", "ReduceMean", "ReduceMax"};

bool must_freeze(const onnx::ModelProto& model, const onnx::ValueInfoProto& input) {
  const int t = input.type().tensor_type().elem_type();
  if (t == onnx::TensorProto::INT64 || t == onnx::TensorProto::INT32) return true;
  for (const auto& n : model.graph().node())
    for (int k = 0; k < n.input_size(); ++k)
      if (n.input(k) == input.name() && kParameterInputOps.count(n.op_type()) && (k >= 1 || n.op_type() == "Range")) return true;
  return false;
}

std::string skip_reason_by_name(const std::string& name) {
  for (const auto& [prefix, reason] : kSkips)
    if (name.rfind(prefix, 0) == 0) return reason;
  return "";
}

bool read_model(const fs::path& path, onnx::ModelProto& model) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return model.ParseFromString(ss.str());
}

std::vector<NodeTest> discover() {
  std::vector<NodeTest> out;
  const fs::path root = EQ_ONNX_NODE_TESTS_DIR;
  if (!fs::exists(root)) return out;
  for (const auto& entry : fs::directory_iterator(root)) {
    onnx::ModelProto model;
    if (!read_model(entry.path() / "model.onnx", model)) continue;
    bool in_scope = model.graph().node_size() > 0;
    for (const auto& n : model.graph().node()) in_scope = in_scope && kOpsInScope.count(n.op_type()) && n.domain().empty();
    if (in_scope) out.push_back({entry.path().filename().string(), entry.path()});
  }
  std::sort(out.begin(), out.end(), [](const NodeTest& a, const NodeTest& b) { return a.name < b.name; });
  return out;
}

// A dtype our runtime does not hold (double, string, bfloat16, wide unsigned ints) makes the test a skip.
std::string unsupported_dtype(const onnx::ModelProto& model) {
  auto check = [](const onnx::ValueInfoProto& v) -> std::string {
    const int t = v.type().tensor_type().elem_type();
    switch (t) {
      case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8:
      case onnx::TensorProto::INT16: case onnx::TensorProto::INT32: case onnx::TensorProto::INT64:
      case onnx::TensorProto::BOOL:
        return "";
      default:
        return "tensor '" + v.name() + "' has ONNX dtype " + onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(t)) +
               ", which the fp32/int8 executor does not hold";
    }
  };
  for (const auto& v : model.graph().input()) if (auto r = check(v); !r.empty()) return r;
  for (const auto& v : model.graph().output()) if (auto r = check(v); !r.empty()) return r;
  return "";
}

class OnnxNodeTest : public ::testing::TestWithParam<NodeTest> {};

TEST_P(OnnxNodeTest, MatchesExpectedOutputs) {
  const NodeTest& t = GetParam();
  if (auto reason = skip_reason_by_name(t.name); !reason.empty()) GTEST_SKIP() << reason;
  onnx::ModelProto model;
  ASSERT_TRUE(read_model(t.dir / "model.onnx", model));
  if (auto reason = unsupported_dtype(model); !reason.empty()) GTEST_SKIP() << reason;
  if (auto reason = unsupported_opset(model); !reason.empty()) GTEST_SKIP() << reason;

  const fs::path data = t.dir / "test_data_set_0";
  // Graph inputs that are not initializers, in order, paired with input_<k>.pb.
  std::set<std::string> initializers;
  for (const auto& init : model.graph().initializer()) initializers.insert(init.name());
  std::vector<const onnx::ValueInfoProto*> graph_inputs;
  for (const auto& in : model.graph().input())
    if (!initializers.count(in.name())) graph_inputs.push_back(&in);

  eq::onnx::LoadOptions options;
  std::vector<eq::Tensor> runtime_inputs;
  std::vector<std::string> frozen;
  for (size_t k = 0; k < graph_inputs.size(); ++k) {
    const fs::path pb = data / ("input_" + std::to_string(k) + ".pb");
    ASSERT_TRUE(fs::exists(pb)) << pb;
    eq::Tensor value = eq::onnx::read_tensor_proto(pb.string());
    if (must_freeze(model, *graph_inputs[k])) {
      // Freeze shape-like inputs as initializers.
      std::ifstream f(pb, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      onnx::TensorProto tp;
      ASSERT_TRUE(tp.ParseFromString(ss.str()));
      tp.set_name(graph_inputs[k]->name());
      *model.mutable_graph()->add_initializer() = tp;
      frozen.push_back(graph_inputs[k]->name());
    } else {
      options.input_shapes[graph_inputs[k]->name()] = value.shape();
      runtime_inputs.push_back(value);
    }
  }
  // LayerNormalization's optional Mean and InvStdDev outputs serve training and are not
  // supported; for those tests we check Y alone.
  if (t.name.rfind("test_layer_normalization", 0) == 0 && model.graph().output_size() > 1) {
    auto* outs = model.mutable_graph()->mutable_output();
    outs->DeleteSubrange(1, outs->size() - 1);
    for (auto& n : *model.mutable_graph()->mutable_node())
      if (n.op_type() == "LayerNormalization")
        while (n.output_size() > 1) n.mutable_output()->RemoveLast();
  }
  // Drop frozen names from the graph inputs.
  auto* inputs = model.mutable_graph()->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i)
    if (std::find(frozen.begin(), frozen.end(), inputs->Get(i).name()) != frozen.end()) inputs->DeleteSubrange(i, 1);

  const std::string bytes = model.SerializeAsString();
  std::vector<eq::Tensor> outputs;
  try {
    eq::Graph g = eq::onnx::load_from_bytes(bytes.data(), bytes.size(), t.name, options);
    eq::Executor exec(g, eq::ExecutorOptions{2});
    outputs = exec.run(runtime_inputs);
  } catch (const eq::Error& e) {
    FAIL() << e.what();
  }
  ASSERT_EQ(outputs.size(), static_cast<size_t>(model.graph().output_size()));
  for (size_t k = 0; k < outputs.size(); ++k) {
    const eq::Tensor expected = eq::onnx::read_tensor_proto((data / ("output_" + std::to_string(k) + ".pb")).string());
    const eq::Tensor& got = outputs[k];
    ASSERT_EQ(got.shape(), expected.shape()) << "output " << k;
    ASSERT_EQ(got.dtype(), expected.dtype()) << "output " << k;
    const std::vector<double> a = got.to_double_vector(), b = expected.to_double_vector();
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double tol = eq::dtype_is_float(got.dtype()) ? 1e-4 * std::max(1.0, std::fabs(b[i])) : 0.0;
      const double err = std::fabs(a[i] - b[i]);
      const bool same_nan = std::isnan(a[i]) && std::isnan(b[i]);
      if (!(err <= tol) && !same_nan && !(std::isinf(a[i]) && a[i] == b[i])) {
        ++bad;
        worst = std::max(worst, err);
      }
    }
    EXPECT_EQ(bad, 0u) << "output " << k << ": " << bad << " of " << a.size() << " elements off, worst |diff| " << worst;
  }
}

std::string test_name(const ::testing::TestParamInfo<NodeTest>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Onnx, OnnxNodeTest, ::testing::ValuesIn(discover()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OnnxNodeTest);

}  // namespace
