#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "edgequant/executor.h"
#include "onnx_test_util.h"

namespace eq {
namespace {

using test::count_op;
using test::find_op;
using test::ModelBuilder;
using TP = ::onnx::TensorProto;

Tensor input_f32(Shape s, float scale = 0.05f) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * static_cast<float>((i * 13) % 37) - 0.8f;
  return t;
}

TEST(OnnxImport, ConvAttributesAndModulePath) {
  ModelBuilder b;
  b.input("x", {-1, 4, 8, 8});
  b.init_f32("w", {6, 2, 3, 3}, test::iota_f32(6 * 2 * 9));
  b.init_f32("b", {6}, test::iota_f32(6));
  auto* n = b.node("Conv", {"x", "w", "b"}, {"y"}, "/features/0/Conv");
  test::set_ints(n, "pads", {1, 0, 2, 1});
  test::set_ints(n, "strides", {2, 1});
  test::set_ints(n, "dilations", {1, 2});
  test::set_i(n, "group", 2);
  b.output("y");
  Graph g = b.load();
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& c = g.nodes[0];
  EXPECT_EQ(c.op, "aten.conv2d.default");
  EXPECT_EQ(c.name, "/features/0/Conv");
  EXPECT_EQ(c.module, "features.0");
  EXPECT_EQ(c.attrs.ints("padding"), (std::vector<int64_t>{1, 0, 2, 1}));
  EXPECT_EQ(c.attrs.ints("stride"), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(c.attrs.ints("dilation"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.attrs.i("groups"), 2);
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{kBatch, 4, 8, 8}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 6, 5, 5}));
  EXPECT_EQ(g.value(g.outputs[0]).name, "y");
  EXPECT_EQ(g.opset, 17);
}

TEST(OnnxImport, Conv1d) {
  ModelBuilder b;
  b.input("x", {1, 3, 10});
  b.init_f32("w", {5, 3, 3}, test::iota_f32(45));
  b.node("Conv", {"x", "w"}, {"y"});
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(g.nodes[0].op, "aten.conv1d.default");
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 5, 8}));
}

struct AutoPadCase {
  std::string mode;
  int64_t in, k, stride;
  std::vector<int64_t> pads;
};

TEST(OnnxImport, AutoPadResolvedToExplicitPadding) {
  const std::vector<AutoPadCase> cases = {
      {"SAME_UPPER", 7, 4, 1, {1, 2}}, {"SAME_LOWER", 7, 4, 1, {2, 1}}, {"SAME_UPPER", 8, 3, 2, {0, 1}},
      {"SAME_LOWER", 8, 3, 2, {1, 0}}, {"VALID", 7, 3, 2, {0, 0}},
  };
  for (const AutoPadCase& c : cases) {
    ModelBuilder b;
    b.input("x", {1, 1, c.in});
    b.init_f32("w", {1, 1, c.k}, test::iota_f32(static_cast<size_t>(c.k)));
    auto* n = b.node("Conv", {"x", "w"}, {"y"});
    test::set_s(n, "auto_pad", c.mode);
    test::set_ints(n, "strides", {c.stride});
    b.output("y");
    Graph g = b.load();
    EXPECT_EQ(g.nodes[0].attrs.ints("padding"), c.pads) << c.mode << " in " << c.in << " k " << c.k << " s " << c.stride;
    const int64_t expect_out = c.mode == "VALID" ? (c.in - c.k) / c.stride + 1 : (c.in + c.stride - 1) / c.stride;
    EXPECT_EQ(g.value(g.outputs[0]).shape[2], expect_out) << c.mode;
  }
  // Pools resolve auto_pad the same way.
  ModelBuilder b;
  b.input("x", {1, 1, 5, 5});
  auto* n = b.node("MaxPool", {"x"}, {"y"});
  test::set_ints(n, "kernel_shape", {2, 2});
  test::set_s(n, "auto_pad", "SAME_UPPER");
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(g.nodes[0].op, "aten.max_pool2d.default");
  EXPECT_EQ(g.nodes[0].attrs.ints("padding"), (std::vector<int64_t>{0, 0, 1, 1}));
}

