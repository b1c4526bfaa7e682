// The fast integer Conv2D / DepthwiseConv2D / FullyConnected (src/runtime/kernels/int/conv_fast.cpp,
// linear.cpp, gemm_int8.*) against the reference loops (conv_reference.cpp), bit for bit, on
// randomized cases with fixed seeds; and thread counts 1 and 2 giving the same bytes. The
// reference loops themselves are checked against TFLite by tests/golden/int_kernels_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "edgequant/int_kernels.h"
#include "runtime/kernels/int/conv_reference.h"
#include "runtime/kernels/int/gemm_int8.h"

using namespace eq::intk;

namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

// How inputs, weights and multipliers are drawn.
enum class Mode {
  normal,      // full int8 range, multipliers scaled so outputs spread over the int8 range
  small,       // tiny weights/activations and multipliers > 1 (positive shifts, left shift path)
  extreme_lo,  // input and weights -128 everywhere, input zero point 127 (offset -127)
  extreme_hi,  // input 127, weights -128, input zero point -128 (offset 128)
  saturate,    // large multipliers: most outputs hit act_min / act_max
};

struct ConvCase {
  int n, c, h, w, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
  bool per_channel;
  Mode mode = Mode::normal;
  int act_min = -128, act_max = 127;
  bool bias = true;
};

std::string describe(const ConvCase& k) {
  return "n" + std::to_string(k.n) + " c" + std::to_string(k.c) + " " + std::to_string(k.h) + "x" +
         std::to_string(k.w) + " oc" + std::to_string(k.oc) + " k" + std::to_string(k.kh) + "x" +
         std::to_string(k.kw) + " s" + std::to_string(k.sh) + "," + std::to_string(k.sw) + " d" +
         std::to_string(k.dh) + "," + std::to_string(k.dw) + " pad" + std::to_string(k.pt) + "," +
         std::to_string(k.pl) + "," + std::to_string(k.pb) + "," + std::to_string(k.pr) + " g" +
         std::to_string(k.groups) + (k.per_channel ? " per-channel" : " per-tensor") + " mode" +
         std::to_string(static_cast<int>(k.mode)) + " act[" + std::to_string(k.act_min) + "," +
         std::to_string(k.act_max) + "]" + (k.bias ? "" : " nobias");
}

struct Data {
  std::vector<int8_t> in, w;
  std::vector<int32_t> bias;
  std::vector<QuantizedMultiplier> mult;
  int32_t input_offset = 0, output_offset = 0;
};

int rnd(std::mt19937& g, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); }
double rndd(std::mt19937& g, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(g);
}

// k: reduction length per output (for the multiplier scale); channels: multipliers wanted.
Data make_data(std::mt19937& g, Mode mode, size_t n_in, size_t n_w, int channels, int k,
               bool per_channel, bool with_bias) {
  Data d;
  d.in.resize(n_in);
  d.w.resize(n_w);
  int zp = 0;
  switch (mode) {
    case Mode::normal:
    case Mode::saturate:
      zp = rnd(g, -128, 127);
      for (auto& v : d.in) v = static_cast<int8_t>(rnd(g, -128, 127));
      for (auto& v : d.w) v = static_cast<int8_t>(rnd(g, -128, 127));
      break;
    case Mode::small:
      zp = rnd(g, -5, 5);
      for (auto& v : d.in) v = static_cast<int8_t>(zp + rnd(g, -2, 2));
      for (auto& v : d.w) v = static_cast<int8_t>(rnd(g, -2, 2));
      break;
    case Mode::extreme_lo:
      zp = 127;
      for (auto& v : d.in) v = -128;
      for (auto& v : d.w) v = -128;
      break;
    case Mode::extreme_hi:
      zp = -128;
      for (auto& v : d.in) v = 127;
      for (auto& v : d.w) v = -128;
      break;
  }
  d.input_offset = -zp;
  d.output_offset = rnd(g, -20, 20);
  if (with_bias) {
    d.bias.resize(static_cast<size_t>(channels));
    const int range = mode == Mode::small ? 20 : 40000;
    for (auto& b : d.bias) b = rnd(g, -range, range);
  }
  const int nm = per_channel ? channels : 1;
  // Accumulators are about sqrt(k) * 74 * 74 for uniform int8 data (74: its standard deviation).
  const double typical = mode == Mode::small ? 1.0 : std::sqrt(static_cast<double>(std::max(k, 1))) * 5500.0;
  for (int i = 0; i < nm; ++i) {
    double m = 0;
    switch (mode) {
      case Mode::normal: m = 40.0 / typical * std::exp2(rndd(g, -2, 2)); break;
      case Mode::small: m = rndd(g, 1.0, 12.0); break;  // shifts 1..4
      case Mode::extreme_lo:
      case Mode::extreme_hi: m = 100.0 / (std::max(k, 1) * 128.0 * 255.0) * rndd(g, 0.5, 2); break;
      case Mode::saturate: m = std::exp2(rndd(g, -8, 4)); break;
    }
    d.mult.push_back(QuantizeMultiplier(m));
  }
  return d;
}

