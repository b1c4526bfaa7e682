#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "edgequant/executor.h"
#include "onnx_test_util.h"

namespace eq {
namespace {

using test::ModelBuilder;
using TP = ::onnx::TensorProto;

Tensor input_f32(Shape s, float scale = 0.05f) {
  Tensor t(DType::f32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * static_cast<float>((i * 13) % 37) - 0.8f;
  return t;
}

void expect_round_trip(const Graph& g, const std::vector<std::vector<Tensor>>& runs) {
  const std::string bytes = onnx::save_to_bytes(g);
  const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), "round trip");
  ASSERT_EQ(g2.inputs.size(), g.inputs.size());
  ASSERT_EQ(g2.outputs.size(), g.outputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    EXPECT_EQ(g2.value(g2.inputs[i]).name, g.value(g.inputs[i]).name);
    EXPECT_EQ(g2.value(g2.inputs[i]).shape, g.value(g.inputs[i]).shape);
  }
  for (size_t i = 0; i < g.outputs.size(); ++i) EXPECT_EQ(g2.value(g2.outputs[i]).name, g.value(g.outputs[i]).name);
  std::multiset<std::string> ops1, ops2;
  for (const Node& n : g.nodes) ops1.insert(n.op);
  for (const Node& n : g2.nodes) ops2.insert(n.op);
  EXPECT_EQ(ops1, ops2);
  Executor e1(g), e2(g2);
  for (const auto& inputs : runs) {
    const std::vector<Tensor> a = e1.run(inputs), b = e2.run(inputs);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].identical(b[i])) << "output " << i;
  }
}

// Conv/BN/ReLU/pool/flatten/Gemm with a symbolic batch.
Graph small_cnn() {
  ModelBuilder b;
  b.input("image", {-1, 3, 8, 8});
  b.init_f32("w", {4, 3, 3, 3}, test::iota_f32(108, 0.02f));
  b.init_f32("cb", {4}, test::iota_f32(4));
  for (const char* n : {"g", "beta", "mean"}) b.init_f32(n, {4}, test::iota_f32(4, 0.05f, 0.5f));
  b.init_f32("var", {4}, {1.0f, 0.5f, 2.0f, 1.5f});
  b.init_f32("fw", {5, 64}, test::iota_f32(320, 0.01f));
  b.init_f32("fb", {5}, test::iota_f32(5));
  test::set_ints(b.node("Conv", {"image", "w", "cb"}, {"c"}, "/features/0/Conv"), "pads", {1, 1, 1, 1});
  b.node("BatchNormalization", {"c", "g", "beta", "mean", "var"}, {"bn"}, "/features/1/BatchNormalization");
  b.node("Relu", {"bn"}, {"r"}, "/features/2/Relu");
  auto* p = b.node("MaxPool", {"r"}, {"p"}, "/features/3/MaxPool");
  test::set_ints(p, "kernel_shape", {2, 2});
  test::set_ints(p, "strides", {2, 2});
  b.node("GlobalAveragePool", {"p"}, {"gap"}, "/pool/GlobalAveragePool");
  b.node("Flatten", {"gap"}, {"f"}, "/Flatten");
  auto* up = b.node("Resize", {"p", "", "scales"}, {"up"}, "/up/Resize");
  test::set_s(up, "mode", "nearest");
  b.init_f32("scales", {4}, {1, 1, 2, 2});
  auto* ap = b.node("AveragePool", {"up"}, {"ap"}, "/ap/AveragePool");
  test::set_ints(ap, "kernel_shape", {2, 2});
  test::set_ints(ap, "strides", {2, 2});
  b.init_i64("shape", {2}, {0, -1});
  b.node("Reshape", {"ap", "shape"}, {"flat"}, "/Reshape");
  test::set_i(b.node("Gemm", {"flat", "fw", "fb"}, {"logits"}, "/fc/Gemm"), "transB", 1);
  b.node("Sigmoid", {"f"}, {"aux"}, "/aux/Sigmoid");
  b.output("logits");
  b.output("aux");
  return b.load();
}