TEST(OnnxImport, ConvTransposeOutputShapeResolved) {
  ModelBuilder b;
  b.input("x", {1, 2, 3, 3});
  b.init_f32("w", {2, 3, 3, 3}, test::iota_f32(54));
  auto* n = b.node("ConvTranspose", {"x", "w"}, {"y"});
  test::set_ints(n, "strides", {3, 2});
  test::set_ints(n, "output_shape", {10, 8});
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(g.nodes[0].op, "aten.conv_transpose2d.input");
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{1, 3, 10, 8}));
}

// Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape, as PyTorch writes x.view(x.size(0), -1).
TEST(OnnxImport, ShapeChainWithSymbolicBatchFolds) {
  ModelBuilder b;
  b.input("x", {-1, 3, 4, 5});
  b.init_i64("zero", {}, {0});
  b.init_i64("axes", {1}, {0});
  b.init_i64("minus1", {1}, {-1});
  b.node("Shape", {"x"}, {"s"}, "/Shape");
  test::set_i(b.node("Gather", {"s", "zero"}, {"n"}, "/Gather"), "axis", 0);
  b.node("Unsqueeze", {"n", "axes"}, {"n1"}, "/Unsqueeze");
  test::set_i(b.node("Concat", {"n1", "minus1"}, {"shape"}, "/Concat"), "axis", 0);
  b.node("Reshape", {"x", "shape"}, {"y"}, "/Reshape");
  b.output("y");
  Graph g = b.load();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "aten.reshape.default");
  EXPECT_EQ(g.nodes[0].attrs.ints("shape"), (std::vector<int64_t>{kBatchToken, -1}));
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 60}));
  Executor ex(g);
  for (int64_t batch : {1, 3}) {
    const Tensor x = input_f32({batch, 3, 4, 5});
    const std::vector<Tensor> out = ex.run({x});
    EXPECT_EQ(out[0].shape(), (Shape{batch, 60}));
    EXPECT_TRUE(out[0].identical(x.reshaped({batch, 60})));
  }
}

TEST(OnnxImport, ReshapeZeroCopiesBatch) {
  ModelBuilder b;
  b.input("x", {-1, 6});
  b.init_i64("shape", {3}, {0, 2, 3});
  b.node("Reshape", {"x", "shape"}, {"y"});
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(g.nodes[0].attrs.ints("shape"), (std::vector<int64_t>{kBatchToken, 2, 3}));
}

TEST(OnnxImport, GemmWithConstantWeightBecomesLinear) {
  for (int trans_b : {0, 1}) {
    ModelBuilder b;
    b.input("a", {-1, 3});
    const std::vector<float> w = {1, 2, 3, 4, 5, 6};
    b.init_f32("B", trans_b ? std::vector<int64_t>{2, 3} : std::vector<int64_t>{3, 2}, w);
    b.init_f32("C", {2}, {0.5f, -1.0f});
    auto* n = b.node("Gemm", {"a", "B", "C"}, {"y"});
    test::set_i(n, "transB", trans_b);
    test::set_f(n, "alpha", 2.0f);
    test::set_f(n, "beta", 3.0f);
    b.output("y");
    Graph g = b.load();
    ASSERT_EQ(g.nodes.size(), 1u);
    const Node& lin = g.nodes[0];
    EXPECT_EQ(lin.op, "aten.linear.default");
    const Tensor& W = *g.value(lin.inputs[1]).constant;
    EXPECT_EQ(W.shape(), (Shape{2, 3}));
    const std::vector<double> wv = W.to_double_vector();
    const std::vector<double> expect = trans_b ? std::vector<double>{2, 4, 6, 8, 10, 12} : std::vector<double>{2, 6, 10, 4, 8, 12};
    EXPECT_EQ(wv, expect);
    EXPECT_EQ(g.value(lin.inputs[2]).constant->to_double_vector(), (std::vector<double>{1.5, -3.0}));
  }
}

