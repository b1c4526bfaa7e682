// TFLite export of data movement: which operators the layout tracking avoids, and the errors for
// pads TFLite cannot express. (Bit exactness against the TFLite interpreter is checked with
// ai-edge-litert outside the unit tests.)
#include <gtest/gtest.h>

#include "edgequant/error.h"
#include "edgequant/tflite.h"
#include "qdq_graph_util.h"

namespace eq {
namespace {

using qdqtest::QdqGraph;

constexpr float kS = 0.05f;
constexpr int kZ = 3;

// One int8 movement node between Q/DQ pairs (the lowering keeps it as an int8 op).
int move(QdqGraph& q, const std::string& op, int x, Attrs a, const std::string& name = "") {
  return q.qdq(q.node(op, {x}, std::move(a), name), kS, kZ);
}

tflite::ExportReport export_report(const Graph& g) {
  tflite::ExportReport r;
  const std::string bytes = tflite::export_to_bytes(g, {}, &r);
  EXPECT_EQ(tflite::verify(bytes.data(), bytes.size()), "");
  return r;
}

int count(const tflite::ExportReport& r, const std::string& builtin) {
  const auto it = r.builtins.find(builtin);
  return it == r.builtins.end() ? 0 : it->second;
}

// ViT's patch embedding: [N,D,7,7] (NHWC in TFLite) -> flatten(2) -> transpose(1,2). The flatten
// keeps the permuted layout ([N,49,D] with layout {0,2,1}) and the permute makes it the identity:
// one RESHAPE, no TRANSPOSE.
TEST(TfliteMovement, FlattenThenPermuteNeedsNoTranspose) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 6, 7, 7}), kS, kZ);
  Attrs f;
  f.set("start_dim", int64_t{2});
  Attrs p;
  p.set("dims", std::vector<int64_t>{0, 2, 1});
  q.output(move(q, "aten.permute.default", move(q, "aten.flatten.using_ints", x, f), p));
  const tflite::ExportReport r = export_report(q.done());
  EXPECT_EQ(r.transposes, 0u);
  EXPECT_EQ(r.operators, 1u);
  EXPECT_EQ(count(r, "RESHAPE"), 1);
}

// A CNN head: flatten of an NHWC value read only by a linear is a plain RESHAPE (the
// FULLY_CONNECTED permutes its weight columns instead).
TEST(TfliteMovement, FlattenIntoLinearNeedsNoTranspose) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 4, 3, 3}), kS, kZ);
  Attrs f;
  f.set("start_dim", int64_t{1});
  const int flat = move(q, "aten.flatten.using_ints", x, f);
  const std::vector<float> sw = {0.01f};
  const int y = q.node("aten.linear.default", {flat, q.weight(qdqtest::random_i8({5, 36}, 7), sw), q.bias({1, -2, 3, 0, 5}, kS, sw)});
  q.output(q.qdq(y, 0.1f, -2));
  const tflite::ExportReport r = export_report(q.done());
  EXPECT_EQ(r.transposes, 0u);
  EXPECT_EQ(count(r, "RESHAPE"), 1);
  EXPECT_EQ(count(r, "FULLY_CONNECTED"), 1);
}

// Squeeze / unsqueeze that only move unit dims relabel the tensor: the model is the slice alone.
TEST(TfliteMovement, SqueezeAndUnsqueezeCostNothing) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 3, 8, 8}), kS, kZ);
  Attrs sl;
  sl.set("dim", int64_t{1});
  sl.set("start", int64_t{1});
  sl.set("end", int64_t{2});
  Attrs sq;
  sq.set("dim", std::vector<int64_t>{1});
  const int s = move(q, "aten.squeeze.dims", move(q, "aten.slice_copy.Tensor", x, sl), sq);
  q.output(move(q, "aten.unsqueeze.default", s, sq));
  const tflite::ExportReport r = export_report(q.done());
  EXPECT_EQ(r.operators, 1u);
  EXPECT_EQ(count(r, "STRIDED_SLICE"), 1);
}

// Pads of a channel of an NHWC value: one PAD on the TFLite dims, zero point fill; another fill
// value needs PADV2.
TEST(TfliteMovement, ConstantPadIsPadOrPadV2) {
  for (const double value : {static_cast<double>(kZ), 7.0}) {
    QdqGraph q;
    const int x = q.qdq(q.input("x", {kBatch, 3, 8, 8}), kS, kZ);
    Attrs pd;
    pd.set("pad", std::vector<int64_t>{0, 1, 0, 2, 0, 0, 1, 0});
    pd.set("value", value * kS - kZ * kS);  // the float value that quantizes to `value`
    q.output(move(q, "aten.pad.default", x, pd));
    const tflite::ExportReport r = export_report(q.done());
    EXPECT_EQ(r.operators, 1u);
    EXPECT_EQ(count(r, value == kZ ? "PAD" : "PADV2"), 1) << value;
  }
}

void expect_pad_error(const std::string& mode, int64_t amount, const std::string& what) {
  QdqGraph q;
  const int x = q.qdq(q.input("x", {kBatch, 3, 8, 8}), kS, kZ);
  Attrs pd;
  pd.set("pad", std::vector<int64_t>{0, 0, amount, 0, 0, 0, 0, 0});
  pd.set("mode", mode);
  q.output(move(q, "aten.pad.default", x, pd, "/pad/Pad"));
  try {
    (void)tflite::export_to_bytes(q.done());
    FAIL() << "no error for " << mode << " padding by " << amount;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/pad/Pad"), std::string::npos) << m;
    EXPECT_NE(m.find(what), std::string::npos) << m;
  }
}

TEST(TfliteMovement, PadsWithoutTfliteEquivalentAreErrors) {
  expect_pad_error("replicate", 2, "replicate padding by 2");
  expect_pad_error("reflect", 8, "reflect padding by 8");
}

}  // namespace
}  // namespace eq
