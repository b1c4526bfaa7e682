// Observers and qparams: the torch formulas on hand-checked numbers, sharded calibration (merge
// equals one pass where documented exact), serialize round trips, input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "edgequant/observers.h"
#include "edgequant/qparams.h"

using namespace eq;

namespace {

Tensor randn(Shape shape, uint32_t seed, float scale = 1.0f, float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Tensor t(DType::f32, shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = nd(rng) * scale + shift;
  return t;
}

// A batch holding the given extremes somewhere, so every shard spans the same range.
Tensor randn_with_range(Shape shape, uint32_t seed, float lo, float hi) {
  Tensor t = randn(shape, seed, 0.5f);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = std::clamp(p[i], lo, hi);
  p[0] = lo;
  p[t.numel() - 1] = hi;
  return t;
}

void expect_same_qparams(const QParams& a, const QParams& b) {
  ASSERT_EQ(a.scale.size(), b.scale.size());
  for (size_t i = 0; i < a.scale.size(); ++i) {
    EXPECT_EQ(a.scale[i], b.scale[i]) << i;
    EXPECT_EQ(a.zero_point[i], b.zero_point[i]) << i;
  }
  EXPECT_EQ(a.qmin, b.qmin);
  EXPECT_EQ(a.qmax, b.qmax);
  EXPECT_EQ(a.axis, b.axis);
}

}  // namespace

TEST(QParams, Ranges) {
  EXPECT_EQ(qrange_for(DType::i8).qmin, -128);
  EXPECT_EQ(qrange_for(DType::i8, true).qmin, -64);
  EXPECT_EQ(qrange_for(DType::i8, true).qmax, 63);
  EXPECT_EQ(qrange_for(DType::u8, true).qmax, 127);
  EXPECT_EQ(qrange_for(DType::i16).qmin, -32768);
  EXPECT_EQ(qrange_for(DType::i4).qmax, 7);
  EXPECT_EQ(qrange_for(DType::u4).qmax, 15);
  EXPECT_EQ(qrange_for(DType::i32).qmax, 2147483647);
  EXPECT_THROW(qrange_for(DType::f32), Error);
}

TEST(QParams, AffineAndSymmetricFormulas) {
  // affine u8 [-1, 3]: scale 4/255, zp = 0 - round(-1 / (4/255)) = round(63.75) = 64
  auto p = calculate_qparams({-1.0f}, {3.0f}, QuantizationScheme::per_tensor_affine, 0, 255);
  EXPECT_FLOAT_EQ(p.scale[0], 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point[0], 64);
  // symmetric i8: scale max(1, 3) / 127.5, zp 0
  p = calculate_qparams({-1.0f}, {3.0f}, QuantizationScheme::per_tensor_symmetric, -128, 127, kDefaultQuantEps, DType::i8);
  EXPECT_EQ(p.scale[0], 3.0f / 127.5f);
  EXPECT_EQ(p.zero_point[0], 0);
  // symmetric u8: torch's 128, or the floored midpoint for a customised range
  p = calculate_qparams({-1.0f}, {3.0f}, QuantizationScheme::per_tensor_symmetric, 0, 255, kDefaultQuantEps, DType::u8);
  EXPECT_EQ(p.zero_point[0], 128);
  p = calculate_qparams({-1.0f}, {3.0f}, QuantizationScheme::per_tensor_symmetric, 0, 255, kDefaultQuantEps, DType::u8, true);
  EXPECT_EQ(p.zero_point[0], 127);
  // round half to even in the zero point: [-0.125, 0.875] over [0, 4]: scale 0.25, -0.125 / 0.25 = -0.5 -> -0
  p = calculate_qparams({-0.125f}, {0.875f}, QuantizationScheme::per_tensor_affine, 0, 4, kDefaultQuantEps, DType::u8, true);
  EXPECT_EQ(p.scale[0], 0.25f);
  EXPECT_EQ(p.zero_point[0], 0);
  // eps floor
  p = calculate_qparams({0.0f}, {1e-9f}, QuantizationScheme::per_tensor_affine, -128, 127, 1.0f / 4096, DType::i8);
  EXPECT_EQ(p.scale[0], 1.0f / 4096);
  EXPECT_EQ(p.zero_point[0], -128);
  // uninitialised
  const float inf = std::numeric_limits<float>::infinity();
  p = calculate_qparams({inf}, {-inf}, QuantizationScheme::per_tensor_affine, 0, 255);
  EXPECT_EQ(p.scale[0], 1.0f);
  EXPECT_EQ(p.zero_point[0], 0);
  EXPECT_THROW(calculate_qparams({2.0f}, {1.0f}, QuantizationScheme::per_tensor_affine, 0, 255), Error);
}

TEST(QParams, QuantizeDequantize) {
  EXPECT_EQ(quantize_value(0.5f, 1.0f, 0, -128, 127), 0);   // half to even
  EXPECT_EQ(quantize_value(1.5f, 1.0f, 0, -128, 127), 2);
  EXPECT_EQ(quantize_value(-2.5f, 1.0f, 10, -128, 127), 8);
  EXPECT_EQ(quantize_value(1000.0f, 1.0f, 0, -128, 127), 127);
  EXPECT_EQ(quantize_value(-1000.0f, 1.0f, 0, -128, 127), -128);
  EXPECT_FLOAT_EQ(dequantize_value(8, 0.25f, 10), -0.5f);
}

TEST(Observers, ConstantTensorGivesTorchScale) {
  // torch does not special-case min == max: a constant c gives scale |c| / (qmax - qmin), and a
  // constant 0 gives eps with zero point qmin (affine).
  Tensor c = Tensor::from_vector<float>({4}, {0.75f, 0.75f, 0.75f, 0.75f});
  MinMaxObserver mm;
  mm.observe(c);
  auto q = mm.qparams();
  EXPECT_EQ(q.scale[0], 0.75f / 255.0f);
  EXPECT_EQ(q.zero_point[0], 0);
  HistogramObserver h;
  h.observe(c);
  h.observe(c);
  q = h.qparams();
  EXPECT_EQ(q.scale[0], 0.75f / 255.0f);
  EXPECT_EQ(h.search_range().first, 0.75f);
  ObserverOptions o;
  o.dtype = DType::i8;
  o.eps = 1.0f / 4096;
  MinMaxObserver z(o);
  z.observe(Tensor(DType::f32, {3, 3}));
  q = z.qparams();
  EXPECT_EQ(q.scale[0], 1.0f / 4096);
  EXPECT_EQ(q.zero_point[0], -128);
  // Before any data: scale 1, zero point 0.
  MinMaxObserver fresh;
  EXPECT_EQ(fresh.qparams().scale[0], 1.0f);
  EXPECT_EQ(fresh.qparams().zero_point[0], 0);
  EXPECT_EQ(HistogramObserver().qparams().scale[0], 1.0f);
}

TEST(Observers, NonFiniteInputNamesTheTensor) {
  Tensor t = randn({4, 8}, 1);
  t.data<float>()[13] = std::numeric_limits<float>::quiet_NaN();
  Tensor u = randn({64, 8}, 2);
  u.data<float>()[300] = -std::numeric_limits<float>::infinity();
  std::vector<std::unique_ptr<Observer>> all;
  all.push_back(std::make_unique<MinMaxObserver>());
  all.push_back(std::make_unique<MovingAverageMinMaxObserver>());
  all.push_back(std::make_unique<PerChannelMinMaxObserver>(1));
  all.push_back(std::make_unique<HistogramObserver>());
  all.push_back(std::make_unique<PercentileObserver>());
  all.push_back(std::make_unique<EntropyObserver>());
  for (auto& o : all) {
    for (const Tensor* bad : {&t, &u}) {
      try {
        o->observe(*bad, "conv1.out");
        ADD_FAILURE() << o->kind() << " accepted a non-finite tensor";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("conv1.out"), std::string::npos) << e.what();
      }
    }
  }
  MinMaxObserver m;
  EXPECT_THROW(m.observe(Tensor(DType::i8, {2}), "x"), Error);  // f32 only
  m.observe(Tensor(DType::f32, {0, 3}), "empty");             // ignored
  EXPECT_TRUE(m.calibrated_range().first.empty());
}

