// Bit-exactness against torch/numpy needs every float op rounded on its own: no FMA contraction
// (g++ contracts a * b + c by default, even with -std=c++20, when -mfma is on).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "edgequant/error.h"
#include "edgequant/observers.h"
#include "quant/observers/observer_util.h"

namespace eq {

namespace obs_detail {

MinMax scan_minmax(const float* data, int64_t n) {
  float mn = std::numeric_limits<float>::infinity();
  float mx = -std::numeric_limits<float>::infinity();
  bool bad = false;
  int64_t i = 0;
#if defined(__AVX2__)
  if (n >= 32) {
    __m256 vmn0 = _mm256_set1_ps(mn), vmn1 = vmn0, vmx0 = _mm256_set1_ps(mx), vmx1 = vmx0;
    __m256 vbad = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
      const __m256 a = _mm256_loadu_ps(data + i), b = _mm256_loadu_ps(data + i + 8);
      vmn0 = _mm256_min_ps(vmn0, a);
      vmn1 = _mm256_min_ps(vmn1, b);
      vmx0 = _mm256_max_ps(vmx0, a);
      vmx1 = _mm256_max_ps(vmx1, b);
      // x - x is NaN exactly for NaN and +-Inf.
      vbad = _mm256_or_ps(vbad, _mm256_cmp_ps(_mm256_sub_ps(a, a), _mm256_sub_ps(b, b), _CMP_UNORD_Q));
    }
    alignas(32) float lo[8], hi[8];
    _mm256_store_ps(lo, _mm256_min_ps(vmn0, vmn1));
    _mm256_store_ps(hi, _mm256_max_ps(vmx0, vmx1));
    for (int k = 0; k < 8; ++k) {
      mn = std::min(mn, lo[k]);
      mx = std::max(mx, hi[k]);
    }
    bad = _mm256_movemask_ps(vbad) != 0;
  }
#endif
  for (; i < n; ++i) {
    const float v = data[i];
    bad |= !std::isfinite(v);
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  return {mn, mx, !bad};
}

void throw_non_finite(std::string_view kind, std::string_view name) {
  throw Error(std::string(kind) + " observer: tensor '" + std::string(name.empty() ? "<unnamed>" : name) +
              "' contains NaN or Inf");
}

nlohmann::json f32_to_json(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return static_cast<double>(v);
}

float f32_from_json(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    throw Error("observer state: bad float '" + s + "'");
  }
  return static_cast<float>(j.get<double>());
}

nlohmann::json f32s_to_json(const std::vector<float>& v) {
  auto a = nlohmann::json::array();
  for (float x : v) a.push_back(f32_to_json(x));
  return a;
}

std::vector<float> f32s_from_json(const nlohmann::json& j) {
  std::vector<float> v;
  v.reserve(j.size());
  for (const auto& x : j) v.push_back(f32_from_json(x));
  return v;
}

}  // namespace obs_detail

QRange ObserverOptions::range() const {
  check(qmin.has_value() == qmax.has_value(), "observer: give both qmin and qmax, or neither");
  if (customized_range()) {
    int64_t lo = *qmin, hi = *qmax;
    check(lo <= 0 && 0 <= hi, "observer: the quantization range [" + std::to_string(lo) + ", " +
                                  std::to_string(hi) + "] must include 0");
    check(lo < hi, "observer: qmin must be below qmax");
    if (reduce_range) {
      auto floordiv2 = [](int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); };
      lo = floordiv2(lo);
      hi = floordiv2(hi);
    }
    return {lo, hi};
  }
  return qrange_for(dtype, reduce_range);
}

Observer::Observer(ObserverOptions options) : options_(std::move(options)) {
  (void)options_.range();  // validates
  check(options_.eps > 0 && std::isfinite(options_.eps), "observer: eps must be positive and finite");
  if (options_.dtype == DType::u8 && scheme_is_symmetric(options_.scheme) && options_.reduce_range &&
      !options_.customized_range())
    throw Error("observer: reduce_range is not supported for symmetric u8 (as in torch)");
}