TEST(OnnxImport, GemmVariants) {
  // C of shape [M,N]: linear without bias, then add.
  {
    ModelBuilder b;
    b.input("a", {2, 3});
    b.init_f32("B", {3, 4}, test::iota_f32(12));
    b.init_f32("C", {2, 4}, test::iota_f32(8));
    b.node("Gemm", {"a", "B", "C"}, {"y"});
    b.output("y");
    Graph g = b.load();
    EXPECT_EQ(count_op(g, "aten.linear.default"), 1);
    EXPECT_EQ(count_op(g, "aten.add.Tensor"), 1);
  }
  // Non-constant B: permute/matmul/mul/add, checked numerically.
  {
    ModelBuilder b;
    b.input("a", {3, 2});
    b.input("bm", {4, 3});
    b.input("c", {4});
    auto* n = b.node("Gemm", {"a", "bm", "c"}, {"y"});
    test::set_i(n, "transA", 1);
    test::set_i(n, "transB", 1);
    test::set_f(n, "alpha", 0.5f);
    test::set_f(n, "beta", 2.0f);
    b.output("y");
    Graph g = b.load();
    EXPECT_EQ(count_op(g, "aten.matmul.default"), 1);
    EXPECT_EQ(count_op(g, "aten.permute.default"), 2);
    const Tensor A = input_f32({3, 2}), B = input_f32({4, 3}, 0.07f), C = input_f32({4}, 0.3f);
    Executor ex(g);
    const Tensor y = ex.run({A, B, C})[0];
    ASSERT_EQ(y.shape(), (Shape{2, 4}));
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) {
        float acc = 0;
        for (int k = 0; k < 3; ++k) acc += A.data<float>()[k * 2 + i] * B.data<float>()[j * 3 + k];
        EXPECT_NEAR(y.data<float>()[i * 4 + j], 0.5f * acc + 2.0f * C.data<float>()[j], 1e-5);
      }
  }
}

TEST(OnnxImport, MatMulAddFusesIntoLinear) {
  ModelBuilder b;
  b.input("x", {-1, 5, 3});
  b.init_f32("W", {3, 4}, test::iota_f32(12));
  b.init_f32("bias", {4}, {1, 2, 3, 4});
  b.init_f32("W2", {4, 2}, test::iota_f32(8));
  b.node("MatMul", {"x", "W"}, {"h"}, "/fc1/MatMul");
  b.node("Add", {"bias", "h"}, {"y"}, "/fc1/Add");
  b.node("MatMul", {"y", "W2"}, {"z"}, "/fc2/MatMul");
  b.output("z");
  Graph g = b.load();
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[0].op, "aten.linear.default");
  EXPECT_EQ(g.nodes[0].module, "fc1");
  EXPECT_NE(g.nodes[0].inputs[2], kNoValue);
  EXPECT_EQ(g.value(g.nodes[0].inputs[1]).shape, (Shape{4, 3}));
  EXPECT_EQ(g.nodes[1].op, "aten.linear.default");
  EXPECT_EQ(g.nodes[1].inputs[2], kNoValue);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 5, 2}));
}

