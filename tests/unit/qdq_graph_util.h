// Builds QDQ graphs the way convert_pt2e writes them (Q/DQ with scalar scale and zero point,
// int8 weights behind a per-channel dequantize, int32 bias), for the lowering and delegate tests.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "edgequant/graph.h"
#include "edgequant/ops.h"

namespace eq::qdqtest {

constexpr const char* kQ = "quantized_decomposed.quantize_per_tensor.default";
constexpr const char* kDQ = "quantized_decomposed.dequantize_per_tensor.default";
constexpr const char* kDQC = "quantized_decomposed.dequantize_per_channel.default";

struct QdqGraph {
  Graph g;
  int n = 0;
  std::string fresh(const std::string& base) { return "/m/" + base + "_" + std::to_string(n++); }

  int input(const std::string& name, Shape s) {
    const int v = g.add_value(name, DType::f32, std::move(s));
    g.inputs.push_back(v);
    return v;
  }
  int node(const std::string& op, std::vector<int> ins, Attrs a = {}, const std::string& name = "") {
    const int k = g.add_node(op, name.empty() ? fresh(op) : name, std::move(ins), 1, std::move(a));
    return g.nodes[static_cast<size_t>(k)].outputs[0];
  }
  int scale(float s) { return g.add_constant(fresh("scale"), Tensor::scalar<float>(s)); }
  int zp(int z, DType dt = DType::i8) {
    if (dt == DType::u8) return g.add_constant(fresh("zp"), Tensor::scalar<uint8_t>(static_cast<uint8_t>(z)));
    return g.add_constant(fresh("zp"), Tensor::scalar<int8_t>(static_cast<int8_t>(z)));
  }
  // x (f32) -> quantize; the quantize output is named `name` when given.
  int q(int x, float s, int z, const std::string& name = "", DType dt = DType::i8) {
    return node(kQ, {x, scale(s), zp(z, dt)}, {}, name);
  }
  int dq(int qv, float s, int z, DType dt = DType::i8) { return node(kDQ, {qv, scale(s), zp(z, dt)}); }
  int qdq(int x, float s, int z, const std::string& name = "", DType dt = DType::i8) {
    return dq(q(x, s, z, name, dt), s, z, dt);
  }
  // Constant int8 weight behind a per-channel (axis 0) dequantize with zero points 0.
  int weight(const Tensor& w, const std::vector<float>& scales) {
    const int wv = g.add_constant(fresh("w"), w);
    if (scales.size() == 1) return node(kDQ, {wv, scale(scales[0]), zp(0, DType::i8)});
    const int64_t c = static_cast<int64_t>(scales.size());
    const int sv = g.add_constant(fresh("ws"), Tensor::from_vector<float>({c}, scales));
    const int zv = g.add_constant(fresh("wz"), Tensor::from_vector<int8_t>({c}, std::vector<int8_t>(scales.size(), 0)));
    Attrs a;
    a.set("axis", int64_t{0});
    return node(kDQC, {wv, sv, zv}, a);
  }
  // Constant int32 bias behind a per-channel dequantize with scale x_scale * w_scale.
  int bias(const std::vector<int32_t>& b, float x_scale, const std::vector<float>& w_scales) {
    const int64_t c = static_cast<int64_t>(b.size());
    std::vector<float> s;
    for (size_t i = 0; i < b.size(); ++i) s.push_back(x_scale * w_scales[w_scales.size() == 1 ? 0 : i]);
    const int bv = g.add_constant(fresh("b"), Tensor::from_vector<int32_t>({c}, b));
    const int sv = g.add_constant(fresh("bs"), Tensor::from_vector<float>({c}, s));
    const int zv = g.add_constant(fresh("bz"), Tensor::from_vector<int32_t>({c}, std::vector<int32_t>(b.size(), 0)));
    Attrs a;
    a.set("axis", int64_t{0});
    return node(kDQC, {bv, sv, zv}, a);
  }
  void output(int v) { g.outputs.push_back(v); }
  Graph done() {
    infer_graph(g);
    g.validate();
    return g;
  }
};

inline Tensor random_i8(Shape s, uint32_t seed, int lo = -127, int hi = 127) {
  Tensor t(DType::i8, std::move(s));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}

}  // namespace eq::qdqtest