Conv2DParams params(const ConvCase& k, const Data& d) {
  Conv2DParams p;
  p.batch = k.n;
  p.in_channels = k.c;
  p.in_h = k.h;
  p.in_w = k.w;
  p.out_channels = k.oc;
  p.kernel_h = k.kh;
  p.kernel_w = k.kw;
  p.stride_h = k.sh;
  p.stride_w = k.sw;
  p.dilation_h = k.dh;
  p.dilation_w = k.dw;
  p.pad_top = k.pt;
  p.pad_left = k.pl;
  p.pad_bottom = k.pb;
  p.pad_right = k.pr;
  p.groups = k.groups;
  p.input_offset = d.input_offset;
  p.out.multipliers = d.mult.data();
  p.out.num_multipliers = static_cast<int>(d.mult.size());
  p.out.output_offset = d.output_offset;
  p.out.act_min = k.act_min;
  p.out.act_max = k.act_max;
  return p;
}

// Runs fn once per GEMM instruction set this CPU has (AVX2 always; AVX-VNNI / AVX512-VNNI where
// present), then restores the default choice.
template <class F>
void for_each_isa(F&& fn) {
  const detail::GemmIsa saved = detail::gemm_isa();
  for (detail::GemmIsa isa :
       {detail::GemmIsa::avx2, detail::GemmIsa::avx_vnni, detail::GemmIsa::avx512_vnni}) {
    if (!detail::set_gemm_isa(isa)) continue;
    SCOPED_TRACE(std::string("isa ") + detail::gemm_isa_name(isa));
    fn();
  }
  detail::set_gemm_isa(saved);
}

size_t distinct(const std::vector<int8_t>& v) { return std::set<int8_t>(v.begin(), v.end()).size(); }

// Splits every call across the threads it is given, however small (restored on scope exit).
struct ForceParallel {
  int64_t saved = detail::min_parallel_work();
  ForceParallel() { detail::set_min_parallel_work(0); }
  ~ForceParallel() { detail::set_min_parallel_work(saved); }
};

// Runs the fast kernel with threads 1 and 2 (every call split in two, however small), and output
// buffers pre-filled with two different patterns so that an element the kernel forgets to write
// shows, against the reference.
template <class Fast>
void expect_same(const std::vector<int8_t>& want, Fast&& fast) {
  for (int threads : {1, 2}) {
    ForceParallel force;
    for (int8_t fill : {int8_t{0x55}, int8_t{-0x56}}) {
      std::vector<int8_t> got(want.size(), fill);
      fast(threads, got.data());
      ASSERT_EQ(got, want) << "threads " << threads;
    }
  }
}

