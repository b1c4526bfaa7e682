// QDQ graphs (quantized_decomposed.* around fp32 ops, as convert_pt2e writes them) through ONNX
// export and import: QuantizeLinear/DequantizeLinear with `axis` for per channel, int8/uint8/
// int16/int32 initializers, opset 21 for int16, and a round trip that gives back the same graph
// (ops, names, attributes, constants bit for bit) and bit-identical outputs.
//
// With EQ_QDQ_DUMP_DIR set, every model is also written there as <name>.onnx with
// <name>.input.npy, <name>.ref.npy (our executor's simulated-quant output) and <name>.lsb (the
// output scale), for tools/fixtures/check_qdq_ort.py:
//   EQ_QDQ_DUMP_DIR=/tmp/qdq build/tests/eq_unit_tests --gtest_filter='OnnxQdq.*'
//   for m in /tmp/qdq/*.onnx; do b=${m%.onnx}; python3 tools/fixtures/check_qdq_ort.py $m $b.input.npy $b.ref.npy --lsb $(cat $b.lsb); done
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "edgequant/dataset.h"
#include "edgequant/executor.h"
#include "edgequant/onnx.h"
#include "edgequant/ops.h"
#include "edgequant/quantize.h"
#include "edgequant/quantizer.h"

namespace eq {
namespace {

using TP = ::onnx::TensorProto;

const std::string kQT = "quantized_decomposed.quantize_per_tensor.default";
const std::string kQC = "quantized_decomposed.quantize_per_channel.default";
const std::string kDT = "quantized_decomposed.dequantize_per_tensor.default";
const std::string kDC = "quantized_decomposed.dequantize_per_channel.default";

Tensor random_f32(Shape s, std::mt19937& rng, float lo = -1.f, float hi = 1.f) {
  Tensor t(DType::f32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// A tensor of integer dtype `dt` from int64 values.
Tensor int_tensor(DType dt, Shape s, const std::vector<int64_t>& v) {
  Tensor t(dt, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t x = v[static_cast<size_t>(i)];
    switch (dt) {
      case DType::i8: t.data<int8_t>()[i] = static_cast<int8_t>(x); break;
      case DType::u8: t.data<uint8_t>()[i] = static_cast<uint8_t>(x); break;
      case DType::i16: t.data<int16_t>()[i] = static_cast<int16_t>(x); break;
      case DType::i32: t.data<int32_t>()[i] = static_cast<int32_t>(x); break;
      default: ADD_FAILURE() << "int_tensor: " << dtype_name(dt);
    }
  }
  return t;
}

std::pair<int64_t, int64_t> qrange(DType dt) {
  switch (dt) {
    case DType::i8: return {-128, 127};
    case DType::u8: return {0, 255};
    case DType::i16: return {-32768, 32767};
    default: return {INT32_MIN, INT32_MAX};
  }
}

// Builds a QDQ graph the way convert_pt2e lays it out. Built twice per model: once without
// activation Q/DQ to calibrate (min/max of every activation point on a sample input), then with
// Q/DQ whose qparams come from those ranges. Weights are symmetric int8 (per tensor or per
// channel), biases int32 with scale = input scale * weight scale and zero point 0.
struct QdqBuilder {
  Graph g;
  std::mt19937 rng{42};
  bool quantize = false;
  DType act = DType::i8;
  std::map<std::string, std::pair<float, float>> ranges;  // from the calibration build
  std::map<std::string, int> points;                      // calibration build: name -> value
  std::map<int, float> scale_of;                          // quantized build: dequantized value -> scale
  float out_scale = 0;

  QdqBuilder() { register_builtin_op_schemas(); }

  int input(const std::string& name, Shape s) {
    const int v = g.add_value(name, DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  int node(const std::string& op, const std::string& name, std::vector<int> ins, Attrs a = {}) {
    const int idx = g.add_node(op, name, std::move(ins), 1, std::move(a));
    infer_node(g, g.nodes[static_cast<size_t>(idx)]);
    return g.nodes[static_cast<size_t>(idx)].outputs[0];
  }
  int constant(const std::string& name, Tensor t) { return g.add_constant(name, std::move(t)); }

  // An activation quantization point: quantize -> dequantize (names after `name`).
  int act_point(int x, const std::string& name) {
    if (!quantize) {
      points[name] = x;
      return x;
    }
    auto [lo, hi] = ranges.count(name) ? ranges.at(name) : std::pair<float, float>{-1.f, 1.f};
    lo = std::min(lo, 0.f);
    hi = std::max(hi, 0.f);
    const auto [qmin, qmax] = qrange(act);
    float scale;
    int64_t zp;
    if (act == DType::i16) {  // symmetric, as int16 activations are
      scale = std::max(std::fabs(lo), std::fabs(hi)) / 32767.f;
      zp = 0;
    } else {
      scale = (hi - lo) / static_cast<float>(qmax - qmin);
      zp = std::clamp<int64_t>(qmin - static_cast<int64_t>(std::nearbyint(lo / scale)), qmin, qmax);
    }
    if (scale <= 0) scale = 1.f;
    const int s = constant(name + ".scale", Tensor::scalar<float>(scale));
    const int z = constant(name + ".zero_point", int_tensor(act, {}, {zp}));
    const int q = node(kQT, name + "/QuantizeLinear", {x, s, z});  // dtype from the zero point, as convert_pt2e
    g.value(q).name = name + "_q";
    const int dq = node(kDT, name + "/DequantizeLinear", {q, s, z});
    g.value(dq).name = name + "_dq";
    scale_of[dq] = scale;
    out_scale = scale;
    return dq;
  }

  // A symmetric int8 weight behind a dequantize: per channel along `axis`, or per tensor (axis < 0).
  // Returns the dequantized value; `scales` gets one scale per output channel along `axis`.
  int weight(const std::string& name, Shape s, int64_t axis, std::vector<float>& scales) {
    const Tensor w = random_f32(s, rng, -0.5f, 0.5f);
    if (!quantize) return constant(name, w);
    const int64_t channels = axis >= 0 ? s[static_cast<size_t>(axis)] : 1;
    int64_t inner = 1;
    for (size_t d = static_cast<size_t>(std::max<int64_t>(axis, 0)) + 1; d < s.size(); ++d) inner *= s[d];
    if (axis < 0) inner = w.numel();
    auto channel = [&](int64_t i) { return axis < 0 ? 0 : (i / inner) % channels; };
    std::vector<float> amax(static_cast<size_t>(channels), 0.f);
    for (int64_t i = 0; i < w.numel(); ++i)
      amax[static_cast<size_t>(channel(i))] = std::max(amax[static_cast<size_t>(channel(i))], std::fabs(w.data<float>()[i]));
    scales.assign(static_cast<size_t>(channels), 0.f);
    for (int64_t c = 0; c < channels; ++c) scales[static_cast<size_t>(c)] = amax[static_cast<size_t>(c)] / 127.f;
    std::vector<int64_t> q(static_cast<size_t>(w.numel()));
    for (int64_t i = 0; i < w.numel(); ++i)
      q[static_cast<size_t>(i)] = std::clamp<int64_t>(
          static_cast<int64_t>(std::nearbyint(w.data<float>()[i] / scales[static_cast<size_t>(channel(i))])), -127, 127);
    const int qw = constant(name + "_int8", int_tensor(DType::i8, s, q));
    if (axis < 0) {
      const int sc = constant(name + ".scale", Tensor::scalar<float>(scales[0]));
      const int zp = constant(name + ".zero_point", Tensor::scalar<int8_t>(0));
      return node(kDT, name + "/DequantizeLinear", {qw, sc, zp});
    }
    const int sc = constant(name + ".scale", Tensor::from_vector<float>({channels}, scales));
    const int zp = constant(name + ".zero_point", Tensor(DType::i8, {channels}));
    Attrs a;
    a.set("axis", axis);
    return node(kDC, name + "/DequantizeLinear", {qw, sc, zp}, a);
  }

  // An int32 bias behind a dequantize (per channel when the weight was), scale = x scale * w scale.
  int bias(const std::string& name, int64_t n, int x_dq, const std::vector<float>& w_scales) {
    const Tensor b = random_f32({n}, rng, -0.3f, 0.3f);
    if (!quantize) return constant(name, b);
    const float xs = scale_of.at(x_dq);
    std::vector<float> scales;
    for (int64_t c = 0; c < n; ++c) scales.push_back(xs * w_scales[w_scales.size() == 1 ? 0 : static_cast<size_t>(c)]);
    std::vector<int64_t> q;
    for (int64_t c = 0; c < n; ++c) q.push_back(static_cast<int64_t>(std::nearbyint(b.data<float>()[c] / scales[static_cast<size_t>(c)])));
    const int qb = constant(name + "_int32", int_tensor(DType::i32, {n}, q));
    if (w_scales.size() == 1) {
      const int sc = constant(name + ".scale", Tensor::scalar<float>(scales[0]));
      const int zp = constant(name + ".zero_point", Tensor::scalar<int32_t>(0));
      return node(kDT, name + "/DequantizeLinear", {qb, sc, zp});
    }
    const int sc = constant(name + ".scale", Tensor::from_vector<float>({n}, scales));
    const int zp = constant(name + ".zero_point", Tensor(DType::i32, {n}));
    Attrs a;
    a.set("axis", int64_t{0});
    return node(kDC, name + "/DequantizeLinear", {qb, sc, zp}, a);
  }
};

Attrs conv_attrs(int64_t groups = 1, int64_t stride = 1) {
  Attrs a;
  a.set("stride", std::vector<int64_t>{stride, stride});
  a.set("padding", std::vector<int64_t>{1, 1, 1, 1});
  a.set("dilation", std::vector<int64_t>{1, 1});
  a.set("groups", groups);
  return a;
}

struct ModelSpec {
  std::string name;
  DType act = DType::i8;
  Shape input;  // batch kBatch
  std::function<int(QdqBuilder&, int)> body;  // returns the (dequantized) output value
  int64_t opset = 17;
};

std::vector<Tensor> sample_inputs(const Graph& g, int64_t batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Tensor> ins;
  for (int v : g.inputs) {
    Shape s = g.value(v).shape;
    for (int64_t& d : s)
      if (d == kBatch) d = batch;
    ins.push_back(random_f32(s, rng));
  }
  return ins;
}

// Calibrates on a sample input, then builds the QDQ graph.
QdqBuilder build(const ModelSpec& spec) {
  QdqBuilder cal;
  cal.act = spec.act;
  cal.g.outputs.push_back(spec.body(cal, cal.input("x", spec.input)));
  std::map<std::string, std::pair<float, float>> ranges;
  {
    Executor e(cal.g);
    std::map<int, std::string> name_of;
    for (const auto& [name, v] : cal.points) name_of[v] = name;
    for (const auto& [name, v] : cal.points) ranges[name] = {INFINITY, -INFINITY};
    auto record = [&](int v, const Tensor& t) {
      auto it = name_of.find(v);
      if (it == name_of.end()) return;
      auto& r = ranges[it->second];
      for (int64_t i = 0; i < t.numel(); ++i) {
        r.first = std::min(r.first, t.data<float>()[i]);
        r.second = std::max(r.second, t.data<float>()[i]);
      }
    };
    const std::vector<Tensor> ins = sample_inputs(cal.g, 8, 5);
    for (size_t i = 0; i < ins.size(); ++i) record(cal.g.inputs[i], ins[i]);
    e.run(ins, record);
  }
  QdqBuilder q;
  q.quantize = true;
  q.act = spec.act;
  q.ranges = ranges;
  q.g.name = spec.name;
  q.g.opset = spec.opset;
  const int y = spec.body(q, q.input("x", spec.input));
  q.g.value(y).name = "y";
  q.g.outputs.push_back(y);
  q.g.validate();
  return q;
}

// ---- the models ----

// conv (weight per channel axis 0 or per tensor) -> relu -> flatten -> linear (Gemm).
ModelSpec conv_net(const std::string& name, DType act, bool per_channel) {
  ModelSpec m{name, act, {kBatch, 3, 6, 6}, nullptr};
  m.body = [per_channel](QdqBuilder& b, int x) {
    const int64_t axis = per_channel ? 0 : -1;
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int w = b.weight("conv.weight", {4, 3, 3, 3}, axis, ws);
    const int cb = b.bias("conv.bias", 4, xq, ws);
    const int c = b.act_point(b.node("aten.conv2d.default", "/conv/Conv", {xq, w, cb}, conv_attrs()), "conv");
    const int r = b.act_point(b.node("aten.relu.default", "/relu/Relu", {c}), "relu");
    Attrs fa;
    fa.set("start_dim", int64_t{1});
    fa.set("end_dim", int64_t{-1});
    const int f = b.act_point(b.node("aten.flatten.using_ints", "/Flatten", {r}, fa), "flatten");
    std::vector<float> fs;
    const int fw = b.weight("fc.weight", {5, 144}, axis, fs);
    const int fb = b.bias("fc.bias", 5, f, fs);
    return b.act_point(b.node("aten.linear.default", "/fc/Gemm", {f, fw, fb}), "fc");
  };
  return m;
}

// A bigger conv -> relu (optionally depthwise), whose output is the model output: enough
// elements for onnxruntime's integer requantization to show its rounding.
ModelSpec conv_relu_net(const std::string& name, DType act, bool depthwise) {
  ModelSpec m{name, act, {kBatch, 8, 10, 10}, nullptr};
  m.body = [depthwise](QdqBuilder& b, int x) {
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int64_t cout = depthwise ? 8 : 16, groups = depthwise ? 8 : 1;
    const int w = b.weight("conv.weight", {cout, 8 / groups, 3, 3}, 0, ws);
    const int cb = b.bias("conv.bias", cout, xq, ws);
    const int c = b.act_point(b.node("aten.conv2d.default", "/conv/Conv", {xq, w, cb}, conv_attrs(groups)), "conv");
    return b.act_point(b.node("aten.relu.default", "/relu/Relu", {c}), "relu");
  };
  return m;
}

// conv_transpose2d, weight [Cin, Cout, k, k] per channel along axis 1.
ModelSpec conv_transpose_net() {
  ModelSpec m{"convt_i8_axis1", DType::i8, {kBatch, 4, 5, 5}, nullptr};
  m.body = [](QdqBuilder& b, int x) {
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int w = b.weight("up.weight", {4, 6, 3, 3}, 1, ws);
    const int cb = b.bias("up.bias", 6, xq, ws);
    Attrs a = conv_attrs(1, 2);
    a.set("output_padding", std::vector<int64_t>{1, 1});
    return b.act_point(b.node("aten.conv_transpose2d.input", "/up/ConvTranspose", {xq, w, cb}, a), "up");
  };
  return m;
}

// linear on rank 3 (exported as Transpose + MatMul + Add), then one without bias on rank 2.
ModelSpec linear_net() {
  ModelSpec m{"linear_i8", DType::i8, {kBatch, 5, 12}, nullptr};
  m.body = [](QdqBuilder& b, int x) {
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int w = b.weight("fc1.weight", {7, 12}, 0, ws);
    const int bb = b.bias("fc1.bias", 7, xq, ws);
    const int h = b.act_point(b.node("aten.linear.default", "/fc1/MatMul", {xq, w, bb}), "fc1");
    Attrs ra;
    ra.set("shape", std::vector<int64_t>{kBatchToken, 35});
    const int f = b.act_point(b.node("aten.reshape.default", "/Reshape", {h}, ra), "reshape");
    std::vector<float> ws2;
    const int w2 = b.weight("fc2.weight", {3, 35}, 0, ws2);
    return b.act_point(b.node("aten.linear.default", "/fc2/Gemm", {f, w2, kNoValue}), "fc2");
  };
  return m;
}

// A linear with one output: its per-channel weight has scale [1] and must stay per channel.
ModelSpec one_channel_net() {
  ModelSpec m{"linear_one_channel", DType::u8, {kBatch, 12}, nullptr};
  m.body = [](QdqBuilder& b, int x) {
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int w = b.weight("head.weight", {1, 12}, 0, ws);
    const int bb = b.bias("head.bias", 1, xq, ws);
    return b.act_point(b.node("aten.linear.default", "/head/Gemm", {xq, w, bb}), "head");
  };
  return m;
}

// Linears with int8 weights but a float bias (torch's XNNPACKQuantizer leaves bias unquantized):
// rank 2 (Gemm with a float C) and rank 3 (MatMul + Add).
ModelSpec float_bias_net() {
  ModelSpec m{"linear_float_bias", DType::i8, {kBatch, 4, 12}, nullptr};
  m.body = [](QdqBuilder& b, int x) {
    const int xq = b.act_point(x, "input");
    std::vector<float> ws;
    const int w = b.weight("fc1.weight", {6, 12}, 0, ws);
    const int bb = b.constant("fc1.bias", random_f32({6}, b.rng));
    const int h = b.act_point(b.node("aten.linear.default", "/fc1/MatMul", {xq, w, bb}), "fc1");
    Attrs ra;
    ra.set("shape", std::vector<int64_t>{kBatchToken, 24});
    const int f = b.act_point(b.node("aten.reshape.default", "/Reshape", {h}, ra), "reshape");
    std::vector<float> ws2;
    const int w2 = b.weight("fc2.weight", {3, 24}, -1, ws2);
    const int b2 = b.constant("fc2.bias", random_f32({3}, b.rng));
    return b.act_point(b.node("aten.linear.default", "/fc2/Gemm", {f, w2, b2}), "fc2");
  };
  return m;
}

// ---- checks ----

// Structural equality: same inputs/outputs, nodes in the same order with the same op, name,
// attributes and input wiring; constants bit-identical and equally named.
void expect_graph_equal(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.inputs.size(), b.inputs.size());
  ASSERT_EQ(a.outputs.size(), b.outputs.size());
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  auto same_value = [&](int va, int vb, const std::string& where) {
    if (va < 0 || vb < 0) {
      EXPECT_EQ(va < 0, vb < 0) << where;
      return;
    }
    const Value& x = a.value(va);
    const Value& y = b.value(vb);
    EXPECT_EQ(x.name, y.name) << where;
    EXPECT_EQ(x.dtype, y.dtype) << where << " " << x.name;
    EXPECT_EQ(x.shape, y.shape) << where << " " << x.name;
    EXPECT_EQ(x.producer, y.producer) << where << " " << x.name;
    ASSERT_EQ(x.constant.has_value(), y.constant.has_value()) << where << " " << x.name;
    if (x.constant) {
      EXPECT_TRUE(x.constant->identical(*y.constant)) << where << " " << x.name;
    }
    if (x.producer < 0 && !x.constant) {
      const auto ia = std::find(a.inputs.begin(), a.inputs.end(), va) - a.inputs.begin();
      const auto ib = std::find(b.inputs.begin(), b.inputs.end(), vb) - b.inputs.begin();
      EXPECT_EQ(ia, ib) << where << " " << x.name;
    }
  };
  for (size_t i = 0; i < a.inputs.size(); ++i) same_value(a.inputs[i], b.inputs[i], "input " + std::to_string(i));
  for (size_t i = 0; i < a.outputs.size(); ++i) same_value(a.outputs[i], b.outputs[i], "output " + std::to_string(i));
  for (size_t n = 0; n < a.nodes.size(); ++n) {
    const Node& x = a.nodes[n];
    const Node& y = b.nodes[n];
    const std::string where = "node " + std::to_string(n) + " " + x.describe();
    EXPECT_EQ(x.op, y.op) << where;
    EXPECT_EQ(x.name, y.name) << where;
    EXPECT_EQ(x.module, y.module) << where;
    EXPECT_TRUE(x.attrs == y.attrs) << where;
    // Trailing omitted inputs are not significant.
    std::vector<int> xi = x.inputs, yi = y.inputs;
    while (!xi.empty() && xi.back() < 0) xi.pop_back();
    while (!yi.empty() && yi.back() < 0) yi.pop_back();
    ASSERT_EQ(xi.size(), yi.size()) << where;
    for (size_t k = 0; k < xi.size(); ++k) same_value(xi[k], yi[k], where + " input " + std::to_string(k));
    ASSERT_EQ(x.outputs.size(), y.outputs.size()) << where;
    for (size_t k = 0; k < x.outputs.size(); ++k) same_value(x.outputs[k], y.outputs[k], where + " output " + std::to_string(k));
  }
}

::onnx::ModelProto parse(const std::string& bytes) {
  ::onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

const ::onnx::AttributeProto* find_attr(const ::onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

std::map<std::string, int> op_counts(const ::onnx::ModelProto& m) {
  std::map<std::string, int> c;
  for (const auto& n : m.graph().node()) ++c[n.op_type()];
  return c;
}

const ::onnx::TensorProto* find_init(const ::onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

// Round trip: export, import, graph-equal, bit-identical outputs. Writes the model for the ORT
// check when EQ_QDQ_DUMP_DIR is set (on `dump_input`, or random inputs). Returns the exported bytes.
std::string expect_round_trip(const Graph& g, float out_scale, const Tensor* dump_input = nullptr) {
  const std::string bytes = onnx::save_to_bytes(g);
  const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), g.name);
  expect_graph_equal(g, g2);
  const std::vector<Tensor> ins = sample_inputs(g, 3, 11);
  Executor e1(g), e2(g2);
  const std::vector<Tensor> a = e1.run(ins), b = e2.run(ins);
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) EXPECT_TRUE(a[i].identical(b[i])) << "output " << i;
  // Export -> import -> export gives the same bytes.
  EXPECT_EQ(onnx::save_to_bytes(g2), bytes);
  if (const char* dir = std::getenv("EQ_QDQ_DUMP_DIR"); dir && *dir) {
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    const std::string base = (fs::path(dir) / g.name).string();
    onnx::save(g, base + ".onnx");
    const std::vector<Tensor> big = dump_input ? std::vector<Tensor>{*dump_input} : sample_inputs(g, 16, 23);
    write_npy(big[0], base + ".input.npy");
    write_npy(Executor(g).run(big)[0], base + ".ref.npy");
    char lsb[32];
    std::snprintf(lsb, sizeof lsb, "%.9g", static_cast<double>(out_scale));
    std::ofstream(base + ".lsb") << lsb << "\n";
  }
  return bytes;
}
std::string expect_round_trip(const QdqBuilder& q) { return expect_round_trip(q.g, q.out_scale); }

TEST(OnnxQdq, PerTensorInt8RoundTrip) {
  const QdqBuilder q = build(conv_net("conv_i8_per_tensor", DType::i8, false));
  const auto m = parse(expect_round_trip(q));
  EXPECT_EQ(m.opset_import(0).version(), 17);
  const auto ops = op_counts(m);
  EXPECT_EQ(ops.at("QuantizeLinear"), 5);
  EXPECT_EQ(ops.at("DequantizeLinear"), 9);  // 5 activations, 2 weights, 2 biases
  EXPECT_EQ(ops.at("Conv"), 1);
  EXPECT_EQ(ops.at("Gemm"), 1);
  for (const auto& n : m.graph().node())
    if (n.op_type() == "QuantizeLinear" || n.op_type() == "DequantizeLinear") {
      EXPECT_EQ(find_attr(n, "axis"), nullptr) << n.name();
    }
  EXPECT_EQ(find_init(m, "conv.weight_int8")->data_type(), TP::INT8);
  EXPECT_EQ(find_init(m, "conv.bias_int32")->data_type(), TP::INT32);
  EXPECT_EQ(find_init(m, "conv.bias.zero_point")->data_type(), TP::INT32);
  EXPECT_EQ(find_init(m, "input.zero_point")->data_type(), TP::INT8);
  EXPECT_EQ(find_init(m, "input.zero_point")->dims_size(), 0);  // 0-d, per tensor
  EXPECT_EQ(find_init(m, "input.scale")->data_type(), TP::FLOAT);
  EXPECT_EQ(find_init(m, "input.scale")->dims_size(), 0);
  EXPECT_EQ(find_init(m, "conv.weight_int8")->raw_data().size(), 4u * 3 * 3 * 3);
}

TEST(OnnxQdq, PerTensorUint8RoundTrip) {
  const QdqBuilder q = build(conv_net("conv_u8_per_tensor", DType::u8, false));
  const auto m = parse(expect_round_trip(q));
  EXPECT_EQ(find_init(m, "relu.zero_point")->data_type(), TP::UINT8);
  EXPECT_EQ(find_init(m, "conv.weight_int8")->data_type(), TP::INT8);
  // The graph's Q nodes quantize to u8 (their zero point's dtype) and read back so.
  const Graph g2 = onnx::load_from_bytes(m.SerializeAsString().data(), m.ByteSizeLong(), "u8");
  for (const Node& n : g2.nodes)
    if (n.op == kQT) {
      EXPECT_EQ(g2.value(n.outputs[0]).dtype, DType::u8);
    }
}

TEST(OnnxQdq, PerChannelAxis0RoundTrip) {
  const QdqBuilder q = build(conv_net("conv_i8_per_channel", DType::i8, true));
  int per_channel = 0;
  for (const Node& n : q.g.nodes) per_channel += n.op == kDC;
  EXPECT_EQ(per_channel, 4);  // conv and fc weights and biases
  const auto m = parse(expect_round_trip(q));
  int with_axis = 0;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() != "DequantizeLinear") continue;
    const auto* axis = find_attr(n, "axis");
    if (!axis) continue;
    ++with_axis;
    EXPECT_EQ(axis->i(), 0) << n.name();
    EXPECT_EQ(axis->type(), ::onnx::AttributeProto::INT);
  }
  EXPECT_EQ(with_axis, 4);
  EXPECT_EQ(find_init(m, "conv.weight.scale")->dims(0), 4);
  EXPECT_EQ(find_init(m, "conv.weight.zero_point")->data_type(), TP::INT8);
  EXPECT_EQ(find_init(m, "conv.bias.zero_point")->data_type(), TP::INT32);
  EXPECT_EQ(find_init(m, "conv.bias.zero_point")->dims(0), 4);
}

TEST(OnnxQdq, ConvReluPerChannelAndDepthwiseRoundTrip) {
  expect_round_trip(build(conv_relu_net("conv_relu_u8", DType::u8, false)));
  expect_round_trip(build(conv_relu_net("dwconv_relu_i8", DType::i8, true)));
}

TEST(OnnxQdq, PerChannelAxis1ConvTransposeRoundTrip) {
  const QdqBuilder q = build(conv_transpose_net());
  const auto m = parse(expect_round_trip(q));
  bool found = false;
  for (const auto& n : m.graph().node())
    if (n.op_type() == "DequantizeLinear" && n.input(0) == "up.weight_int8") {
      found = true;
      ASSERT_NE(find_attr(n, "axis"), nullptr);
      EXPECT_EQ(find_attr(n, "axis")->i(), 1);
    }
  EXPECT_TRUE(found);
}

TEST(OnnxQdq, LinearRank3AndWithoutBiasRoundTrip) {
  const QdqBuilder q = build(linear_net());
  const auto m = parse(expect_round_trip(q));
  const auto ops = op_counts(m);
  EXPECT_EQ(ops.at("MatMul"), 1);  // rank 3: Transpose + MatMul + Add
  EXPECT_EQ(ops.at("Transpose"), 1);
  EXPECT_EQ(ops.at("Gemm"), 1);  // rank 2, no bias
}

TEST(OnnxQdq, FloatBiasRoundTrip) {
  const QdqBuilder q = build(float_bias_net());
  const auto m = parse(expect_round_trip(q));
  EXPECT_EQ(find_init(m, "fc2.bias")->data_type(), TP::FLOAT);
  EXPECT_EQ(op_counts(m).at("Gemm"), 1);
}

TEST(OnnxQdq, OneChannelPerChannelStaysPerChannel) {
  const QdqBuilder q = build(one_channel_net());
  const auto m = parse(expect_round_trip(q));
  EXPECT_EQ(find_init(m, "head.weight.scale")->dims_size(), 1);
}

TEST(OnnxQdq, Int16ActivationsUseOpset21) {
  const QdqBuilder q = build(conv_net("conv_i16", DType::i16, true));
  const auto m = parse(expect_round_trip(q));
  EXPECT_EQ(m.opset_import(0).version(), 21);
  EXPECT_EQ(find_init(m, "input.zero_point")->data_type(), TP::INT16);
  EXPECT_EQ(find_init(m, "conv.weight_int8")->data_type(), TP::INT8);
  const Graph g2 = onnx::load_from_bytes(m.SerializeAsString().data(), m.ByteSizeLong(), "i16");
  EXPECT_EQ(g2.opset, 21);
  for (const Node& n : g2.nodes)
    if (n.op == kQT) {
      EXPECT_EQ(g2.value(n.outputs[0]).dtype, DType::i16);
    }
}

TEST(OnnxQdq, OpsetFollowsTheGraphRaisedTo13) {
  for (const auto& [in, want] : std::vector<std::pair<int64_t, int64_t>>{{11, 13}, {13, 13}, {17, 17}, {19, 19}, {21, 21}}) {
    ModelSpec spec = conv_net("conv_opset", DType::i8, true);
    spec.opset = in;
    const QdqBuilder q = build(spec);
    const std::string bytes = onnx::save_to_bytes(q.g);
    EXPECT_EQ(parse(bytes).opset_import(0).version(), want) << "graph opset " << in;
    const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), "opset");
    expect_graph_equal(q.g, g2);
  }
}

TEST(OnnxQdq, QuantizeWithoutZeroPoint) {
  // u8 without a zero point is ONNX's default; i8 without one gets an explicit zero point below
  // opset 21 and output_dtype from 21 on. Both import to the same dtype.
  for (const auto& [dt, opset] : std::vector<std::pair<DType, int64_t>>{{DType::u8, 17}, {DType::i8, 17}, {DType::i8, 21}}) {
    Graph g;
    g.opset = opset;
    register_builtin_op_schemas();
    const int x = g.add_value("x", DType::f32, {kBatch, 4});
    g.inputs.push_back(x);
    const int s = g.add_constant("s", Tensor::scalar<float>(0.05f));
    Attrs a;
    a.set("dtype", std::string(dtype_name(dt)));
    const int qi = g.add_node(kQT, "/q", {x, s}, 1, a);
    infer_node(g, g.nodes[static_cast<size_t>(qi)]);
    const int di = g.add_node(kDT, "/dq", {g.nodes[static_cast<size_t>(qi)].outputs[0], s}, 1);
    infer_node(g, g.nodes[static_cast<size_t>(di)]);
    g.outputs.push_back(g.nodes[static_cast<size_t>(di)].outputs[0]);
    const std::string bytes = onnx::save_to_bytes(g);
    const Graph g2 = onnx::load_from_bytes(bytes.data(), bytes.size(), "nozp");
    ASSERT_EQ(g2.nodes.size(), 2u);
    EXPECT_EQ(g2.value(g2.nodes[0].outputs[0]).dtype, dt);
    // Where ONNX carries no zero point (u8, or output_dtype at opset 21) the attribute comes back;
    // the explicit zero point written below opset 21 carries the dtype itself.
    const bool explicit_zp = g2.nodes[0].inputs.size() > 2 && g2.nodes[0].inputs[2] >= 0;
    EXPECT_EQ(explicit_zp, dt != DType::u8 && opset < 21);
    if (!explicit_zp) {
      EXPECT_EQ(g2.nodes[0].attrs.s("dtype"), std::string(dtype_name(dt)));
    }
    const std::vector<Tensor> ins = sample_inputs(g, 2, 3);
    EXPECT_TRUE(Executor(g).run(ins)[0].identical(Executor(g2).run(ins)[0]));
  }
}

TEST(OnnxQdq, ConvertedFixtureModelsRoundTrip) {
  // The fixture models through fold_batch_norm + calibrate_and_quantize (convert_pt2e's QDQ form,
  // per-channel int8 weights, minmax activations): export -> import gives the same graph.
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EQ_FIXTURES_DIR) / "models";
  const GenericQuantizer quantizer{symmetric_int8_config(true, ObserverSpec{ObserverKind::minmax})};
  for (const std::string name : {"cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"}) {
    SCOPED_TRACE(name);
    Graph g = onnx::load((dir / (name + ".onnx")).string());
    fold_batch_norm(g);
    const Tensor x = read_npy((dir / (name + ".input.npy")).string());
    Graph q = calibrate_and_quantize(g, {{x}}, quantizer);
    q.name = name + "_converted";
    // convert_pt2e may give two Q/DQ nodes of one value the same name (vit: a value quantized
    // for two sharing groups); the exporter must make them unique for ONNX Runtime, so the
    // round trip is compared on uniquely named nodes.
    std::set<std::string> seen;
    for (Node& n : q.nodes)
      for (int k = 1; !seen.insert(n.name).second; ++k) n.name = n.name.substr(0, n.name.rfind("#")) + "#" + std::to_string(k);
    int qdq = 0;
    for (const Node& n : q.nodes) qdq += n.op.rfind("quantized_decomposed.", 0) == 0;
    EXPECT_GT(qdq, 0);
    // The output's LSB: the scale of the dequantize producing it (1 when the output is float).
    float lsb = 1.f;
    const int p = q.value(q.outputs[0]).producer;
    if (p >= 0 && q.nodes[static_cast<size_t>(p)].op == kDT) lsb = q.value(q.nodes[static_cast<size_t>(p)].inputs[1]).constant->data<float>()[0];
    expect_round_trip(q, lsb, &x);
  }
}

TEST(OnnxQdq, RepeatedNodeNamesAreMadeUniqueForOnnxRuntime) {
  Graph g = build(one_channel_net()).g;
  for (Node& n : g.nodes) n.name = "/same";
  const auto m = parse(onnx::save_to_bytes(g));
  std::set<std::string> names;
  for (const auto& n : m.graph().node()) EXPECT_TRUE(names.insert(n.name()).second) << n.name();
  EXPECT_EQ(names.count("/same"), 1u);
}

}  // namespace
}  // namespace eq