TEST(Observers, MinMaxMergeEqualsOnePass) {
  std::vector<Tensor> batches;
  for (uint32_t i = 0; i < 6; ++i) batches.push_back(randn({32, 17}, 10 + i, 1.0f + static_cast<float>(i)));
  for (auto scheme : {QuantizationScheme::per_tensor_affine, QuantizationScheme::per_tensor_symmetric}) {
    ObserverOptions o;
    o.dtype = DType::i8;
    o.scheme = scheme;
    MinMaxObserver one(o), a(o), b(o);
    for (size_t i = 0; i < batches.size(); ++i) {
      one.observe(batches[i]);
      (i % 2 ? a : b).observe(batches[i]);
    }
    a.merge(b);
    expect_same_qparams(one.qparams(), a.qparams());
  }
}

TEST(Observers, PerChannelMergeEqualsOnePass) {
  for (int axis : {0, 1, -1}) {
    ObserverOptions o = PerChannelMinMaxObserver::per_channel_defaults();
    o.dtype = DType::i8;
    o.scheme = QuantizationScheme::per_channel_symmetric;
    PerChannelMinMaxObserver one(axis, o), a(axis, o), b(axis, o);
    for (uint32_t i = 0; i < 5; ++i) {
      Tensor t = randn({2, 6, 3, 3}, 100 + i, 2.0f, 0.1f);
      if (axis == 0) t = randn({6, 9}, 100 + i);
      one.observe(t);
      (i < 2 ? a : b).observe(t);
    }
    a.merge(b);
    expect_same_qparams(one.qparams(), a.qparams());
    EXPECT_EQ(one.qparams().axis, axis);
  }
}

