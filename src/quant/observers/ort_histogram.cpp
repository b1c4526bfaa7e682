// onnxruntime.quantization.calibrate.HistogramCollector ('percentile' and 'entropy'), reproduced
// with numpy's float32 semantics: np.histogram's linspace edges and index correction, np.arange
// (computed in float64) for the |x| histogram's growth, merge_histogram's float32 stride
// arithmetic, smooth_distribution and entropy with numpy's pairwise float32 sums.
// Bit-exactness against torch/numpy needs every float op rounded on its own: no FMA contraction
// (g++ contracts a * b + c by default, even with -std=c++20, when -mfma is on).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <algorithm>
#include <cmath>
#include <numeric>

#include "edgequant/error.h"
#include "edgequant/observers.h"
#include "quant/observers/observer_util.h"

namespace eq {

using obs_detail::f32_from_json;
using obs_detail::f32_to_json;
using obs_detail::f32s_from_json;
using obs_detail::f32s_to_json;

namespace {

// The histogram state PercentileObserver and EntropyObserver both keep, to and from JSON.
void save_histogram_state(nlohmann::json& j, bool seen, float mn, float mx, float threshold,
                          const std::vector<int64_t>& hist, const std::vector<float>& edges) {
  j["seen"] = seen;
  j["min"] = f32_to_json(mn);
  j["max"] = f32_to_json(mx);
  j["threshold"] = f32_to_json(threshold);
  j["histogram"] = hist;
  j["edges"] = f32s_to_json(edges);
}

void load_histogram_state(const nlohmann::json& j, bool& seen, float& mn, float& mx, float& threshold,
                          std::vector<int64_t>& hist, std::vector<float>& edges) {
  seen = j.at("seen").get<bool>();
  mn = f32_from_json(j.at("min"));
  mx = f32_from_json(j.at("max"));
  threshold = f32_from_json(j.at("threshold"));
  hist = j.at("histogram").get<std::vector<int64_t>>();
  edges = f32s_from_json(j.at("edges"));
  check(!seen || edges.size() == hist.size() + 1, "observer state: edges do not match the histogram");
}

// np.histogram(a, bins=n, range=(first, last)) for float32 data: edges and counts added to `hist`.
std::vector<float> np_uniform_edges(float& first, float& last, int64_t n) {
  if (first == last) {
    first = first - 0.5f;
    last = last + 0.5f;
  }
  std::vector<float> e(static_cast<size_t>(n + 1));
  const float step = (last - first) / static_cast<float>(n);
  for (int64_t i = 0; i <= n; ++i) e[static_cast<size_t>(i)] = static_cast<float>(i) * step + first;
  e[static_cast<size_t>(n)] = last;
  return e;
}

void np_uniform_hist(const float* a, int64_t count, float first, float last, const std::vector<float>& edges,
                     std::vector<int64_t>& hist) {
  const int64_t n = static_cast<int64_t>(edges.size()) - 1;
  const float denom = last - first;
  const float nf = static_cast<float>(n);
  for (int64_t i = 0; i < count; ++i) {
    const float x = a[i];
    if (!(x >= first && x <= last)) continue;
    int64_t idx = static_cast<int64_t>(((x - first) / denom) * nf);
    if (idx == n) idx -= 1;
    if (x < edges[static_cast<size_t>(idx)]) idx -= 1;
    if (idx != n - 1 && x >= edges[static_cast<size_t>(idx + 1)]) idx += 1;
    ++hist[static_cast<size_t>(idx)];
  }
}

// np.histogram with explicit (non-uniform) edges: bin i holds edges[i] <= x < edges[i+1], the last
// bin also x == edges[n]; values outside are dropped.
void np_edges_hist(const float* a, int64_t count, const std::vector<double>& edges, std::vector<int64_t>& hist) {
  const int64_t n = static_cast<int64_t>(edges.size()) - 1;
  // The edges are (nearly) uniform: guess the bin arithmetically, then walk to the exact one.
  const double e0 = edges[0], inv_w = n / (edges[static_cast<size_t>(n)] - e0);
  for (int64_t i = 0; i < count; ++i) {
    const double x = a[i];
    if (!(x >= e0 && x <= edges[static_cast<size_t>(n)])) continue;
    int64_t idx = std::clamp<int64_t>(static_cast<int64_t>((x - e0) * inv_w), 0, n - 1);
    while (idx > 0 && x < edges[static_cast<size_t>(idx)]) --idx;
    while (idx < n - 1 && x >= edges[static_cast<size_t>(idx + 1)]) ++idx;
    ++hist[static_cast<size_t>(idx)];
  }
}

float np_floor_divide(float a, float b) {
  const float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0f;
  float fl;
  if (div != 0) {
    fl = std::floor(div);
    if (div - fl > 0.5f) fl += 1.0f;
  } else {
    fl = std::copysign(0.0f, a / b);
  }
  return fl;
}

// numpy's pairwise summation of a contiguous float32 array (np.sum).
float np_pairwise_sum(const float* a, int64_t n) {
  if (n < 8) {
    float r = -0.0f;
    for (int64_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return np_pairwise_sum(a, n2) + np_pairwise_sum(a + n2, n - n2);
}

// HistogramCollector.collect_value / merge_histogram: a histogram of x over [-t, t].
struct ValueHist {
  std::vector<int64_t>& hist;
  std::vector<float>& edges;
  float& min;
  float& max;
  float& threshold;
  bool& seen;
  int bins;

  void collect(const float* x, int64_t n, float xmin, float xmax) {
    const float t = std::max(std::fabs(xmin), std::fabs(xmax));
    if (!seen) {
      float first = -t, last = t;
      edges = np_uniform_edges(first, last, bins);
      hist.assign(static_cast<size_t>(bins), 0);
      np_uniform_hist(x, n, first, last, edges, hist);
      min = xmin;
      max = xmax;
      threshold = t;
      seen = true;
      return;
    }
    const int64_t old_bins = static_cast<int64_t>(hist.size());
    if (t <= threshold) {
      float first = -threshold, last = threshold;
      const auto e = np_uniform_edges(first, last, old_bins);
      np_uniform_hist(x, n, first, last, e, hist);  // new_hist + old_hist; edges stay
    } else if (threshold == 0) {
      float first = -t, last = t;
      edges = np_uniform_edges(first, last, old_bins);
      np_uniform_hist(x, n, first, last, edges, hist);  // ORT adds the old counts bin for bin
      threshold = t;
    } else {
      const float old_stride = (2.0f * threshold) / static_cast<float>(old_bins);
      const int64_t half = static_cast<int64_t>(np_floor_divide(t - threshold, old_stride) + 1.0f);
      const int64_t new_bins = old_bins + 2 * half;
      const float new_t = static_cast<float>(half) * old_stride + threshold;
      float first = -new_t, last = new_t;
      edges = np_uniform_edges(first, last, new_bins);
      std::vector<int64_t> h(static_cast<size_t>(new_bins), 0);
      np_uniform_hist(x, n, first, last, edges, h);
      for (int64_t k = 0; k < old_bins; ++k) h[static_cast<size_t>(half + k)] += hist[static_cast<size_t>(k)];
      hist = std::move(h);
      threshold = new_t;
    }
    min = std::min(min, xmin);
    max = std::max(max, xmax);
  }
};

// Re-bins `src` (edges se) into `dst` (edges de) by bin centre: the approximate merge.
void rebin_add(const std::vector<int64_t>& src, const std::vector<float>& se, std::vector<int64_t>& dst,
               const std::vector<float>& de) {
  if (se == de) {
    for (size_t i = 0; i < dst.size(); ++i) dst[i] += src[i];
    return;
  }
  for (size_t i = 0; i < src.size(); ++i) {
    if (!src[i]) continue;
    const float c = 0.5f * (se[i] + se[i + 1]);
    auto k = static_cast<int64_t>(std::upper_bound(de.begin(), de.end(), c) - de.begin()) - 1;
    k = std::clamp<int64_t>(k, 0, static_cast<int64_t>(dst.size()) - 1);
    dst[static_cast<size_t>(k)] += src[i];
  }
}

}  // namespace

// ---------------- PercentileObserver ----------------

PercentileObserver::PercentileObserver(ObserverOptions options, double percentile, int bins, bool symmetric)
    : Observer(std::move(options)), percentile_(percentile), bins_(bins), symmetric_(symmetric) {
  check(!scheme_is_per_channel(options_.scheme), "PercentileObserver: needs a per-tensor scheme");
  check(percentile >= 0 && percentile <= 100, "PercentileObserver: percentile must be in [0, 100]");
  check(bins >= 1, "PercentileObserver: bins must be positive");
}

void PercentileObserver::observe_f32(const float* data, const Shape&, int64_t n, std::string_view name) {
  const auto s = obs_detail::scan_minmax(data, n);
  if (!s.finite) obs_detail::throw_non_finite(kind(), name);
  if (!symmetric_) {
    ValueHist{hist_, edges_, min_, max_, threshold_, seen_, bins_}.collect(data, n, s.min, s.max);
    return;
  }
  // collect_absolute_value
  std::vector<float> a(static_cast<size_t>(n));
  float amin = std::numeric_limits<float>::infinity(), amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::fabs(data[i]);
    a[static_cast<size_t>(i)] = v;
    amin = std::min(amin, v);
    amax = std::max(amax, v);
  }
  if (!seen_) {
    float first = amin, last = amax;
    edges_ = np_uniform_edges(first, last, bins_);
    hist_.assign(static_cast<size_t>(bins_), 0);
    np_uniform_hist(a.data(), n, first, last, edges_, hist_);
    min_ = s.min;
    max_ = s.max;
    seen_ = true;
    return;
  }
  std::vector<double> e(edges_.begin(), edges_.end());
  if (amax > edges_.back()) {
    // np.arange(edges[-1] + width, amax + width, width) on float32 scalars yields float64 values.
    const float width = edges_[1] - edges_[0];
    const float start = edges_.back() + width;
    const float stop = amax + width;
    const auto len = static_cast<int64_t>(std::ceil(static_cast<double>((stop - start) / width)));
    if (len > 0) {
      const double b0 = start, b1 = static_cast<float>(start + width);
      const double delta = b1 - b0;
      e.push_back(b0);
      if (len > 1) e.push_back(b1);
      for (int64_t i = 2; i < len; ++i) e.push_back(b0 + static_cast<double>(i) * delta);
    }
  }
  std::vector<int64_t> h(e.size() - 1, 0);
  np_edges_hist(a.data(), n, e, h);
  for (size_t i = 0; i < hist_.size(); ++i) h[i] += hist_[i];
  hist_ = std::move(h);
  edges_.assign(e.size(), 0.0f);
  for (size_t i = 0; i < e.size(); ++i) edges_[i] = static_cast<float>(e[i]);
  min_ = std::min(min_, s.min);
  max_ = std::max(max_, s.max);
}

std::pair<std::vector<float>, std::vector<float>> PercentileObserver::calibrated_range() const {
  if (!seen_) return {};
  int64_t total = 0;
  for (auto h : hist_) total += h;
  // cdf = np.cumsum(hist / total) in float64
  std::vector<double> cdf(hist_.size());
  double acc = 0;
  for (size_t i = 0; i < hist_.size(); ++i) {
    acc += static_cast<double>(hist_[i]) / static_cast<double>(total);
    cdf[i] = acc;
  }
  auto searchsorted = [&](double v) {
    return static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), v) - cdf.begin());
  };
  float lo, hi;
  if (symmetric_) {
    const size_t r = searchsorted(percentile_ / 100.0);
    lo = -edges_[r];
    hi = edges_[r];
  } else {
    const double cut = (100.0 - percentile_) / 200.0;
    const size_t r = searchsorted(1.0 - cut), l = searchsorted(cut);
    lo = edges_[l];
    hi = edges_[r];
  }
  if (lo < min_) lo = min_;
  if (hi > max_) hi = max_;
  return {{lo}, {hi}};
}

