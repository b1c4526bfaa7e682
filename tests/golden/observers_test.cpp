// Observers against the real peers (fixtures/observers/, written by
// tools/fixtures/make_observer_goldens.py): torch.ao.quantization observers (scale and zero point
// within relative 1e-6 / exactly, min/max buffers, HistogramObserver's searched range within one
// bin width) and onnxruntime's percentile / entropy HistogramCollector (thresholds within one bin).
// Each suite also counts how many cases match bit for bit and prints it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "edgequant/observers.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kDir = fs::path(EQ_FIXTURES_DIR) / "observers";

json load(const std::string& name) {
  std::ifstream f(kDir / name);
  if (!f) return json();
  return json::parse(f);
}

std::vector<uint8_t> base64_decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

using Batches = std::vector<eq::Tensor>;

const std::map<std::string, Batches>& datasets() {
  static const std::map<std::string, Batches> d = [] {
    std::map<std::string, Batches> m;
    const json j = load("datasets.json");
    if (j.is_null()) return m;
    for (const auto& [name, ds] : j.at("datasets").items()) {
      const eq::Shape shape = ds.at("shape").get<eq::Shape>();
      for (const auto& b : ds.at("batches")) {
        const auto bytes = base64_decode(b.get<std::string>());
        std::vector<float> v(bytes.size() / 4);
        std::memcpy(v.data(), bytes.data(), v.size() * 4);
        m[name].push_back(eq::Tensor::from_vector<float>(shape, v));
      }
    }
    return m;
  }();
  return d;
}

eq::ObserverOptions options_of(const json& c) {
  eq::ObserverOptions o;
  o.dtype = eq::dtype_from_name(c.at("dtype").get<std::string>());
  o.scheme = eq::scheme_from_name(c.at("scheme").get<std::string>());
  o.reduce_range = c.at("reduce_range").get<bool>();
  if (!c.at("eps").is_null()) o.eps = static_cast<float>(c.at("eps").get<double>());
  if (c.at("customized_qrange").get<bool>()) {
    // torch halves a customised range again under reduce_range; the fixture holds the result.
    o.qmin = c.at("qmin").get<int64_t>();
    o.qmax = c.at("qmax").get<int64_t>();
    o.reduce_range = false;
  }
  return o;
}

std::unique_ptr<eq::Observer> make_torch_observer(const json& c) {
  const auto kind = c.at("observer").get<std::string>();
  const auto o = options_of(c);
  if (kind == "minmax") return std::make_unique<eq::MinMaxObserver>(o);
  if (kind == "moving_average_minmax") return std::make_unique<eq::MovingAverageMinMaxObserver>(o, 0.01f);
  if (kind == "per_channel_minmax") return std::make_unique<eq::PerChannelMinMaxObserver>(c.at("axis").get<int>(), o);
  if (kind == "moving_average_per_channel_minmax")
    return std::make_unique<eq::MovingAveragePerChannelMinMaxObserver>(c.at("axis").get<int>(), o, 0.01f);
  if (kind == "histogram") return std::make_unique<eq::HistogramObserver>(o, 2048);
  throw std::runtime_error("unknown observer " + kind);
}

bool same_float(float a, double b) { return a == static_cast<float>(b); }