void check_conv(const ConvCase& k, uint32_t seed, bool depthwise_api) {
  SCOPED_TRACE(describe(k) + (depthwise_api ? " [DepthwiseConv2D]" : " [Conv2D]"));
  std::mt19937 g(seed);
  const int icg = k.c / k.groups;
  const size_t n_in = static_cast<size_t>(k.n) * k.c * k.h * k.w;
  const size_t n_w = static_cast<size_t>(k.oc) * icg * k.kh * k.kw;
  const Data d = make_data(g, k.mode, n_in, n_w, k.oc, icg * k.kh * k.kw, k.per_channel, k.bias);
  Conv2DParams p = params(k, d);
  ASSERT_GT(p.out_h(), 0);
  ASSERT_GT(p.out_w(), 0);
  const size_t n_out = static_cast<size_t>(k.n) * k.oc * p.out_h() * p.out_w();
  const int32_t* bias = k.bias ? d.bias.data() : nullptr;
  std::vector<int8_t> want(n_out, 0);
  if (depthwise_api)
    DepthwiseConv2DReference(p, d.in.data(), d.w.data(), bias, want.data());
  else
    Conv2DReference(p, d.in.data(), d.w.data(), bias, want.data());
  // The comparison must mean something: typical cases spread over many output values.
  if (k.mode == Mode::normal && n_out >= 64 && k.act_max - k.act_min > 100) {
    EXPECT_GE(distinct(want), 20u);
  }
  expect_same(want, [&](int threads, int8_t* out) {
    Conv2DParams q = p;
    q.threads = threads;
    if (depthwise_api)
      DepthwiseConv2D(q, d.in.data(), d.w.data(), bias, out);
    else
      Conv2D(q, d.in.data(), d.w.data(), bias, out);
  });
}

}  // namespace