// Transformer block pieces: linear, layer norm, softmax attention, gelu, reshape with the batch.
Graph small_transformer() {
  ModelBuilder b;
  b.input("tokens", {-1, 4, 8});
  b.init_f32("ln_w", {8}, test::iota_f32(8, 0.05f, 0.8f));
  b.init_f32("ln_b", {8}, test::iota_f32(8, 0.01f, 0.0f));
  b.init_f32("Wqkv", {8, 24}, test::iota_f32(192, 0.01f, -0.1f));
  b.init_f32("bqkv", {24}, test::iota_f32(24, 0.01f, 0.0f));
  b.init_f32("W1", {8, 16}, test::iota_f32(128, 0.01f, -0.1f));
  b.init_f32("b1", {16}, test::iota_f32(16, 0.01f, 0.0f));
  b.init_f32("sqrt2", {}, {1.4142135f});
  b.init_f32("one", {}, {1.0f});
  b.init_f32("half", {}, {0.5f});
  b.init_f32("scale", {}, {0.35355339f});
  b.init_i64("split", {3}, {8, 8, 8});
  b.init_i64("heads", {4}, {0, 4, 2, 4});
  b.init_i64("merge", {3}, {0, 4, 8});
  b.node("LayerNormalization", {"tokens", "ln_w", "ln_b"}, {"ln"}, "/ln/LayerNormalization");
  b.node("MatMul", {"ln", "Wqkv"}, {"qkv0"}, "/attn/qkv/MatMul");
  b.node("Add", {"qkv0", "bqkv"}, {"qkv"}, "/attn/qkv/Add");
  test::set_i(b.node("Split", {"qkv", "split"}, {"q", "k", "v"}, "/attn/Split"), "axis", 2);
  for (const char* t : {"q", "k", "v"}) {
    b.node("Reshape", {t, "heads"}, {std::string(t) + "h"}, std::string("/attn/Reshape_") + t);
    test::set_ints(b.node("Transpose", {std::string(t) + "h"}, {std::string(t) + "t"}, std::string("/attn/Transpose_") + t), "perm",
                   {0, 2, 1, 3});
  }
  test::set_ints(b.node("Transpose", {"kt"}, {"ktt"}, "/attn/Transpose_kT"), "perm", {0, 1, 3, 2});
  b.node("MatMul", {"qt", "ktt"}, {"att0"}, "/attn/MatMul");
  b.node("Mul", {"att0", "scale"}, {"att1"}, "/attn/Mul");
  test::set_i(b.node("Softmax", {"att1"}, {"att"}, "/attn/Softmax"), "axis", -1);
  b.node("MatMul", {"att", "vt"}, {"ctx0"}, "/attn/MatMul_1");
  test::set_ints(b.node("Transpose", {"ctx0"}, {"ctx1"}, "/attn/Transpose_ctx"), "perm", {0, 2, 1, 3});
  b.node("Reshape", {"ctx1", "merge"}, {"ctx"}, "/attn/Reshape_ctx");
  b.node("Add", {"ctx", "tokens"}, {"res"}, "/attn/Add_res");
  b.node("MatMul", {"res", "W1"}, {"h0"}, "/mlp/fc1/MatMul");
  b.node("Add", {"h0", "b1"}, {"h"}, "/mlp/fc1/Add");
  b.node("Div", {"h", "sqrt2"}, {"gd"}, "/mlp/act/Div");
  b.node("Erf", {"gd"}, {"ge"}, "/mlp/act/Erf");
  b.node("Add", {"ge", "one"}, {"gp"}, "/mlp/act/Add");
  b.node("Mul", {"h", "gp"}, {"gm"}, "/mlp/act/Mul");
  b.node("Mul", {"gm", "half"}, {"out"}, "/mlp/act/Mul_1");
  b.output("out");
  return b.load();
}

TEST(OnnxExport, CnnRoundTripIsBitwiseIdentical) {
  const Graph g = small_cnn();
  expect_round_trip(g, {{input_f32({1, 3, 8, 8})}, {input_f32({3, 3, 8, 8})}});
}

