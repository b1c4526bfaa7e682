// MinMax, MovingAverageMinMax and their per-channel variants, as torch.ao.quantization.observer.
// Bit-exactness against torch/numpy needs every float op rounded on its own: no FMA contraction
// (g++ contracts a * b + c by default, even with -std=c++20, when -mfma is on).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <algorithm>
#include <cmath>

#include "edgequant/error.h"
#include "edgequant/observers.h"
#include "quant/observers/observer_util.h"

namespace eq {

using obs_detail::f32_from_json;
using obs_detail::f32_to_json;
using obs_detail::f32s_from_json;
using obs_detail::f32s_to_json;

namespace {

ObserverOptions require_per_tensor(ObserverOptions o, std::string_view who) {
  check(!scheme_is_per_channel(o.scheme), std::string(who) + ": needs a per-tensor scheme, got " +
                                              std::string(scheme_name(o.scheme)));
  return o;
}

ObserverOptions require_per_channel(ObserverOptions o, std::string_view who) {
  check(scheme_is_per_channel(o.scheme), std::string(who) + ": needs a per-channel scheme, got " +
                                             std::string(scheme_name(o.scheme)));
  return o;
}

// torch's running-average update in float32: m + c * (cur - m), each op rounded.
inline float ema(float m, float cur, float c) {
  const float d = cur - m;
  const float t = c * d;
  return m + t;
}

}  // namespace

// ---------------- MinMaxObserver ----------------

MinMaxObserver::MinMaxObserver(ObserverOptions options)
    : Observer(require_per_tensor(std::move(options), "MinMaxObserver")) {}

void MinMaxObserver::observe_f32(const float* data, const Shape&, int64_t n, std::string_view name) {
  const auto s = obs_detail::scan_minmax(data, n);
  if (!s.finite) obs_detail::throw_non_finite(kind(), name);
  min_ = std::min(s.min, min_);
  max_ = std::max(s.max, max_);
  ++batches_;
}

QParams MinMaxObserver::qparams() const { return qparams_from({min_}, {max_}, -1); }

std::pair<std::vector<float>, std::vector<float>> MinMaxObserver::calibrated_range() const {
  if (batches_ == 0) return {};
  return {{min_}, {max_}};
}

void MinMaxObserver::reset() {
  min_ = std::numeric_limits<float>::infinity();
  max_ = -std::numeric_limits<float>::infinity();
  batches_ = 0;
}

void MinMaxObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const MinMaxObserver&>(other);
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  batches_ += o.batches_;
}

void MinMaxObserver::save_state(nlohmann::json& j) const {
  j["min"] = f32_to_json(min_);
  j["max"] = f32_to_json(max_);
  j["batches"] = batches_;
}

void MinMaxObserver::load_state(const nlohmann::json& j) {
  min_ = f32_from_json(j.at("min"));
  max_ = f32_from_json(j.at("max"));
  batches_ = j.at("batches").get<int64_t>();
}

// ---------------- MovingAverageMinMaxObserver ----------------

MovingAverageMinMaxObserver::MovingAverageMinMaxObserver(ObserverOptions options, float averaging_constant)
    : MinMaxObserver(std::move(options)), c_(averaging_constant) {
  check(averaging_constant > 0 && averaging_constant <= 1,
        "MovingAverageMinMaxObserver: averaging_constant must be in (0, 1]");
}

void MovingAverageMinMaxObserver::observe_f32(const float* data, const Shape&, int64_t n, std::string_view name) {
  const auto s = obs_detail::scan_minmax(data, n);
  if (!s.finite) obs_detail::throw_non_finite(kind(), name);
  if (min_ == std::numeric_limits<float>::infinity() && max_ == -std::numeric_limits<float>::infinity()) {
    min_ = s.min;
    max_ = s.max;
  } else {
    min_ = ema(min_, s.min, c_);
    max_ = ema(max_, s.max, c_);
  }
  ++batches_;
}

void MovingAverageMinMaxObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const MovingAverageMinMaxObserver&>(other);
  check(o.c_ == c_, "observer merge: different averaging constants");
  if (o.batches_ == 0) return;
  if (batches_ == 0) {
    min_ = o.min_;
    max_ = o.max_;
    batches_ = o.batches_;
    return;
  }
  // Approximate: a moving average depends on batch order; weight each shard by its batches.
  const double wa = static_cast<double>(batches_), wb = static_cast<double>(o.batches_);
  min_ = static_cast<float>((wa * min_ + wb * o.min_) / (wa + wb));
  max_ = static_cast<float>((wa * max_ + wb * o.max_) / (wa + wb));
  batches_ += o.batches_;
}

void MovingAverageMinMaxObserver::save_state(nlohmann::json& j) const {
  MinMaxObserver::save_state(j);
  j["averaging_constant"] = f32_to_json(c_);
}

void MovingAverageMinMaxObserver::load_state(const nlohmann::json& j) { MinMaxObserver::load_state(j); }

// ---------------- PerChannelMinMaxObserver ----------------

ObserverOptions PerChannelMinMaxObserver::per_channel_defaults() {
  ObserverOptions o;
  o.scheme = QuantizationScheme::per_channel_affine;
  return o;
}

PerChannelMinMaxObserver::PerChannelMinMaxObserver(int axis, ObserverOptions options)
    : Observer(require_per_channel(std::move(options), "PerChannelMinMaxObserver")), axis_(axis) {}

void PerChannelMinMaxObserver::batch_minmax(const float* data, const Shape& shape, std::string_view name,
                                            std::vector<float>& mn, std::vector<float>& mx) const {
  const std::string who = std::string(kind()) + " observer on '" + std::string(name.empty() ? "<unnamed>" : name) + "'";
  const int ax = normalize_axis(axis_, static_cast<int64_t>(shape.size()), who);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; ++i) outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(ax) + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t C = shape[static_cast<size_t>(ax)];
  mn.assign(static_cast<size_t>(C), std::numeric_limits<float>::infinity());
  mx.assign(static_cast<size_t>(C), -std::numeric_limits<float>::infinity());
  bool finite = true;
  if (inner == 1) {
    // Channels are the fastest axis: elementwise min/max over rows (vectorises over channels).
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = data + o * C;
      bool bad = false;
      for (int64_t c = 0; c < C; ++c) {
        const float v = row[c];
        bad |= !(v - v == 0.0f);
        mn[static_cast<size_t>(c)] = v < mn[static_cast<size_t>(c)] ? v : mn[static_cast<size_t>(c)];
        mx[static_cast<size_t>(c)] = v > mx[static_cast<size_t>(c)] ? v : mx[static_cast<size_t>(c)];
      }
      finite &= !bad;
    }
  } else {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t c = 0; c < C; ++c) {
        const auto s = obs_detail::scan_minmax(data + (o * C + c) * inner, inner);
        finite &= s.finite;
        mn[static_cast<size_t>(c)] = std::min(mn[static_cast<size_t>(c)], s.min);
        mx[static_cast<size_t>(c)] = std::max(mx[static_cast<size_t>(c)], s.max);
      }
  }
  if (!finite) obs_detail::throw_non_finite(kind(), name);
  if (!min_.empty())
    check(static_cast<int64_t>(min_.size()) == C, who + ": " + std::to_string(C) + " channels on axis " +
                                                      std::to_string(axis_) + ", earlier batches had " +
                                                      std::to_string(min_.size()));
}

void PerChannelMinMaxObserver::observe_f32(const float* data, const Shape& shape, int64_t, std::string_view name) {
  std::vector<float> mn, mx;
  batch_minmax(data, shape, name, mn, mx);
  if (min_.empty()) {
    min_ = std::move(mn);
    max_ = std::move(mx);
  } else {
    for (size_t c = 0; c < min_.size(); ++c) {
      min_[c] = std::min(mn[c], min_[c]);
      max_[c] = std::max(mx[c], max_[c]);
    }
  }
  ++batches_;
}

