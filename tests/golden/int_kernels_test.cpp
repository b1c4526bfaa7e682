// Integer reference kernels against golden vectors from the real TFLite interpreter's reference
// kernels (fixtures/int_kernels/*.json, written by tools/fixtures/make_int_kernel_goldens.py with
// ai-edge-litert, OpResolverType.BUILTIN_REF). Every output must match bit for bit; multipliers
// are derived here from the float32 scales with our own helpers, so the whole path is covered.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgequant/int_kernels.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace eq::intk;

namespace {

json load(const std::string& name) {
  std::ifstream f(fs::path(EQ_FIXTURES_DIR) / "int_kernels" / name);
  if (!f) {
    ADD_FAILURE() << "missing fixture " << name;
    return json::object({{"cases", json::array()}});
  }
  return json::parse(f);
}

template <typename T>
std::vector<T> vec(const json& j) {
  std::vector<T> v;
  v.reserve(j.size());
  for (const auto& x : j) v.push_back(static_cast<T>(x.get<int64_t>()));
  return v;
}

float f32(const json& j) { return static_cast<float>(j.get<double>()); }

std::vector<int8_t> expected_i8(const json& c) { return vec<int8_t>(c.at("expected")); }

void run_conv(bool depthwise) {
  const json j = load(depthwise ? "depthwise_conv2d.json" : "conv2d.json");
  ASSERT_FALSE(j.at("cases").empty());
  int idx = 0;
  for (const auto& c : j.at("cases")) {
    SCOPED_TRACE("case " + std::to_string(idx++));
    std::vector<float> fs;
    for (const auto& s : c.at("filter_scales")) fs.push_back(f32(s));
    const auto mult = ConvMultipliers(f32(c.at("input_scale")), fs, f32(c.at("output_scale")));
    Conv2DParams p;
    p.batch = c.at("n");
    p.in_channels = c.at("c");
    p.in_h = c.at("h");
    p.in_w = c.at("w");
    p.out_channels = c.at("oc");
    p.kernel_h = c.at("kh");
    p.kernel_w = c.at("kw");
    p.stride_h = c.at("stride")[0];
    p.stride_w = c.at("stride")[1];
    p.dilation_h = c.at("dilation")[0];
    p.dilation_w = c.at("dilation")[1];
    p.pad_top = c.at("pads")[0];
    p.pad_left = c.at("pads")[1];
    p.pad_bottom = c.at("pads")[2];
    p.pad_right = c.at("pads")[3];
    p.input_offset = -c.at("input_zp").get<int32_t>();
    p.out.multipliers = mult.data();
    p.out.num_multipliers = static_cast<int>(mult.size());
    p.out.output_offset = c.at("output_zp");
    p.out.act_min = c.at("act_min");
    p.out.act_max = c.at("act_max");
    ASSERT_EQ(p.out_h(), c.at("out_h").get<int>());
    ASSERT_EQ(p.out_w(), c.at("out_w").get<int>());
    const auto in = vec<int8_t>(c.at("input"));
    const auto w = vec<int8_t>(c.at("filter"));
    const auto b = vec<int32_t>(c.at("bias"));
    const auto want = expected_i8(c);
    std::vector<int8_t> got(want.size(), 0);
    ASSERT_EQ(got.size(), static_cast<size_t>(p.batch) * p.out_channels * p.out_h() * p.out_w());
    if (depthwise)
      DepthwiseConv2D(p, in.data(), w.data(), b.data(), got.data());
    else
      Conv2D(p, in.data(), w.data(), b.data(), got.data());
    EXPECT_EQ(got, want);
  }
}

}  // namespace

TEST(IntKernelsGolden, Conv2D) { run_conv(false); }
TEST(IntKernelsGolden, DepthwiseConv2D) { run_conv(true); }

TEST(IntKernelsGolden, FullyConnected) {
  const json j = load("fully_connected.json");
  ASSERT_FALSE(j.at("cases").empty());
  for (const auto& c : j.at("cases")) {
    const auto mult = ConvMultipliers(f32(c.at("input_scale")), {f32(c.at("weight_scale"))},
                                      f32(c.at("output_scale")));
    FullyConnectedParams p;
    p.batch = c.at("batch");
    p.in_features = c.at("in_features");
    p.out_features = c.at("out_features");
    p.input_offset = -c.at("input_zp").get<int32_t>();
    p.out.multipliers = mult.data();
    p.out.num_multipliers = 1;
    p.out.output_offset = c.at("output_zp");
    p.out.act_min = c.at("act_min");
    p.out.act_max = c.at("act_max");
    const auto in = vec<int8_t>(c.at("input"));
    const auto w = vec<int8_t>(c.at("weights"));
    const auto b = vec<int32_t>(c.at("bias"));
    const auto want = expected_i8(c);
    std::vector<int8_t> got(want.size(), 0);
    FullyConnected(p, in.data(), w.data(), b.data(), got.data());
    EXPECT_EQ(got, want);
  }
}