TEST(OnnxExport, TransformerRoundTripIsBitwiseIdentical) {
  const Graph g = small_transformer();
  EXPECT_EQ(test::count_op(g, "aten.gelu.default"), 1);
  EXPECT_EQ(test::count_op(g, "aten.linear.default"), 2);
  expect_round_trip(g, {{input_f32({2, 4, 8})}, {input_f32({1, 4, 8})}});
}

TEST(OnnxExport, ModelHeaderAndBatchDimParam) {
  const Graph g = small_cnn();
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(onnx::save_to_bytes(g)));
  EXPECT_EQ(m.ir_version(), 8);
  ASSERT_EQ(m.opset_import_size(), 1);
  EXPECT_EQ(m.opset_import(0).version(), 17);
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(1).dim_value(), 3);
  bool found = false;
  for (const auto& n : m.graph().node()) found = found || n.name() == "/features/0/Conv";
  EXPECT_TRUE(found) << "node names are preserved";
}

TEST(OnnxExport, ReshapeWithBatchAwayFromItsIndexUsesShapeOfInput) {
  // [N,6] -> [2,N,3]: the batch token sits at index 1, where the input dim is 6.
  Graph g;
  const int x = g.add_value("x", DType::f32, {kBatch, 6});
  g.inputs.push_back(x);
  Attrs a;
  a.set("shape", std::vector<int64_t>{2, kBatchToken, 3});
  const int n = g.add_node("aten.reshape.default", "/Reshape", {x}, 1, a);
  infer_node(g, g.nodes[static_cast<size_t>(n)]);
  g.outputs.push_back(g.nodes[static_cast<size_t>(n)].outputs[0]);
  const std::string bytes = onnx::save_to_bytes(g);
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  bool has_shape = false;
  for (const auto& node : m.graph().node()) has_shape = has_shape || node.op_type() == "Shape";
  EXPECT_TRUE(has_shape);
  const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), "rt");
  ASSERT_EQ(g2.nodes.size(), 1u);
  EXPECT_EQ(g2.nodes[0].attrs.ints("shape"), (std::vector<int64_t>{2, kBatchToken, 3}));
}

TEST(OnnxExport, QdqRoundTrip) {
  ModelBuilder b(13);
  b.input("x", {-1, 3, 4});
  b.init_f32("s", {3}, {0.1f, 0.2f, 0.05f});
  auto* zp = b.g()->add_initializer();
  zp->set_name("zp");
  zp->set_data_type(TP::INT8);
  zp->add_dims(3);
  for (int v : {0, 2, -3}) zp->add_int32_data(v);
  test::set_i(b.node("QuantizeLinear", {"x", "s", "zp"}, {"q"}), "axis", 1);
  test::set_i(b.node("DequantizeLinear", {"q", "s", "zp"}, {"y"}), "axis", 1);
  b.output("y");
  const Graph g = b.load();
  EXPECT_EQ(test::count_op(g, "quantized_decomposed.quantize_per_channel.default"), 1);
  expect_round_trip(g, {{input_f32({2, 3, 4})}});
}

TEST(OnnxExport, SaveIsAtomic) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("eq_export_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const Graph g = small_cnn();
  const fs::path path = dir / "model.onnx";
  onnx::save(g, path.string());
  const Graph g2 = onnx::load(path.string());
  EXPECT_EQ(g2.nodes.size(), g.nodes.size());
  // Overwrite in place, then check that no temporary file is left.
  onnx::save(g, path.string());
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  // An unexportable graph leaves nothing behind and keeps the old file.
  Graph bad = g;
  bad.nodes[0].op = "aten.not_an_op.default";
  EXPECT_THROW(onnx::save(bad, (dir / "bad.onnx").string()), Error);
  EXPECT_FALSE(fs::exists(dir / "bad.onnx"));
  EXPECT_THROW(onnx::save(g, (dir / "missing_dir" / "m.onnx").string()), Error);
  files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.exists();
  EXPECT_EQ(files, 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace eq