// The vectorised MultiplyByQuantizedMultiplier against the scalar helper: random and edge values
// of x, multipliers over the whole QuantizeMultiplier range (and below 2^30), shifts -31..31.
TEST(IntConvFast, VectorRequantMatchesScalar) {
  std::mt19937 g(7);
  const std::vector<int32_t> edge_x = {0, 1, -1, 2, -2, 3, -3, kMax, kMin, kMax - 1, kMin + 1,
                                       1 << 30, -(1 << 30), (1 << 30) + 1, -(1 << 30) - 1, 12345,
                                       -12345, 1 << 15, -(1 << 15), 255 * 128 * 9, -255 * 128 * 9};
  const std::vector<int32_t> edge_m = {0, 1, 1 << 30, (1 << 30) + 1, kMax, kMax - 1, 1518500250,
                                       -1, -(1 << 30), kMin + 1};
  std::vector<int32_t> ms = edge_m;
  for (int i = 0; i < 200; ++i) ms.push_back(rnd(g, 1 << 30, kMax));
  for (int i = 0; i < 20; ++i) ms.push_back(rnd(g, kMin + 1, kMax));
  int64_t checked = 0;
  for (int32_t m : ms) {
    for (int shift = -31; shift <= 31; ++shift) {
      const detail::Requant rq = [&] {
        QuantizedMultiplier qm{m, shift};
        OutputRequant o;
        o.multipliers = &qm;
        return detail::make_requant(o, 1);
      }();
      const detail::RowQ& q = rq.rows[0];
      ASSERT_TRUE(q.vec);
      std::vector<int32_t> xs = edge_x;
      for (int i = 0; i < 16; ++i) xs.push_back(static_cast<int32_t>(g()));
      for (int i = 0; i < 8; ++i) xs.push_back(rnd(g, -100000, 100000));
      while (xs.size() % 8) xs.push_back(rnd(g, -1000, 1000));
      for (size_t i = 0; i < xs.size(); i += 8) {
        alignas(32) int32_t out[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(out),
                           detail::mbqm8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(&xs[i])), q));
        for (int j = 0; j < 8; ++j) {
          ASSERT_EQ(out[j], MultiplyByQuantizedMultiplier(xs[i + j], m, shift))
              << "x " << xs[i + j] << " m " << m << " shift " << shift;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000);
  // INT32_MIN * INT32_MIN saturates in SRDHM: that multiplier is left to the scalar helper.
  QuantizedMultiplier bad{kMin, 0};
  OutputRequant o;
  o.multipliers = &bad;
  EXPECT_FALSE(detail::make_requant(o, 1).rows[0].vec);
}

// The single-rounding epilogue (FULLY_CONNECTED) against its scalar helper, every shift.
TEST(IntConvFast, VectorSingleRoundingMatchesScalar) {
  std::mt19937 g(11);
  const std::vector<int32_t> edge_x = {0, 1, -1, 2, -2, 3, -3, kMax, kMin, kMax - 1, kMin + 1,
                                       1 << 30, -(1 << 30), 12345, -12345, 255 * 128 * 9, -255 * 128 * 9};
  std::vector<int32_t> ms = {0, 1, 1 << 30, (1 << 30) + 1, kMax, kMax - 1, 1398274032, -1, kMin};
  for (int i = 0; i < 100; ++i) ms.push_back(rnd(g, 1 << 30, kMax));
  int64_t checked = 0;
  for (int32_t m : ms) {
    for (int shift = -31; shift <= 30; ++shift) {
      QuantizedMultiplier qm{m, shift};
      OutputRequant o;
      o.multipliers = &qm;
      o.single_rounding = true;
      const detail::Requant rq = detail::make_requant(o, 1);
      const detail::RowQ& q = rq.rows[0];
      ASSERT_TRUE(q.vec);
      std::vector<int32_t> xs = edge_x;
      for (int i = 0; i < 16; ++i) xs.push_back(static_cast<int32_t>(g()));
      while (xs.size() % 8) xs.push_back(rnd(g, -1000, 1000));
      for (size_t i = 0; i < xs.size(); i += 8) {
        alignas(32) int32_t out[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(out),
                           detail::mbqm8_single(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(&xs[i])), q));
        for (int j = 0; j < 8; ++j) {
          ASSERT_EQ(out[j], MultiplyByQuantizedMultiplierSingleRounding(xs[i + j], m, shift))
              << "x " << xs[i + j] << " m " << m << " shift " << shift;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

// The micro kernel on every ISA and operand format against plain int32 sums: pairs with int8-range
// A and B over the whole int16 range (the activations plus input_offset are bounded by 32767 in
// magnitude); quads with int8 A and uint8 B, extremes included.
TEST(IntConvFast, MicroKernelExact) {
  std::mt19937 g(5);
  for (int kw : {0, 1, 2, 7, 64, 301}) {
    const int64_t lda_words = kw + 3, ldb = 16 * 3 + 8;
    std::vector<int16_t> a16(static_cast<size_t>(detail::kMR * lda_words * 2));
    std::vector<int8_t> a8(static_cast<size_t>(detail::kMR * lda_words * 4));
    for (auto& v : a16) v = static_cast<int16_t>(rnd(g, 0, 9) == 0 ? -128 : rnd(g, -128, 127));
    for (auto& v : a8) v = static_cast<int8_t>(rnd(g, 0, 9) == 0 ? -128 : rnd(g, -128, 127));
    std::vector<int32_t> b16(static_cast<size_t>(std::max(kw, 1) * ldb)), b8(b16.size());
    for (auto& v : b16) {
      const int lo = rnd(g, 0, 9) == 0 ? -32767 : rnd(g, -32767, 32767);
      const int hi = rnd(g, 0, 9) == 0 ? 32767 : rnd(g, -32767, 32767);
      v = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                               (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
    }
    for (auto& v : b8) {
      uint32_t w = 0;
      for (int u = 0; u < 4; ++u) w |= static_cast<uint32_t>(rnd(g, 0, 5) == 0 ? 255 : rnd(g, 0, 255)) << (8 * u);
      v = static_cast<int32_t>(w);
    }
    std::vector<int64_t> koff;
    for (int k = 0; k < kw; ++k) koff.push_back(k * ldb);
    for_each_isa([&] {
      for (detail::Operands ops : {detail::Operands::pairs, detail::Operands::quads}) {
        const bool quads = ops == detail::Operands::quads;
        if (quads && !detail::quads_available()) continue;
        const std::vector<int32_t>& b = quads ? b8 : b16;
        for (int rows = 1; rows <= detail::kMR; ++rows) {
          alignas(32) int32_t c[detail::kMR * detail::kNR];
          detail::micro_kernel(ops, rows, quads ? static_cast<const void*>(a8.data()) : a16.data(),
                               lda_words * 4, b.data() + 16, koff.data(), kw, c);
          for (int r = 0; r < rows; ++r)
            for (int j = 0; j < detail::kNR; ++j) {
              int64_t want = 0;
              for (int k = 0; k < kw; ++k) {
                const uint32_t w = static_cast<uint32_t>(b[static_cast<size_t>(k * ldb + 16 + j)]);
                if (quads) {
                  for (int u = 0; u < 4; ++u)
                    want += int64_t{a8[static_cast<size_t>(r * lda_words * 4 + 4 * k + u)]} * ((w >> (8 * u)) & 0xFF);
                } else {
                  want += int64_t{a16[static_cast<size_t>(r * lda_words * 2 + 2 * k)]} * static_cast<int16_t>(w & 0xFFFF) +
                          int64_t{a16[static_cast<size_t>(r * lda_words * 2 + 2 * k + 1)]} * static_cast<int16_t>(w >> 16);
                }
              }
              ASSERT_EQ(c[r * detail::kNR + j], static_cast<int32_t>(want))
                  << (quads ? "quads" : "pairs") << " kw " << kw << " rows " << rows << " r " << r << " j " << j;
            }
        }
      }
    });
  }
}

TEST(IntConvFast, Conv2DMatchesReference) {
  const std::vector<ConvCase> cases = {
      // 1x1 pointwise (GEMM without im2col), odd channel counts, batch 1 and 3.
      {1, 13, 7, 9, 21, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true},
      {3, 32, 14, 14, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true},
      {3, 5, 6, 5, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false},
      // 1x1 with stride / padding (im2col path).
      {1, 9, 9, 8, 7, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, true},
      {2, 6, 5, 5, 10, 1, 1, 1, 1, 1, 1, 1, 2, 0, 1, 1, false},
      // 3x3 stride 1 and 2, same padding.
      {1, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      {3, 17, 11, 13, 19, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      {1, 24, 15, 15, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true},
      {3, 7, 10, 9, 9, 3, 3, 2, 2, 1, 1, 0, 1, 1, 0, 1, false},
      // Dilation 2, asymmetric padding, non-square kernels and strides.
      {1, 8, 12, 11, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, true},
      {2, 5, 13, 10, 6, 3, 2, 1, 2, 2, 1, 0, 3, 2, 1, 1, true},
      {1, 3, 9, 16, 5, 5, 3, 3, 2, 1, 2, 2, 1, 2, 2, 1, false},
      {1, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},   // first layer, one channel
      {1, 3, 8, 8, 4, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3, 1, true},      // K = 147 (odd)
      {2, 64, 7, 7, 37, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},    // K = 576, N = 49
      {1, 4, 3, 3, 5, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4, 1, true},      // padding larger than the input
      // Output widths near a multiple of 16 with stride_w 1 (the direct path, no im2col).
      {2, 6, 16, 15, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},   // width 15
      {1, 10, 20, 30, 12, 3, 3, 2, 1, 2, 2, 2, 3, 1, 1, 2, true},  // stride_h 2, dilation 2, groups 2
      {3, 5, 14, 14, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 1, false},   // 5x5, width 14
      {1, 7, 6, 31, 9, 2, 4, 1, 1, 2, 1, 0, 3, 1, 0, 1, true},     // asymmetric, width 31
      // Groups 2 and 4 (odd per-group sizes too).
      {2, 8, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, true},
      {1, 12, 10, 7, 20, 3, 3, 2, 1, 1, 1, 1, 0, 1, 1, 4, true},
      {3, 20, 6, 6, 28, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 4, false},
      {1, 6, 8, 8, 10, 3, 3, 1, 1, 2, 1, 2, 1, 0, 1, 2, true},
      // groups == in_channels (dispatched to the depthwise kernel), multipliers 1 and 2.
      {2, 8, 10, 10, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, true},
      {1, 5, 9, 11, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 5, true},
  };
  for_each_isa([&] {
    uint32_t seed = 100;
    for (const ConvCase& k : cases) check_conv(k, seed++, false);
  });
}

TEST(IntConvFast, Conv2DModesAndClamps) {
  // Each geometry under every data mode, with per-tensor and per-channel multipliers and a
  // narrow activation range.
  const std::vector<ConvCase> geoms = {
      {1, 11, 9, 10, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},
      {3, 16, 8, 8, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true},
      {2, 8, 7, 9, 8, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1, 2, true},
      {1, 6, 9, 9, 12, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 6, true},
      {2, 9, 8, 14, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},  // direct path
  };
  uint32_t seed = 1000;
  for (ConvCase k : geoms) {
    for (Mode mode : {Mode::normal, Mode::small, Mode::extreme_lo, Mode::extreme_hi, Mode::saturate}) {
      for (bool per_channel : {false, true}) {
        k.mode = mode;
        k.per_channel = per_channel;
        k.act_min = -128;
        k.act_max = 127;
        check_conv(k, seed++, false);
        k.act_min = -5;
        k.act_max = 40;  // ReLU6-like narrow range
        check_conv(k, seed++, false);
      }
    }
  }
}

TEST(IntConvFast, DepthwiseMatchesReference) {
  // groups == in_channels; out_channels = multiplier x in_channels.
  const std::vector<ConvCase> cases = {
      {1, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, true},
      {3, 7, 13, 11, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 7, true},
      {2, 9, 14, 15, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 9, false},
      {1, 5, 12, 12, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, true},   // multiplier 2
      {3, 3, 9, 17, 6, 5, 5, 2, 1, 1, 1, 2, 2, 2, 2, 3, true},     // multiplier 2, 5x5
      {1, 4, 11, 12, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4, true},    // dilation 2
      {1, 6, 10, 9, 6, 3, 2, 3, 2, 1, 2, 0, 2, 1, 1, 6, true},     // asymmetric, stride 3/2
      {2, 1, 8, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},      // one channel, multiplier 3
      {1, 3, 5, 4, 3, 4, 4, 1, 3, 1, 1, 3, 0, 3, 3, 3, false},     // padding near kernel size
      {1, 2, 1, 30, 2, 1, 5, 1, 1, 1, 1, 0, 2, 0, 2, 2, true},     // 1-D like
  };
  for_each_isa([&] {
    uint32_t seed = 2000;
    for (ConvCase k : cases) {
      for (Mode mode : {Mode::normal, Mode::small, Mode::extreme_lo, Mode::extreme_hi, Mode::saturate}) {
        k.mode = mode;
        k.act_min = mode == Mode::saturate ? -20 : -128;
        k.act_max = mode == Mode::saturate ? 20 : 127;
        check_conv(k, seed++, true);
        if (k.groups == k.c) check_conv(k, seed++, false);  // Conv2D groups == C dispatches here
      }
    }
  });
}

// The grouped conv reference with groups == in_channels equals the depthwise reference (the two
// oracles agree on the channel mapping oc -> oc / multiplier).
TEST(IntConvFast, DepthwiseReferenceIsGroupedConv) {
  const ConvCase k = {2, 4, 7, 6, 8, 3, 3, 1, 2, 1, 1, 1, 1, 0, 2, 4, true};
  std::mt19937 g(3);
  const Data d = make_data(g, Mode::normal, 2 * 4 * 7 * 6, 8 * 9, 8, 9, true, true);
  const Conv2DParams p = params(k, d);
  std::vector<int8_t> a(static_cast<size_t>(2 * 8 * p.out_h() * p.out_w())), b(a.size());
  Conv2DReference(p, d.in.data(), d.w.data(), d.bias.data(), a.data());
  DepthwiseConv2DReference(p, d.in.data(), d.w.data(), d.bias.data(), b.data());
  EXPECT_EQ(a, b);
  EXPECT_GE(distinct(a), 20u);
}

TEST(IntConvFast, FullyConnectedMatchesReference) {
  struct FcCase { int batch, in, out; };
  const std::vector<FcCase> shapes = {{1, 16, 8},  {1, 1, 1},     {3, 33, 5},    {7, 100, 13},
                                      {8, 15, 6},  {17, 513, 29}, {64, 512, 64}, {5, 31, 7},
                                      {40, 7, 70}, {2, 250, 3},   {33, 64, 1}};
  for_each_isa([&] {
  uint32_t seed = 3000;
  for (const FcCase& s : shapes) {
    for (Mode mode : {Mode::normal, Mode::small, Mode::extreme_lo, Mode::extreme_hi, Mode::saturate}) {
      for (bool per_channel : {false, true}) {
        for (bool with_bias : {true, false}) {
          std::mt19937 g(seed++);
          const Data d = make_data(g, mode, static_cast<size_t>(s.batch) * s.in,
                                   static_cast<size_t>(s.out) * s.in, s.out, s.in, per_channel, with_bias);
          FullyConnectedParams p;
          p.batch = s.batch;
          p.in_features = s.in;
          p.out_features = s.out;
          p.input_offset = d.input_offset;
          p.out.multipliers = d.mult.data();
          p.out.num_multipliers = static_cast<int>(d.mult.size());
          p.out.output_offset = d.output_offset;
          if (mode == Mode::saturate) {
            p.out.act_min = -10;
            p.out.act_max = 10;
          }
          SCOPED_TRACE("fc batch " + std::to_string(s.batch) + " in " + std::to_string(s.in) + " out " +
                       std::to_string(s.out) + " mode " + std::to_string(static_cast<int>(mode)) +
                       (per_channel ? " per-channel" : " per-tensor") + (with_bias ? "" : " nobias"));
          const int32_t* bias = with_bias ? d.bias.data() : nullptr;
          std::vector<int8_t> want(static_cast<size_t>(s.batch) * s.out, 0);
          FullyConnectedReference(p, d.in.data(), d.w.data(), bias, want.data());
          if (mode == Mode::normal && want.size() >= 64) {
            EXPECT_GE(distinct(want), 20u);
          }
          expect_same(want, [&](int threads, int8_t* out) {
            FullyConnectedParams q = p;
            q.threads = threads;
            FullyConnected(q, d.in.data(), d.w.data(), bias, out);
          });
        }
      }
    }
  }
  });
}

// Parameters outside the vector paths' domain still match: an activation range wider than int8
// (the reference's cast wraps), act_min > act_max (std::clamp's order), a huge input offset.
TEST(IntConvFast, OutOfDomainParametersFallBack) {
  std::mt19937 g(11);
  ConvCase k = {2, 6, 8, 8, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true};
  Data d = make_data(g, Mode::saturate, 2 * 6 * 64, 10 * 6 * 9, 10, 54, true, true);
  for (auto [lo, hi] : {std::pair{-1000, 1000}, std::pair{10, -10}, std::pair{-128, 200}}) {
    for (int32_t offset : {d.input_offset, 40000}) {
      Data e = d;
      e.input_offset = offset;
      Conv2DParams p = params(k, e);
      p.out.act_min = lo;
      p.out.act_max = hi;
      std::vector<int8_t> want(static_cast<size_t>(2 * 10 * 64));
      Conv2DReference(p, e.in.data(), e.w.data(), e.bias.data(), want.data());
      expect_same(want, [&](int threads, int8_t* out) {
        Conv2DParams q = p;
        q.threads = threads;
        Conv2D(q, e.in.data(), e.w.data(), e.bias.data(), out);
      });
      p.groups = p.in_channels;
      p.out_channels = p.in_channels;
      std::vector<int8_t> want_dw(static_cast<size_t>(2 * 6 * 64));
      DepthwiseConv2DReference(p, e.in.data(), e.w.data(), e.bias.data(), want_dw.data());
      expect_same(want_dw, [&](int threads, int8_t* out) {
        Conv2DParams q = p;
        q.threads = threads;
        DepthwiseConv2D(q, e.in.data(), e.w.data(), e.bias.data(), out);
      });
    }
  }
}

// Input offsets at and past the edges of the byte format (pad value 128 - offset in [0, 255]):
// -127 and 128 still run as quads (pads 255 and 0), -128, 129 and the non-int8 offsets -300 / 300
// take the int16 pairs (on VNNI machines with vpdpwssd). Conv on its three B paths (direct,
// im2col, pointwise) and the fully connected GEMM, on every ISA.
TEST(IntConvFast, ByteFormatOffsetEdges) {
  const std::vector<ConvCase> geoms = {
      {2, 7, 9, 14, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true},   // direct (width 14)
      {1, 5, 9, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true},    // im2col
      {2, 9, 5, 7, 11, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false},  // pointwise
  };
  for_each_isa([&] {
    uint32_t seed = 4000;
    for (int32_t offset : {-127, 128, -128, 129, -300, 300}) {
      SCOPED_TRACE("input_offset " + std::to_string(offset));
      for (const ConvCase& k : geoms) {
        std::mt19937 g(seed++);
        const int icg = k.c / k.groups;
        Data d = make_data(g, Mode::normal, static_cast<size_t>(k.n) * k.c * k.h * k.w,
                           static_cast<size_t>(k.oc) * icg * k.kh * k.kw, k.oc, icg * k.kh * k.kw, true, k.bias);
        d.input_offset = offset;
        const Conv2DParams p = params(k, d);
        const int32_t* bias = k.bias ? d.bias.data() : nullptr;
        std::vector<int8_t> want(static_cast<size_t>(k.n) * k.oc * p.out_h() * p.out_w());
        Conv2DReference(p, d.in.data(), d.w.data(), bias, want.data());
        expect_same(want, [&](int threads, int8_t* out) {
          Conv2DParams q = p;
          q.threads = threads;
          Conv2D(q, d.in.data(), d.w.data(), bias, out);
        });
      }
      for (int in : {64, 37}) {  // in_features a multiple of 4 (weights used in place) or not
        std::mt19937 g(seed++);
        Data d = make_data(g, Mode::normal, 20 * static_cast<size_t>(in), 13 * static_cast<size_t>(in), 13, in,
                           true, true);
        d.input_offset = offset;
        FullyConnectedParams p;
        p.batch = 20;
        p.in_features = in;
        p.out_features = 13;
        p.input_offset = offset;
        p.out.multipliers = d.mult.data();
        p.out.num_multipliers = static_cast<int>(d.mult.size());
        p.out.output_offset = d.output_offset;
        std::vector<int8_t> want(20 * 13);
        FullyConnectedReference(p, d.in.data(), d.w.data(), d.bias.data(), want.data());
        expect_same(want, [&](int threads, int8_t* out) {
          FullyConnectedParams q = p;
          q.threads = threads;
          FullyConnected(q, d.in.data(), d.w.data(), d.bias.data(), out);
        });
      }
    }
  });
}