QParams PerChannelMinMaxObserver::qparams() const { return qparams_from(min_, max_, axis_); }

std::pair<std::vector<float>, std::vector<float>> PerChannelMinMaxObserver::calibrated_range() const {
  return {min_, max_};
}

void PerChannelMinMaxObserver::reset() {
  min_.clear();
  max_.clear();
  batches_ = 0;
}

void PerChannelMinMaxObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const PerChannelMinMaxObserver&>(other);
  check(o.axis_ == axis_, "observer merge: different channel axes");
  if (o.min_.empty()) return;
  if (min_.empty()) {
    min_ = o.min_;
    max_ = o.max_;
    batches_ = o.batches_;
    return;
  }
  check(o.min_.size() == min_.size(), "observer merge: different channel counts");
  for (size_t c = 0; c < min_.size(); ++c) {
    min_[c] = std::min(min_[c], o.min_[c]);
    max_[c] = std::max(max_[c], o.max_[c]);
  }
  batches_ += o.batches_;
}

void PerChannelMinMaxObserver::save_state(nlohmann::json& j) const {
  j["axis"] = axis_;
  j["min"] = f32s_to_json(min_);
  j["max"] = f32s_to_json(max_);
  j["batches"] = batches_;
}

void PerChannelMinMaxObserver::load_state(const nlohmann::json& j) {
  min_ = f32s_from_json(j.at("min"));
  max_ = f32s_from_json(j.at("max"));
  check(min_.size() == max_.size(), "observer state: min/max lengths differ");
  batches_ = j.at("batches").get<int64_t>();
}

// ---------------- MovingAveragePerChannelMinMaxObserver ----------------

MovingAveragePerChannelMinMaxObserver::MovingAveragePerChannelMinMaxObserver(int axis, ObserverOptions options,
                                                                             float averaging_constant)
    : PerChannelMinMaxObserver(axis, std::move(options)), c_(averaging_constant) {
  check(averaging_constant > 0 && averaging_constant <= 1,
        "MovingAveragePerChannelMinMaxObserver: averaging_constant must be in (0, 1]");
}

void MovingAveragePerChannelMinMaxObserver::observe_f32(const float* data, const Shape& shape, int64_t,
                                                        std::string_view name) {
  std::vector<float> mn, mx;
  batch_minmax(data, shape, name, mn, mx);
  if (min_.empty()) {
    min_ = std::move(mn);
    max_ = std::move(mx);
  } else {
    for (size_t c = 0; c < min_.size(); ++c) {
      min_[c] = ema(min_[c], mn[c], c_);
      max_[c] = ema(max_[c], mx[c], c_);
    }
  }
  ++batches_;
}

void MovingAveragePerChannelMinMaxObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const MovingAveragePerChannelMinMaxObserver&>(other);
  check(o.axis_ == axis_ && o.c_ == c_, "observer merge: different axis or averaging constant");
  if (o.min_.empty()) return;
  if (min_.empty()) {
    min_ = o.min_;
    max_ = o.max_;
    batches_ = o.batches_;
    return;
  }
  check(o.min_.size() == min_.size(), "observer merge: different channel counts");
  const double wa = static_cast<double>(batches_), wb = static_cast<double>(o.batches_);
  for (size_t c = 0; c < min_.size(); ++c) {
    min_[c] = static_cast<float>((wa * min_[c] + wb * o.min_[c]) / (wa + wb));
    max_[c] = static_cast<float>((wa * max_[c] + wb * o.max_[c]) / (wa + wb));
  }
  batches_ += o.batches_;
}

void MovingAveragePerChannelMinMaxObserver::save_state(nlohmann::json& j) const {
  PerChannelMinMaxObserver::save_state(j);
  j["averaging_constant"] = f32_to_json(c_);
}

void MovingAveragePerChannelMinMaxObserver::load_state(const nlohmann::json& j) {
  PerChannelMinMaxObserver::load_state(j);
}

}  // namespace eq