// x * 0.5 * (1 + erf(x / sqrt(2))) in the operand orders PyTorch emits.
TEST(OnnxImport, ErfGeluPatternFuses) {
  for (int variant = 0; variant < 3; ++variant) {
    ModelBuilder b;
    b.input("x", {-1, 8});
    b.init_f32("sqrt2", {}, {1.4142135f});
    b.init_f32("one", {}, {1.0f});
    b.init_f32("half", {}, {0.5f});
    b.node("Div", {"x", "sqrt2"}, {"d"});
    b.node("Erf", {"d"}, {"e"});
    b.node("Add", {"e", "one"}, {"p"});
    if (variant == 0) {
      b.node("Mul", {"x", "p"}, {"m"});
      b.node("Mul", {"m", "half"}, {"y"});
    } else if (variant == 1) {
      b.node("Mul", {"x", "half"}, {"h"});
      b.node("Mul", {"h", "p"}, {"y"});
    } else {
      b.node("Mul", {"p", "half"}, {"m"});
      b.node("Mul", {"x", "m"}, {"y"});
    }
    b.output("y");
    Graph g = b.load();
    ASSERT_EQ(g.nodes.size(), 1u) << "variant " << variant;
    EXPECT_EQ(g.nodes[0].op, "aten.gelu.default");
    EXPECT_EQ(g.nodes[0].attrs.s("approximate"), "none");
  }
}

TEST(OnnxImport, GeluOpset20) {
  ModelBuilder b(20);
  b.input("x", {2, 3});
  test::set_s(b.node("Gelu", {"x"}, {"y"}), "approximate", "tanh");
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(g.nodes[0].op, "aten.gelu.default");
  EXPECT_EQ(g.nodes[0].attrs.s("approximate"), "tanh");
}

TEST(OnnxImport, SoftmaxOpset11CoercesTo2D) {
  ModelBuilder b(11);
  b.input("x", {-1, 3, 4});
  test::set_i(b.node("Softmax", {"x"}, {"y"}), "axis", 1);
  b.output("y");
  Graph g = b.load();
  EXPECT_EQ(count_op(g, "aten.softmax.int"), 1);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 3, 4}));
  const Tensor x = input_f32({2, 3, 4});
  const Tensor y = Executor(g).run({x})[0];
  for (int n = 0; n < 2; ++n) {
    double sum = 0;
    for (int k = 0; k < 12; ++k) sum += std::exp(static_cast<double>(x.data<float>()[n * 12 + k]));
    for (int k = 0; k < 12; ++k)
      EXPECT_NEAR(y.data<float>()[n * 12 + k], std::exp(static_cast<double>(x.data<float>()[n * 12 + k])) / sum, 1e-5);
  }
  // The last axis maps directly.
  ModelBuilder b2(11);
  b2.input("x", {2, 3});
  test::set_i(b2.node("Softmax", {"x"}, {"y"}), "axis", -1);
  b2.output("y");
  Graph g2 = b2.load();
  ASSERT_EQ(g2.nodes.size(), 1u);
  EXPECT_EQ(g2.nodes[0].attrs.i("dim"), 1);
}

TEST(OnnxImport, ClipIdentityDropoutAndOutputClone) {
  ModelBuilder b(13);
  b.input("x", {2, 3});
  b.init_f32("lo", {}, {-0.25f});
  b.node("Identity", {"x"}, {"i"});
  b.node("Dropout", {"i"}, {"d"});
  b.node("Clip", {"d", "lo"}, {"y"});
  b.node("Identity", {"x"}, {"same"});
  b.output("y");
  b.output("same");
  Graph g = b.load();
  const Node* clip = find_op(g, "aten.hardtanh.default");
  ASSERT_NE(clip, nullptr);
  EXPECT_EQ(clip->inputs[0], g.inputs[0]);
  EXPECT_DOUBLE_EQ(clip->attrs.f("min_val"), -0.25);
  EXPECT_TRUE(std::isinf(clip->attrs.f("max_val")));
  EXPECT_EQ(count_op(g, "aten.clone.default"), 1);
  EXPECT_EQ(g.value(g.outputs[1]).name, "same");
}