TEST(IntKernelsGolden, AddAndMul) {
  for (const char* name : {"add.json", "mul.json"}) {
    const json j = load(name);
    ASSERT_FALSE(j.at("cases").empty());
    int idx = 0;
    for (const auto& c : j.at("cases")) {
      SCOPED_TRACE(std::string(name) + " case " + std::to_string(idx++));
      const auto a = vec<int8_t>(c.at("a"));
      const auto b = vec<int8_t>(c.at("b"));
      const auto want = expected_i8(c);
      std::vector<int8_t> got(want.size(), 0);
      const float s1 = f32(c.at("s1")), s2 = f32(c.at("s2")), so = f32(c.at("s_out"));
      const int32_t z1 = c.at("zp1"), z2 = c.at("zp2"), zo = c.at("zp_out");
      if (std::string(name) == "add.json") {
        AddParams p = MakeAddParams(s1, z1, s2, z2, so, zo);
        p.act_min = c.at("act_min");
        p.act_max = c.at("act_max");
        Add(p, a.data(), b.data(), got.data(), static_cast<int64_t>(a.size()));
      } else {
        MulParams p = MakeMulParams(s1, z1, s2, z2, so, zo);
        p.act_min = c.at("act_min");
        p.act_max = c.at("act_max");
        Mul(p, a.data(), b.data(), got.data(), static_cast<int64_t>(a.size()));
      }
      EXPECT_EQ(got, want);
    }
  }
}

TEST(IntKernelsGolden, Pooling) {
  const json j = load("pool.json");
  ASSERT_FALSE(j.at("cases").empty());
  int idx = 0;
  for (const auto& c : j.at("cases")) {
    SCOPED_TRACE("case " + std::to_string(idx++) + " " + c.at("kind").get<std::string>());
    Pool2DParams p;
    p.batch = c.at("n");
    p.channels = c.at("c");
    p.in_h = c.at("h");
    p.in_w = c.at("w");
    p.kernel_h = c.at("kh");
    p.kernel_w = c.at("kw");
    p.stride_h = c.at("stride")[0];
    p.stride_w = c.at("stride")[1];
    p.pad_top = c.at("pads")[0];
    p.pad_left = c.at("pads")[1];
    p.pad_bottom = c.at("pads")[2];
    p.pad_right = c.at("pads")[3];
    p.act_min = c.at("act_min");
    p.act_max = c.at("act_max");
    ASSERT_EQ(p.out_h(), c.at("out_h").get<int>());
    ASSERT_EQ(p.out_w(), c.at("out_w").get<int>());
    const auto in = vec<int8_t>(c.at("input"));
    const auto want = expected_i8(c);
    std::vector<int8_t> got(want.size(), 0);
    if (c.at("kind") == "avg")
      AveragePool(p, in.data(), got.data());
    else
      MaxPool(p, in.data(), got.data());
    EXPECT_EQ(got, want);
  }
}

TEST(IntKernelsGolden, MeanHW) {
  const json j = load("mean.json");
  ASSERT_FALSE(j.at("cases").empty());
  for (const auto& c : j.at("cases")) {
    const auto in = vec<int8_t>(c.at("input"));
    const auto want = expected_i8(c);
    std::vector<int8_t> got(want.size(), 0);
    MeanHW(c.at("n"), c.at("c"), c.at("h"), c.at("w"), in.data(), f32(c.at("in_scale")),
           c.at("in_zp"), f32(c.at("out_scale")), c.at("out_zp"), got.data());
    EXPECT_EQ(got, want);
  }
}

TEST(IntKernelsGolden, QuantizeDequantizeRequantize) {
  const json j = load("quantize.json");
  ASSERT_FALSE(j.at("cases").empty());
  int idx = 0;
  for (const auto& c : j.at("cases")) {
    const std::string op = c.at("op");
    SCOPED_TRACE("case " + std::to_string(idx++) + " " + op);
    if (op == "quantize") {
      std::vector<float> x;
      for (const auto& v : c.at("input_f")) x.push_back(f32(v));
      const auto want = expected_i8(c);
      std::vector<int8_t> got(want.size(), 0);
      Quantize(x.data(), static_cast<int64_t>(x.size()), f32(c.at("scale")), c.at("zp"),
               got.data());
      EXPECT_EQ(got, want);
    } else if (op == "dequantize") {
      const auto in = vec<int8_t>(c.at("input"));
      std::vector<float> got(in.size(), 0.f);
      Dequantize(in.data(), static_cast<int64_t>(in.size()), f32(c.at("scale")), c.at("zp"),
                 got.data());
      const auto& want = c.at("expected_f");
      ASSERT_EQ(want.size(), got.size());
      for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(std::bit_cast<uint32_t>(got[i]), std::bit_cast<uint32_t>(f32(want[i])))
            << "i=" << i << " got " << got[i] << " want " << f32(want[i]);
    } else {
      const auto in = vec<int8_t>(c.at("input"));
      const auto want = expected_i8(c);
      std::vector<int8_t> got(want.size(), 0);
      Requantize(in.data(), static_cast<int64_t>(in.size()), f32(c.at("in_scale")), c.at("in_zp"),
                 f32(c.at("out_scale")), c.at("out_zp"), got.data());
      EXPECT_EQ(got, want);
    }
  }
}

TEST(IntKernelsGolden, Softmax) {
  const json j = load("softmax.json");
  ASSERT_FALSE(j.at("cases").empty());
  int idx = 0;
  for (const auto& c : j.at("cases")) {
    SCOPED_TRACE("case " + std::to_string(idx++));
    const SoftmaxParams p = MakeSoftmaxParams(f32(c.at("input_scale")), f32(c.at("beta")));
    const auto in = vec<int8_t>(c.at("input"));
    const auto want = expected_i8(c);
    std::vector<int8_t> got(want.size(), 0);
    Softmax(p, in.data(), c.at("rows").get<int64_t>(), c.at("depth").get<int>(), got.data());
    EXPECT_EQ(got, want);
  }
}