void Observer::observe(const Tensor& x, std::string_view name) {
  check(x.dtype() == DType::f32, std::string(kind()) + " observer: tensor '" +
                                     std::string(name.empty() ? "<unnamed>" : name) + "' is " +
                                     std::string(dtype_name(x.dtype())) + ", expected f32");
  if (x.numel() == 0) return;
  observe_f32(x.data<float>(), x.shape(), x.numel(), name);
}

void Observer::check_mergeable(const Observer& other) const {
  check(other.kind() == kind(), "observer merge: cannot merge a " + std::string(other.kind()) + " observer into a " +
                                    std::string(kind()) + " observer");
  const auto& a = options_;
  const auto& b = other.options_;
  const bool same = a.dtype == b.dtype && a.scheme == b.scheme && a.reduce_range == b.reduce_range &&
                    a.qmin == b.qmin && a.qmax == b.qmax &&
                    std::memcmp(&a.eps, &b.eps, sizeof(float)) == 0;
  check(same, "observer merge: the " + std::string(kind()) + " observers have different options");
}

QParams Observer::qparams_from(const std::vector<float>& mins, const std::vector<float>& maxs, int axis) const {
  const QRange r = options_.range();
  QParams p = calculate_qparams(mins, maxs, options_.scheme, r.qmin, r.qmax, options_.eps, options_.dtype,
                                options_.customized_range());
  p.axis = scheme_is_per_channel(options_.scheme) ? axis : -1;
  return p;
}

std::string Observer::serialize() const {
  nlohmann::json j;
  j["kind"] = std::string(kind());
  j["dtype"] = std::string(dtype_name(options_.dtype));
  j["scheme"] = std::string(scheme_name(options_.scheme));
  j["reduce_range"] = options_.reduce_range;
  if (options_.customized_range()) {
    j["qmin"] = *options_.qmin;
    j["qmax"] = *options_.qmax;
  }
  j["eps"] = obs_detail::f32_to_json(options_.eps);
  save_state(j);
  return j.dump();
}

std::unique_ptr<Observer> Observer::deserialize(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("observer state: not JSON: ") + e.what());
  }
  try {
    ObserverOptions o;
    o.dtype = dtype_from_name(j.at("dtype").get<std::string>());
    o.scheme = scheme_from_name(j.at("scheme").get<std::string>());
    o.reduce_range = j.at("reduce_range").get<bool>();
    if (j.contains("qmin")) {
      o.qmin = j.at("qmin").get<int64_t>();
      o.qmax = j.at("qmax").get<int64_t>();
    }
    o.eps = obs_detail::f32_from_json(j.at("eps"));
    const auto kind = j.at("kind").get<std::string>();
    std::unique_ptr<Observer> obs;
    if (kind == "minmax") obs = std::make_unique<MinMaxObserver>(o);
    else if (kind == "moving_average_minmax")
      obs = std::make_unique<MovingAverageMinMaxObserver>(o, obs_detail::f32_from_json(j.at("averaging_constant")));
    else if (kind == "per_channel_minmax") obs = std::make_unique<PerChannelMinMaxObserver>(j.at("axis").get<int>(), o);
    else if (kind == "moving_average_per_channel_minmax")
      obs = std::make_unique<MovingAveragePerChannelMinMaxObserver>(
          j.at("axis").get<int>(), o, obs_detail::f32_from_json(j.at("averaging_constant")));
    else if (kind == "histogram") obs = std::make_unique<HistogramObserver>(o, j.at("bins").get<int>());
    else if (kind == "percentile")
      obs = std::make_unique<PercentileObserver>(o, j.at("percentile").get<double>(), j.at("bins").get<int>(),
                                                 j.at("symmetric").get<bool>());
    else if (kind == "entropy")
      obs = std::make_unique<EntropyObserver>(o, j.at("bins").get<int>(), j.at("quantized_bins").get<int>());
    else
      throw Error("observer state: unknown kind '" + kind + "'");
    obs->load_state(j);
    return obs;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("observer state: ") + e.what());
  }
}

}  // namespace eq