QParams PercentileObserver::qparams() const {
  const auto [lo, hi] = calibrated_range();
  return qparams_from(lo, hi, -1);
}

void PercentileObserver::reset() {
  hist_.clear();
  edges_.clear();
  min_ = max_ = threshold_ = 0;
  seen_ = false;
}

void PercentileObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const PercentileObserver&>(other);
  check(o.bins_ == bins_ && o.symmetric_ == symmetric_ && o.percentile_ == percentile_,
        "observer merge: different percentile settings");
  if (!o.seen_) return;
  if (!seen_) {
    *this = o;
    return;
  }
  if (o.edges_.back() > edges_.back() || o.edges_.front() < edges_.front()) {
    // Keep the wider histogram as the target.
    PercentileObserver wider = o;
    rebin_add(hist_, edges_, wider.hist_, wider.edges_);
    wider.min_ = std::min(min_, o.min_);
    wider.max_ = std::max(max_, o.max_);
    *this = wider;
    return;
  }
  rebin_add(o.hist_, o.edges_, hist_, edges_);
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void PercentileObserver::save_state(nlohmann::json& j) const {
  j["percentile"] = percentile_;
  j["bins"] = bins_;
  j["symmetric"] = symmetric_;
  save_histogram_state(j, seen_, min_, max_, threshold_, hist_, edges_);
}

