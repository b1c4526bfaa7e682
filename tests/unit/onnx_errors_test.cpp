#include <gtest/gtest.h>

#include "onnx_test_util.h"

namespace eq {
namespace {

using test::ModelBuilder;

std::string load_error(const ModelBuilder& b, const onnx::LoadOptions& o = {}) {
  try {
    b.load(o);
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << "expected an eq::Error";
  return "";
}

TEST(OnnxErrors, MalformedBytesNameTheOrigin) {
  const std::string junk = "\x0a\xff\xff\xff\xff\x0f not a model";
  try {
    onnx::load_from_bytes(junk.data(), junk.size(), "broken.onnx");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.onnx"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
  EXPECT_THROW(onnx::load("/nonexistent/model.onnx"), Error);
}

TEST(OnnxErrors, UnsupportedOpNamesNodeTypeAndOpset) {
  ModelBuilder b(15);
  b.input("x", {1, 2});
  b.node("Foo", {"x"}, {"y"}, "my_node");
  b.output("y");
  EXPECT_EQ(load_error(b), "node 'my_node' (Foo, opset 15): unsupported op");
}

TEST(OnnxErrors, MissingInput) {
  ModelBuilder b;
  b.input("x", {1, 2});
  b.node("Add", {"x", "ghost"}, {"y"}, "X");
  b.output("y");
  EXPECT_EQ(load_error(b), "node 'X': input 'ghost' is not produced by any node, initializer or graph input");
}

TEST(OnnxErrors, CycleNamesANode) {
  ModelBuilder b;
  b.input("x", {1, 2});
  b.node("Add", {"x", "b"}, {"a"}, "first");
  b.node("Relu", {"a"}, {"b"}, "second");
  b.output("b");
  const std::string msg = load_error(b);
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  EXPECT_TRUE(msg.find("'first'") != std::string::npos || msg.find("'second'") != std::string::npos) << msg;
}

TEST(OnnxErrors, OpsetOutOfRange) {
  for (int64_t opset : {9, 22}) {
    ModelBuilder b(opset);
    b.input("x", {1});
    b.node("Relu", {"x"}, {"y"});
    b.output("y");
    const std::string msg = load_error(b);
    EXPECT_NE(msg.find("opset " + std::to_string(opset)), std::string::npos) << msg;
    EXPECT_NE(msg.find("test.onnx"), std::string::npos) << msg;
  }
}

TEST(OnnxErrors, SymbolicNonBatchDim) {
  ModelBuilder b;
  b.input("tokens", {-1, -1});
  b.node("Relu", {"tokens"}, {"y"});
  b.output("y");
  const std::string msg = load_error(b);
  EXPECT_NE(msg.find("input 'tokens'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 1"), std::string::npos) << msg;
  onnx::LoadOptions o;
  o.input_shapes["tokens"] = {kBatch, 16};
  EXPECT_NO_THROW(b.load(o));
}

TEST(OnnxErrors, NonDefaultDomain) {
  ModelBuilder b;
  b.input("x", {1});
  b.node("Relu", {"x"}, {"y"}, "custom")->set_domain("com.microsoft");
  b.output("y");
  const std::string msg = load_error(b);
  EXPECT_NE(msg.find("'custom'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("com.microsoft"), std::string::npos) << msg;
}

TEST(OnnxErrors, ArithmeticOnTheBatch) {
  ModelBuilder b;
  b.input("x", {-1, 4});
  b.init_i64("zero", {}, {0});
  b.init_i64("two", {}, {2});
  b.node("Shape", {"x"}, {"s"});
  b.node("Gather", {"s", "zero"}, {"n"});
  b.node("Mul", {"n", "two"}, {"n2"}, "/Mul");
  b.output("n2");
  const std::string msg = load_error(b);
  EXPECT_EQ(msg, "shape arithmetic on the batch dimension at node '/Mul'; export with a static batch or keep the batch out of reshapes");
}

TEST(OnnxErrors, UsedDropoutMaskAndTrainingBatchNorm) {
  ModelBuilder b;
  b.input("x", {1, 2});
  b.node("Dropout", {"x"}, {"y", "mask"}, "drop");
  b.output("y");
  b.output("mask");
  EXPECT_NE(load_error(b).find("node 'drop'"), std::string::npos);

  ModelBuilder b2(15);
  b2.input("x", {1, 2, 2, 2});
  for (const char* n : {"s", "bb", "m", "v"}) b2.init_f32(n, {2}, {1, 1});
  test::set_i(b2.node("BatchNormalization", {"x", "s", "bb", "m", "v"}, {"y"}, "bn"), "training_mode", 1);
  b2.output("y");
  EXPECT_NE(load_error(b2).find("training_mode"), std::string::npos);
}

TEST(OnnxErrors, BadTensorsNameTheTensor) {
  ModelBuilder b;
  b.input("x", {2});
  auto* t = b.g()->add_initializer();
  t->set_name("weights");
  t->set_data_type(::onnx::TensorProto::DOUBLE);
  t->add_dims(2);
  t->add_double_data(1);
  t->add_double_data(2);
  b.node("Add", {"x", "weights"}, {"y"});
  b.output("y");
  std::string msg = load_error(b);
  EXPECT_NE(msg.find("'weights'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("DOUBLE"), std::string::npos) << msg;

  ModelBuilder b2;
  b2.input("x", {2});
  auto* t2 = b2.init_f32("short", {3}, {1, 2});
  (void)t2;
  b2.node("Add", {"x", "short"}, {"y"});
  b2.output("y");
  msg = load_error(b2);
  EXPECT_NE(msg.find("'short'"), std::string::npos) << msg;
}

TEST(OnnxErrors, ResizeCubicIsUnsupported) {
  ModelBuilder b(13);
  b.input("x", {1, 1, 2, 2});
  b.init_f32("scales", {4}, {1, 1, 2, 2});
  test::set_s(b.node("Resize", {"x", "", "scales"}, {"y"}, "up"), "mode", "cubic");
  b.output("y");
  EXPECT_EQ(load_error(b), "node 'up' (Resize, opset 13): unsupported Resize mode 'cubic'");
}

}  // namespace
}  // namespace eq