TEST(Observers, PerChannelMatchesPerTensorOnEachSlice) {
  Tensor t = randn({3, 4, 5}, 7);
  PerChannelMinMaxObserver pc(1);
  pc.observe(t);
  for (int c = 0; c < 4; ++c) {
    float mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 5; ++k) {
        const float v = t.data<float>()[(i * 4 + c) * 5 + k];
        mn = std::min(mn, v);
        mx = std::max(mx, v);
      }
    EXPECT_EQ(pc.min_vals()[c], mn);
    EXPECT_EQ(pc.max_vals()[c], mx);
  }
  EXPECT_THROW(pc.observe(randn({3, 5, 5}, 8)), Error);  // channel count changed
}

TEST(Observers, HistogramMergeEqualsOnePassOnSharedRange) {
  ObserverOptions o;
  o.dtype = DType::i8;
  HistogramObserver one(o), a(o), b(o);
  for (uint32_t i = 0; i < 6; ++i) {
    Tensor t = randn_with_range({16, 64}, 200 + i, -2.5f, 3.0f);
    one.observe(t);
    (i < 3 ? a : b).observe(t);
  }
  a.merge(b);
  EXPECT_EQ(one.histogram(), a.histogram());
  EXPECT_EQ(one.search_range(), a.search_range());
  expect_same_qparams(one.qparams(), a.qparams());
}

TEST(Observers, HistogramMergeOnDifferentRangesIsClose) {
  HistogramObserver one, a, b;
  for (uint32_t i = 0; i < 6; ++i) {
    Tensor t = randn({16, 64}, 300 + i, 0.5f + 0.3f * static_cast<float>(i));
    one.observe(t);
    (i < 3 ? a : b).observe(t);
  }
  a.merge(b);
  EXPECT_EQ(one.min_val(), a.min_val());
  EXPECT_EQ(one.max_val(), a.max_val());
  const float bw = (one.max_val() - one.min_val()) / 2048;
  EXPECT_NEAR(one.search_range().first, a.search_range().first, 32 * bw);
  EXPECT_NEAR(one.search_range().second, a.search_range().second, 32 * bw);
}

TEST(Observers, MovingAverageFirstBatchAndApproximateMerge) {
  MovingAverageMinMaxObserver m;
  m.observe(Tensor::from_vector<float>({2}, {-1.0f, 1.0f}));
  EXPECT_EQ(m.min_val(), -1.0f);
  m.observe(Tensor::from_vector<float>({2}, {-3.0f, 2.0f}));
  EXPECT_EQ(m.min_val(), -1.0f + 0.01f * (-3.0f - -1.0f));
  EXPECT_EQ(m.max_val(), 1.0f + 0.01f * (2.0f - 1.0f));
  MovingAverageMinMaxObserver other;
  other.observe(Tensor::from_vector<float>({2}, {-5.0f, 5.0f}));
  m.merge(other);  // weighted by batches: (2 * m + 1 * other) / 3
  EXPECT_NEAR(m.min_val(), (2 * (-1.02f) + -5.0f) / 3, 1e-6);
}