void PercentileObserver::load_state(const nlohmann::json& j) {
  load_histogram_state(j, seen_, min_, max_, threshold_, hist_, edges_);
}

// ---------------- EntropyObserver ----------------

EntropyObserver::EntropyObserver(ObserverOptions options, int bins, int quantized_bins)
    : Observer(std::move(options)), bins_(bins), quantized_bins_(quantized_bins) {
  check(!scheme_is_per_channel(options_.scheme), "EntropyObserver: needs a per-tensor scheme");
  check(bins >= 2 && quantized_bins >= 2 && quantized_bins <= bins,
        "EntropyObserver: need 2 <= quantized_bins <= bins");
}

void EntropyObserver::observe_f32(const float* data, const Shape&, int64_t n, std::string_view name) {
  const auto s = obs_detail::scan_minmax(data, n);
  if (!s.finite) obs_detail::throw_non_finite(kind(), name);
  ValueHist{hist_, edges_, min_, max_, threshold_, seen_, bins_}.collect(data, n, s.min, s.max);
}

namespace {

// quant_utils.smooth_distribution; false when p is all zeros (or the smoothing would not apply).
bool smooth(const std::vector<int64_t>& p, std::vector<float>& out) {
  int64_t zeros = 0;
  for (auto v : p) zeros += v == 0;
  const int64_t nonzeros = static_cast<int64_t>(p.size()) - zeros;
  if (nonzeros == 0) return false;
  const double eps = 0.0001;
  const double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  if (!(eps1 < 1.0)) return false;
  const float eps_f = static_cast<float>(eps), neg_eps1_f = static_cast<float>(-eps1);
  out.resize(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const float iz = p[i] == 0 ? 1.0f : 0.0f, inz = 1.0f - iz;
    const float add = eps_f * iz + neg_eps1_f * inz;
    out[i] = static_cast<float>(p[i]) + add;
  }
  return true;
}

// calibrate.entropy(p, q) in float32.
float kl_entropy(std::vector<float>& p, std::vector<float>& q) {
  const int64_t n = static_cast<int64_t>(p.size());
  const float sp = np_pairwise_sum(p.data(), n);
  for (auto& v : p) v = v / sp;
  const float sq = np_pairwise_sum(q.data(), n);
  for (auto& v : q) v = v / sq;
  std::vector<float> vec(p.size());
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0 && q[i] >= 0) vec[i] = 0;
    else if (!(p[i] > 0 && q[i] > 0)) vec[i] = inf;
    else vec[i] = p[i] * std::log(p[i] / q[i]);
  }
  return np_pairwise_sum(vec.data(), n);
}

}  // namespace