TEST(ObserverGoldens, TorchObservers) {
  const json j = load("torch_observers.json");
  if (j.is_null()) GTEST_SKIP() << "fixtures/observers/torch_observers.json missing";
  int n = 0, exact = 0, hist_n = 0, hist_exact_range = 0;
  for (const auto& c : j.at("cases")) {
    const auto name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    auto obs = make_torch_observer(c);
    const auto& batches = datasets().at(c.at("data").get<std::string>());
    for (size_t i = 0; i < batches.size(); ++i) obs->observe(batches[i], c.at("data").get<std::string>());
    const auto q = obs->qparams();
    const auto want_scale = c.at("scale").get<std::vector<double>>();
    const auto want_zp = c.at("zero_point").get<std::vector<int64_t>>();
    ASSERT_EQ(q.scale.size(), want_scale.size());
    EXPECT_EQ(q.qmin, c.at("qmin").get<int64_t>());
    EXPECT_EQ(q.qmax, c.at("qmax").get<int64_t>());
    bool bit_exact = true;
    for (size_t i = 0; i < want_scale.size(); ++i) {
      EXPECT_NEAR(q.scale[i], want_scale[i], 1e-6 * std::fabs(want_scale[i])) << "channel " << i;
      EXPECT_EQ(q.zero_point[i], want_zp[i]) << "channel " << i;
      bit_exact &= same_float(q.scale[i], want_scale[i]) && q.zero_point[i] == want_zp[i];
    }
    const auto kind = c.at("observer").get<std::string>();
    // The observers' running min/max buffers.
    const auto want_min = c.at("min").get<std::vector<double>>(), want_max = c.at("max").get<std::vector<double>>();
    std::vector<float> got_min, got_max;
    if (auto* h = dynamic_cast<eq::HistogramObserver*>(obs.get())) {
      got_min = {h->min_val()};
      got_max = {h->max_val()};
      ++hist_n;
      const auto [lo, hi] = h->search_range();
      const double bw = c.at("bin_width").get<double>();
      const double rlo = c.at("range_min").get<double>(), rhi = c.at("range_max").get<double>();
      EXPECT_LE(std::fabs(lo - rlo), bw * (1 + 1e-6)) << "searched min " << lo << " vs torch " << rlo;
      EXPECT_LE(std::fabs(hi - rhi), bw * (1 + 1e-6)) << "searched max " << hi << " vs torch " << rhi;
      const bool range_exact = same_float(lo, rlo) && same_float(hi, rhi);
      hist_exact_range += range_exact;
      bit_exact &= range_exact;
    } else {
      auto r = obs->calibrated_range();
      got_min = r.first;
      got_max = r.second;
    }
    ASSERT_EQ(got_min.size(), want_min.size());
    for (size_t i = 0; i < want_min.size(); ++i) {
      EXPECT_TRUE(same_float(got_min[i], want_min[i])) << "min " << got_min[i] << " vs " << want_min[i];
      EXPECT_TRUE(same_float(got_max[i], want_max[i])) << "max " << got_max[i] << " vs " << want_max[i];
      bit_exact &= same_float(got_min[i], want_min[i]) && same_float(got_max[i], want_max[i]);
    }
    ++n;
    exact += bit_exact;
  }
  std::printf("[ torch    ] %d cases, %d bit-exact (scale, zero point, min/max, searched range); "
              "histogram searched range bit-exact in %d of %d\n", n, exact, hist_exact_range, hist_n);
  EXPECT_GT(n, 400);
}

TEST(ObserverGoldens, OnnxRuntimeCalibrators) {
  const json j = load("ort_calibrators.json");
  if (j.is_null()) GTEST_SKIP() << "fixtures/observers/ort_calibrators.json missing";
  int n = 0, exact = 0;
  for (const auto& c : j.at("cases")) {
    const auto name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    std::unique_ptr<eq::Observer> obs;
    if (c.at("method") == "percentile")
      obs = std::make_unique<eq::PercentileObserver>(eq::ObserverOptions{}, c.at("percentile").get<double>(),
                                                     c.at("num_bins").get<int>(), c.at("symmetric").get<bool>());
    else
      obs = std::make_unique<eq::EntropyObserver>(eq::ObserverOptions{}, c.at("num_bins").get<int>(),
                                                  c.at("num_quantized_bins").get<int>());
    for (const auto& b : datasets().at(c.at("data").get<std::string>())) obs->observe(b);
    const auto [lo, hi] = obs->calibrated_range();
    ASSERT_EQ(lo.size(), 1u);
    const double bw = c.at("bin_width").get<double>();
    const double wlo = c.at("threshold_min").get<double>(), whi = c.at("threshold_max").get<double>();
    EXPECT_LE(std::fabs(lo[0] - wlo), bw * (1 + 1e-6)) << "low threshold " << lo[0] << " vs onnxruntime " << wlo;
    EXPECT_LE(std::fabs(hi[0] - whi), bw * (1 + 1e-6)) << "high threshold " << hi[0] << " vs onnxruntime " << whi;
    const bool e = same_float(lo[0], wlo) && same_float(hi[0], whi);
    if (!e) std::printf("  not bit-exact: %s  (%.9g, %.9g) vs (%.9g, %.9g)\n", name.c_str(), lo[0], hi[0], wlo, whi);
    if (auto* p = dynamic_cast<eq::PercentileObserver*>(obs.get())) {
      EXPECT_EQ(static_cast<int64_t>(p->histogram().size()), c.at("hist_bins").get<int64_t>());
    }
    if (auto* p = dynamic_cast<eq::EntropyObserver*>(obs.get())) {
      EXPECT_EQ(static_cast<int64_t>(p->histogram().size()), c.at("hist_bins").get<int64_t>());
    }
    ++n;
    exact += e;
  }
  std::printf("[ ort      ] %d cases, %d with bit-exact thresholds\n", n, exact);
  EXPECT_GT(n, 40);
}

}  // namespace