TEST(OnnxImport, ConstantFoldingOfShapeOps) {
  ModelBuilder b(17);
  b.input("x", {-1, 4});
  auto* c = b.node("Constant", {}, {"dims"});
  test::set_ints(c, "value_ints", {2, 3});
  auto* cos = b.node("ConstantOfShape", {"dims"}, {"z"});
  auto* v = cos->add_attribute();
  v->set_name("value");
  v->set_type(::onnx::AttributeProto::TENSOR);
  v->mutable_t()->set_data_type(TP::FLOAT);
  v->mutable_t()->add_dims(1);
  v->mutable_t()->add_float_data(2.5f);
  b.node("Range", {"r0", "r1", "r2"}, {"r"});
  b.init_i64("r0", {}, {0});
  b.init_i64("r1", {}, {4});
  b.init_i64("r2", {}, {1});
  test::set_i(b.node("Cast", {"r"}, {"rf"}), "to", TP::FLOAT);
  b.node("Add", {"x", "rf"}, {"y"});
  b.output("y");
  b.output("z");
  Graph g = b.load();
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op, "aten.add.Tensor");
  EXPECT_EQ(g.value(g.nodes[0].inputs[1]).constant->to_double_vector(), (std::vector<double>{0, 1, 2, 3}));
  ASSERT_TRUE(g.value(g.outputs[1]).constant.has_value());
  EXPECT_EQ(g.value(g.outputs[1]).constant->to_double_vector(), std::vector<double>(6, 2.5));
}

TEST(OnnxImport, SliceSplitAndQdq) {
  ModelBuilder b(13);
  b.input("x", {-1, 6, 4});
  b.init_i64("st", {2}, {1, 0});
  b.init_i64("en", {2}, {5, 100});
  b.init_i64("ax", {2}, {1, 2});
  b.init_i64("sp", {2}, {1, 3});
  b.node("Slice", {"x", "st", "en", "ax"}, {"s"});
  test::set_i(b.node("Split", {"s", "sp"}, {"a", "c"}), "axis", 1);
  b.init_f32("scale", {}, {0.1f});
  auto* zp = b.g()->add_initializer();
  zp->set_name("zp");
  zp->set_data_type(TP::INT8);
  zp->add_int32_data(3);
  b.node("QuantizeLinear", {"c", "scale", "zp"}, {"q"});
  b.node("DequantizeLinear", {"q", "scale", "zp"}, {"dq"});
  b.output("a");
  b.output("dq");
  Graph g = b.load();
  EXPECT_EQ(count_op(g, "aten.slice_copy.Tensor"), 2);
  EXPECT_EQ(count_op(g, "aten.split_with_sizes.default"), 1);
  const Node* q = find_op(g, "quantized_decomposed.quantize_per_tensor.default");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(g.value(q->outputs[0]).dtype, DType::i8);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 1, 4}));
  EXPECT_EQ(g.value(g.outputs[1]).shape, (Shape{kBatch, 3, 4}));
}

TEST(OnnxImport, SymbolicDimOverride) {
  ModelBuilder b;
  b.input("x", {-1, -1});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  onnx::LoadOptions o;
  o.input_shapes["x"] = {kBatch, 7};
  Graph g = b.load(o);
  EXPECT_EQ(g.value(g.outputs[0]).shape, (Shape{kBatch, 7}));
}