std::pair<std::vector<float>, std::vector<float>> EntropyObserver::calibrated_range() const {
  if (!seen_) return {};
  const auto& hist = hist_;
  const int64_t nb = static_cast<int64_t>(hist.size());
  const int64_t zero = nb / 2;
  const int64_t nq = quantized_bins_;
  const int64_t half_q = nq / 2;
  double best = std::numeric_limits<double>::infinity();
  bool have = false;
  std::pair<float, float> best_t{0, 0};
  std::vector<int64_t> prefix(static_cast<size_t>(nb + 1), 0);
  for (int64_t i = 0; i < nb; ++i) prefix[static_cast<size_t>(i + 1)] = prefix[static_cast<size_t>(i)] + hist[static_cast<size_t>(i)];
  std::vector<int64_t> p, q, qb(static_cast<size_t>(nq));
  std::vector<float> ps, qs;
  for (int64_t i = half_q; i <= zero; ++i) {
    const int64_t start = zero - i;
    const int64_t end = std::min(zero + i + 1, nb);
    const std::pair<float, float> th{edges_[static_cast<size_t>(start)], edges_[static_cast<size_t>(end)]};
    const int64_t m = end - start;
    p.assign(hist.begin() + start, hist.begin() + end);
    p.front() += prefix[static_cast<size_t>(start)];
    p.back() += prefix[static_cast<size_t>(nb)] - prefix[static_cast<size_t>(end)];
    const int64_t merged = m / nq;
    for (int64_t k = 0; k < nq; ++k) {
      int64_t sum = 0;
      for (int64_t t = k * merged; t < k * merged + merged; ++t) sum += hist[static_cast<size_t>(start + t)];
      qb[static_cast<size_t>(k)] = sum;
    }
    for (int64_t t = nq * merged; t < m; ++t) qb[static_cast<size_t>(nq - 1)] += hist[static_cast<size_t>(start + t)];
    q.assign(static_cast<size_t>(m), 0);
    for (int64_t k = 0; k < nq; ++k) {
      int64_t norm = 0;
      for (int64_t t = k * merged; t < k * merged + merged; ++t) norm += p[static_cast<size_t>(t)] != 0;
      if (norm != 0) {
        const auto v = static_cast<int64_t>(static_cast<double>(qb[static_cast<size_t>(k)]) / static_cast<double>(norm));
        for (int64_t t = k * merged; t < k * merged + merged; ++t) q[static_cast<size_t>(t)] = v;
      }
    }
    double div = std::numeric_limits<double>::infinity();
    if (smooth(p, ps) && smooth(q, qs)) div = static_cast<double>(kl_entropy(ps, qs));
    if (!have || div < best) {  // np.argmin: the first minimum
      best = div;
      best_t = th;
      have = true;
    }
  }
  if (best_t.first < min_) best_t.first = min_;
  if (best_t.second > max_) best_t.second = max_;
  return {{best_t.first}, {best_t.second}};
}