TEST(Observers, SerializeRoundTrip) {
  std::vector<std::unique_ptr<Observer>> all;
  ObserverOptions sym;
  sym.dtype = DType::i8;
  sym.scheme = QuantizationScheme::per_tensor_symmetric;
  sym.qmin = -127;
  sym.qmax = 127;
  sym.eps = 1.0f / 4096;
  all.push_back(std::make_unique<MinMaxObserver>(sym));
  all.push_back(std::make_unique<MovingAverageMinMaxObserver>(ObserverOptions{}, 0.1f));
  all.push_back(std::make_unique<PerChannelMinMaxObserver>(1));
  all.push_back(std::make_unique<MovingAveragePerChannelMinMaxObserver>(0));
  all.push_back(std::make_unique<HistogramObserver>(sym));
  all.push_back(std::make_unique<PercentileObserver>(ObserverOptions{}, 99.99, 512, false));
  all.push_back(std::make_unique<PercentileObserver>());
  all.push_back(std::make_unique<EntropyObserver>(ObserverOptions{}, 256, 64));
  for (auto& o : all) {
    SCOPED_TRACE(std::string(o->kind()));
    // Before any data (inf min/max must survive JSON).
    auto fresh = Observer::deserialize(o->serialize());
    EXPECT_EQ(fresh->serialize(), o->serialize());
    for (uint32_t i = 0; i < 3; ++i) o->observe(randn({4, 6, 5}, 400 + i, 1.0f + static_cast<float>(i)));
    const std::string s = o->serialize();
    auto back = Observer::deserialize(s);
    EXPECT_EQ(back->kind(), o->kind());
    EXPECT_EQ(back->serialize(), s);
    expect_same_qparams(back->qparams(), o->qparams());
    // Continues identically after the round trip.
    Tensor more = randn({4, 6, 5}, 499, 7.0f);
    back->observe(more);
    o->observe(more);
    expect_same_qparams(back->qparams(), o->qparams());
  }
  EXPECT_THROW(Observer::deserialize("{"), Error);
  EXPECT_THROW(Observer::deserialize(R"({"kind":"nope","dtype":"u8","scheme":"per_tensor_affine","reduce_range":false,"eps":1e-7})"),
               Error);
}

TEST(Observers, MergeRejectsDifferentConfigurations) {
  ObserverOptions i8;
  i8.dtype = DType::i8;
  MinMaxObserver a, b(i8);
  EXPECT_THROW(a.merge(b), Error);
  HistogramObserver h;
  EXPECT_THROW(a.merge(h), Error);
}

TEST(Observers, OptionChecks) {
  ObserverOptions o;
  o.scheme = QuantizationScheme::per_tensor_symmetric;
  o.reduce_range = true;  // u8 symmetric reduce_range: torch refuses
  EXPECT_THROW(MinMaxObserver{o}, Error);
  EXPECT_THROW(PerChannelMinMaxObserver(0, ObserverOptions{}), Error);  // per-tensor scheme
  ObserverOptions pc = PerChannelMinMaxObserver::per_channel_defaults();
  EXPECT_THROW(HistogramObserver{pc}, Error);
  ObserverOptions custom;
  custom.dtype = DType::i8;
  custom.qmin = -128;
  custom.qmax = 127;
  custom.reduce_range = true;
  EXPECT_EQ(custom.range().qmin, -64);
  EXPECT_EQ(custom.range().qmax, 63);
}

TEST(Observers, PercentileClipsOutliers) {
  Tensor t = randn({100, 100}, 5);
  t.data<float>()[17] = 1000.0f;
  PercentileObserver p(ObserverOptions{}, 99.9);
  p.observe(t);
  const auto r = p.calibrated_range();
  EXPECT_LT(r.second[0], 10.0f);
  EXPECT_GT(r.second[0], 2.0f);
  EXPECT_NEAR(r.first[0], -r.second[0], 1e-6);
}