// ---- ONNX node tests: every model that imports must compute the reference outputs. ----

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Loads a node test. Inputs after the first become initializers when `constants` is set (node
// tests feed shapes, axes and pads as inputs; real models have them as constants).
bool load_node_test(const std::filesystem::path& dir, bool constants, Graph& g, std::vector<Tensor>& inputs) try {
  ::onnx::ModelProto m;
  if (!m.ParseFromString(slurp(dir / "model.onnx"))) return false;
  auto* graph = m.mutable_graph();
  std::vector<::onnx::ValueInfoProto> keep;
  inputs.clear();
  for (int i = 0; i < graph->input_size(); ++i) {
    const auto pb = dir / "test_data_set_0" / ("input_" + std::to_string(i) + ".pb");
    if (constants && i >= 1) {
      auto* init = graph->add_initializer();
      if (!init->ParseFromString(slurp(pb))) return false;
      init->set_name(graph->input(i).name());
    } else {
      keep.push_back(graph->input(i));
      inputs.push_back(onnx::read_tensor_proto(pb.string()));
    }
  }
  graph->clear_input();
  for (auto& k : keep) *graph->add_input() = k;
  std::string bytes;
  m.SerializeToString(&bytes);
  g = onnx::load_from_bytes(bytes.data(), bytes.size(), dir.filename().string());
  return true;
} catch (const Error&) {
  return false;  // not importable (unsupported op or dtype): skipped
}

TEST(OnnxNodeTests, ImportedModelsMatchReferenceAndRoundTrip) {
  namespace fs = std::filesystem;
  const fs::path root = EQ_ONNX_NODE_TESTS_DIR;
  if (!fs::exists(root)) GTEST_SKIP() << "no ONNX node tests at " << root;
  std::vector<fs::path> dirs;
  for (const auto& d : fs::directory_iterator(root)) dirs.push_back(d.path());
  std::sort(dirs.begin(), dirs.end());
  int passed = 0;
  std::vector<std::string> imported;
  for (const fs::path& dir : dirs) {
    Graph g;
    std::vector<Tensor> inputs;
    if (!load_node_test(dir, false, g, inputs) && !load_node_test(dir, true, g, inputs)) continue;
    const std::string name = dir.filename().string();
    imported.push_back(name);
    std::vector<Tensor> outs;
    try {
      outs = Executor(g).run(inputs);
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": imported but does not run: " << e.what();
      continue;
    }
    bool ok = true;
    for (size_t i = 0; i < outs.size(); ++i) {
      const Tensor ref = onnx::read_tensor_proto((dir / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb")).string());
      ASSERT_EQ(outs[i].shape(), ref.shape()) << name << " output " << i;
      ASSERT_EQ(outs[i].dtype(), ref.dtype()) << name << " output " << i;
      if (dtype_is_float(ref.dtype())) {
        const std::vector<double> a = ref.to_double_vector(), b = outs[i].to_double_vector();
        for (size_t k = 0; k < a.size(); ++k)
          if (!(std::fabs(a[k] - b[k]) <= 1e-4 + 1e-3 * std::fabs(a[k])) && !(std::isnan(a[k]) && std::isnan(b[k]))) {
            ADD_FAILURE() << name << " output " << i << "[" << k << "]: " << b[k] << " vs " << a[k];
            ok = false;
            break;
          }
      } else {
        EXPECT_TRUE(outs[i].identical(ref)) << name << " output " << i;
      }
    }
    // Export round trip: bitwise identical outputs.
    const std::string bytes = onnx::save_to_bytes(g);
    const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), name + " (re-imported)");
    const std::vector<Tensor> outs2 = Executor(g2).run(inputs);
    for (size_t i = 0; i < outs.size(); ++i) EXPECT_TRUE(outs[i].identical(outs2[i])) << name << ": round trip output " << i;
    passed += ok;
  }
  // The core of the mapping must be among the imported tests.
  for (const char* must : {"test_conv_with_strides_padding", "test_gemm_all_attributes", "test_softmax_axis_0", "test_maxpool_2d_pads",
                           "test_averagepool_2d_same_upper", "test_reshape_reduced_dims", "test_slice", "test_transpose_default",
                           "test_concat_3d_axis_1", "test_flatten_axis0",
                           "test_batchnorm_example", "test_resize_upsample_scales_nearest", "test_quantizelinear",
                           "test_dequantizelinear", "test_reduce_mean_keepdims_example", "test_split_equal_parts_1d",
                           "test_convtranspose_pads", "test_matmul_2d", "test_prelu_example", "test_leakyrelu", "test_clip",
                           "test_unsqueeze_axis_0", "test_squeeze", "test_gather_0", "test_constant_pad"})
    EXPECT_NE(std::find(imported.begin(), imported.end(), must), imported.end()) << must << " did not import";
  EXPECT_GE(passed, 200);
}

}  // namespace
}  // namespace eq