QParams EntropyObserver::qparams() const {
  const auto [lo, hi] = calibrated_range();
  return qparams_from(lo, hi, -1);
}

void EntropyObserver::reset() {
  hist_.clear();
  edges_.clear();
  min_ = max_ = threshold_ = 0;
  seen_ = false;
}

void EntropyObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const EntropyObserver&>(other);
  check(o.bins_ == bins_ && o.quantized_bins_ == quantized_bins_, "observer merge: different entropy settings");
  if (!o.seen_) return;
  if (!seen_) {
    *this = o;
    return;
  }
  if (o.threshold_ > threshold_) {
    EntropyObserver wider = o;
    rebin_add(hist_, edges_, wider.hist_, wider.edges_);
    wider.min_ = std::min(min_, o.min_);
    wider.max_ = std::max(max_, o.max_);
    *this = wider;
    return;
  }
  rebin_add(o.hist_, o.edges_, hist_, edges_);
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

void EntropyObserver::save_state(nlohmann::json& j) const {
  j["bins"] = bins_;
  j["quantized_bins"] = quantized_bins_;
  save_histogram_state(j, seen_, min_, max_, threshold_, hist_, edges_);
}

void EntropyObserver::load_state(const nlohmann::json& j) {
  load_histogram_state(j, seen_, min_, max_, threshold_, hist_, edges_);
}

}  // namespace eq
