// torch.ao.quantization.observer.HistogramObserver, reproduced op by op in float32 (histc binning,
// _upscale_histogram's linspace/bucketize/bincount, _non_linear_param_search and
// _compute_quantization_error with torch's scalar-promotion rules).
// Bit-exactness against torch/numpy needs every float op rounded on its own: no FMA contraction
// (g++ contracts a * b + c by default, even with -std=c++20, when -mfma is on).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "edgequant/error.h"
#include "edgequant/observers.h"
#include "quant/observers/observer_util.h"
#include "runtime/threading.h"

namespace eq {

using obs_detail::f32_from_json;
using obs_detail::f32_to_json;
using obs_detail::f32s_from_json;
using obs_detail::f32s_to_json;

namespace {

// torch.linspace on CPU for float32: fma(step, i, start) below the halfway point and
// fma(-step, steps - 1 - i, end) from it, one rounding each (what ATen's vectorised kernel does).
std::vector<float> torch_linspace(float start, float end, int64_t steps) {
  std::vector<float> v(static_cast<size_t>(steps));
  if (steps == 1) {
    v[0] = start;
    return v;
  }
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int64_t halfway = steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    v[static_cast<size_t>(i)] = i < halfway ? std::fma(step, static_cast<float>(i), start)
                                            : std::fma(-step, static_cast<float>(steps - i - 1), end);
  return v;
}

// ATen's histc edges: [lo, hi] as float32, widened by 1 each side when equal.
std::pair<float, float> histc_edges(float lo, float hi) {
  double l = lo, h = hi;
  if (l == h) {
    l -= 1;
    h += 1;
  }
  return {static_cast<float>(l), static_cast<float>(h)};
}

// Counts (exactly, in integers) the histc bins of data (all inside [lo, hi]) into `total`.
void histc_count(const float* data, int64_t n, int bins, float lo_in, float hi_in, std::vector<uint64_t>& total) {
  const auto [lo, hi] = histc_edges(lo_in, hi_in);
  const float width = hi - lo;
  const float nb = static_cast<float>(bins);
  std::vector<uint32_t> counts(static_cast<size_t>(bins) * 4, 0);
  uint32_t* c0 = counts.data();
  uint32_t* c1 = c0 + bins;
  uint32_t* c2 = c1 + bins;
  uint32_t* c3 = c2 + bins;
  const int32_t last = bins - 1;
  int64_t i = 0;
  auto flush = [&]() {
    for (int b = 0; b < bins; ++b) {
      total[static_cast<size_t>(b)] += static_cast<uint64_t>(c0[b]) + c1[b] + c2[b] + c3[b];
      c0[b] = c1[b] = c2[b] = c3[b] = 0;
    }
  };
  if (!(width > 0) || !std::isfinite(width)) {
    // Degenerate range (only reachable for |value| so large that value +- 1 rounds back).
    total[0] += static_cast<uint64_t>(n);
    return;
  }
#if defined(__AVX2__)
  // uint32 counters: fold them into the float histogram before any can overflow.
  const int64_t kFlushEvery = int64_t{1} << 30;
  int64_t since_flush = 0;
  const __m256 vlo = _mm256_set1_ps(lo), vnb = _mm256_set1_ps(nb), vw = _mm256_set1_ps(width);
  const __m256i vlast = _mm256_set1_epi32(last), vzero = _mm256_setzero_si256();
  alignas(32) int32_t idx[16];
  for (; i + 16 <= n; i += 16) {
    // pos = (int)((x - lo) * bins / (hi - lo)), exactly ATen's float expression.
    __m256 a = _mm256_div_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(data + i), vlo), vnb), vw);
    __m256 b = _mm256_div_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(data + i + 8), vlo), vnb), vw);
    __m256i ia = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(a), vlast), vzero);
    __m256i ib = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(b), vlast), vzero);
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx), ia);
    _mm256_store_si256(reinterpret_cast<__m256i*>(idx + 8), ib);
    for (int k = 0; k < 16; k += 4) {
      ++c0[idx[k]];
      ++c1[idx[k + 1]];
      ++c2[idx[k + 2]];
      ++c3[idx[k + 3]];
    }
    since_flush += 16;
    if (since_flush >= kFlushEvery) {
      flush();
      since_flush = 0;
    }
  }
#endif
  for (; i < n; ++i) {
    const float x = data[i];
    if (!(x >= lo && x <= hi)) continue;
    int64_t pos = static_cast<int64_t>((x - lo) * nb / width);
    pos = std::clamp<int64_t>(pos, 0, last);
    ++c0[pos];
  }
  flush();
}

// Adds the histc counts of data to `out` (float32, as torch's histc). The counting is split
// across the executor's threads (calibration calls this between nodes, where the other core
// would idle); counts are integers and summed before the one float add per bin, so the result
// does not depend on the split.
void histc_add(const float* data, int64_t n, int bins, float lo, float hi, std::vector<float>& out) {
  // At most 8 chunks of at least 64K values: enough to split across threads, few partials.
  const int64_t chunks = std::clamp<int64_t>((n + (int64_t{1} << 16) - 1) >> 16, 1, 8);
  const int64_t kChunk = (n + chunks - 1) / chunks;
  std::vector<std::vector<uint64_t>> partial(static_cast<size_t>(std::max<int64_t>(chunks, 1)),
                                             std::vector<uint64_t>(static_cast<size_t>(bins), 0));
  parallel_for(chunks, 1, [&](long b, long e) {
    for (long c = b; c < e; ++c) {
      const int64_t begin = c * kChunk;
      if (begin < n) histc_count(data + begin, std::min(kChunk, n - begin), bins, lo, hi, partial[static_cast<size_t>(c)]);
    }
  });
  for (int k = 0; k < bins; ++k) {
    uint64_t t = 0;
    for (const auto& p : partial) t += p[static_cast<size_t>(k)];
    out[static_cast<size_t>(k)] += static_cast<float>(t);
  }
}

// torch.sum of a contiguous float32 vector as ATen's CPU kernel computes it (SumKernel.cpp
// cascade_sum → vectorized_inner_sum → row_sum → multi_row_sum): float32 accumulators, one per
// lane of Vectorized<float>, 4 interleaved rows of vectors, partial sums folded in cascade levels
// of 16 rows, then the scalar tail, then the lanes in order. The lane count is what torch 2.15's
// sum kernel used on the machine the goldens were made on (an AVX512 CPU): 8 floats, found by
// reproducing torch's result (16 lanes gives a different last bit). Summing in double instead
// changes the L2 search's decisions when the histogram holds fractional counts (after an
// upscale), which moved a cnn scale by 0.1% against ExecuTorch's goldens.
float torch_sum_f32(const float* x, int64_t n) {
  constexpr int64_t kLanes = 8, kIlp = 4, kLevels = 4;
  using Vec = std::array<float, kLanes>;
  const int64_t vec_size = n / kLanes;
  auto load = [&](int64_t v) {
    Vec r;
    for (int64_t l = 0; l < kLanes; ++l) r[static_cast<size_t>(l)] = x[v * kLanes + l];
    return r;
  };
  auto add = [](Vec& a, const Vec& b) {
    for (size_t l = 0; l < a.size(); ++l) a[l] += b[l];
  };
  // multi_row_sum over rows of kIlp vectors
  const int64_t rows = vec_size / kIlp;
  auto ceil_log2 = [](int64_t v) -> int64_t {
    if (v <= 2) return 1;
    return 64 - __builtin_clzll(static_cast<unsigned long long>(v - 1));
  };
  const int64_t level_power = std::max<int64_t>(4, ceil_log2(rows) / kLevels);
  const int64_t level_step = int64_t{1} << level_power;
  const int64_t level_mask = level_step - 1;
  std::array<std::array<Vec, kIlp>, kLevels> acc{};
  int64_t i = 0;
  for (; i + level_step <= rows;) {
    for (int64_t j = 0; j < level_step; ++j, ++i)
      for (int64_t k = 0; k < kIlp; ++k) add(acc[0][static_cast<size_t>(k)], load(i * kIlp + k));
    for (int64_t j = 1; j < kLevels; ++j) {
      for (int64_t k = 0; k < kIlp; ++k) {
        add(acc[static_cast<size_t>(j)][static_cast<size_t>(k)], acc[static_cast<size_t>(j - 1)][static_cast<size_t>(k)]);
        acc[static_cast<size_t>(j - 1)][static_cast<size_t>(k)] = Vec{};
      }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < rows; ++i)
    for (int64_t k = 0; k < kIlp; ++k) add(acc[0][static_cast<size_t>(k)], load(i * kIlp + k));
  for (int64_t j = 1; j < kLevels; ++j)
    for (int64_t k = 0; k < kIlp; ++k) add(acc[0][static_cast<size_t>(k)], acc[static_cast<size_t>(j)][static_cast<size_t>(k)]);
  // row_sum: leftover vectors, then the kIlp partial sums
  std::array<Vec, kIlp>& partial = acc[0];
  for (int64_t v = rows * kIlp; v < vec_size; ++v) add(partial[0], load(v));
  for (int64_t k = 1; k < kIlp; ++k) add(partial[0], partial[static_cast<size_t>(k)]);
  // vectorized_inner_sum: scalar tail first, then the lanes
  float final_acc = 0.0f;
  for (int64_t k = vec_size * kLanes; k < n; ++k) final_acc += x[k];
  for (float lane : partial[0]) final_acc += lane;
  return final_acc;
}

// c10::div_floor_floating (also numpy's npy_divmod floor quotient).
float div_floor(float a, float b) {
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

}  // namespace

HistogramObserver::HistogramObserver(ObserverOptions options, int bins) : Observer(std::move(options)), bins_(bins) {
  check(!scheme_is_per_channel(options_.scheme), "HistogramObserver: needs a per-tensor scheme");
  check(bins >= 1, "HistogramObserver: bins must be positive");
  hist_.assign(static_cast<size_t>(bins_), 0.0f);
}

int HistogramObserver::dst_nbins() const {
  // 2 ** torch.iinfo(dtype).bits
  return 1 << std::min(dtype_bits(options_.dtype), 30);
}

namespace {

// torch's _upscale_histogram: `hist` over [omin, omax] re-binned into `bins` bins over [nmin, nmax].
std::vector<float> upscale_histogram(const std::vector<float>& hist, float omin, float omax, float nmin, float nmax,
                                     int bins) {
  const int64_t up = HistogramObserver::kUpsampleRate;
  const int64_t fine = static_cast<int64_t>(bins) * up;
  const float bin_size = (omax - omin) / static_cast<float>(fine);
  const float half = 0.5f * bin_size;
  const auto mids = torch_linspace(omin, omax, fine + 1);
  const auto bounds = torch_linspace(nmin, nmax, bins + 1);
  std::vector<float> out(static_cast<size_t>(bins), 0.0f);
  for (int64_t k = 0; k < fine; ++k) {
    const float mid = mids[static_cast<size_t>(k)] + half;
    // bucketize(right=True) - 1 == upper_bound - 1
    int64_t b = (std::upper_bound(bounds.begin(), bounds.end(), mid) - bounds.begin()) - 1;
    b = std::clamp<int64_t>(b, 0, bins - 1);
    out[static_cast<size_t>(b)] += hist[static_cast<size_t>(k / up)] / static_cast<float>(up);
  }
  return out;
}

// A histogram over [min, max] expressed in the range [nmin, nmax] the way torch's
// _combine_histograms does it (a single-valued one goes into histc's bin for that value).
std::vector<float> to_range(const std::vector<float>& hist, float min, float max, float nmin, float nmax, int bins) {
  if (min == nmin && max == nmax) return hist;
  if (min == max) {
    float total = 0;
    for (float h : hist) total += h;
    std::vector<float> one(static_cast<size_t>(bins), 0.0f);
    histc_add(&min, 1, bins, nmin, nmax, one);
    for (auto& v : one) v *= total;
    return one;
  }
  return upscale_histogram(hist, min, max, nmin, nmax, bins);
}

}  // namespace

void HistogramObserver::observe_f32(const float* data, const Shape&, int64_t n, std::string_view name) {
  const auto s = obs_detail::scan_minmax(data, n);
  if (!s.finite) obs_detail::throw_non_finite(kind(), name);
  const bool uninitialised = min_ == std::numeric_limits<float>::infinity() ||
                             max_ == -std::numeric_limits<float>::infinity();
  if (uninitialised) {
    min_ = s.min;
    max_ = s.max;
    std::fill(hist_.begin(), hist_.end(), 0.0f);
    histc_add(data, n, bins_, min_, max_, hist_);
    return;
  }
  const float new_min = std::min(min_, s.min);
  const float new_max = std::max(max_, s.max);
  std::vector<float> update(static_cast<size_t>(bins_), 0.0f);
  histc_add(data, n, bins_, new_min, new_max, update);
  if (new_min == min_ && new_max == max_) {
    for (size_t b = 0; b < hist_.size(); ++b) hist_[b] += update[b];
    return;
  }
  const auto transformed = to_range(hist_, min_, max_, new_min, new_max, bins_);
  for (size_t b = 0; b < hist_.size(); ++b) hist_[b] = update[b] + transformed[b];
  min_ = new_min;
  max_ = new_max;
}

std::pair<float, float> HistogramObserver::search_range() const {
  const int bins = bins_;
  const float bin_width = (max_ - min_) / static_cast<float>(bins);
  if (bin_width == 0.0f) return {min_, max_};  // every candidate gives min + 0 * k
  // total = torch.sum(histogram).item(); cSum = torch.cumsum (double accumulation, float output)
  double acc = 0;
  std::vector<float> csum(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) {
    acc += hist_[static_cast<size_t>(b)];
    csum[static_cast<size_t>(b)] = static_cast<float>(acc);
  }
  const double total = static_cast<double>(torch_sum_f32(hist_.data(), bins));

  const int dst = dst_nbins();
  const double bw_d = (static_cast<double>(max_) - static_cast<double>(min_)) / bins;
  std::vector<float> norm(static_cast<size_t>(bins));
  std::vector<float> density(static_cast<size_t>(bins));
  const float bw_f = static_cast<float>(bw_d);
  for (int b = 0; b < bins; ++b) density[static_cast<size_t>(b)] = hist_[static_cast<size_t>(b)] / bw_f;

  auto get_norm = [](float db, float de, float dens) {
    const float nrm = (de * de * de - db * db * db) / 3.0f;
    return dens * nrm;
  };
  auto quant_error = [&](int ns, int ne) -> double {
    const double dst_w = bw_d * (ne - ns + 1) / dst;
    if (dst_w == 0.0) return 0.0;
    const float dw = static_cast<float>(dst_w);
    const float half_d = static_cast<float>(dst_w / 2);
    const float neg_half_d = static_cast<float>(-dst_w / 2);
    const float dmax = static_cast<float>(dst - 1);
    for (int k = 0; k < bins; ++k) {
      const float dens = density[static_cast<size_t>(k)];
      const float begin = static_cast<float>(k - ns) * bw_f;
      const float end = begin + bw_f;
      const float bob = std::clamp(div_floor(begin, dw), 0.0f, dmax);
      const float bob_center = (bob + 0.5f) * dw;
      const float boe = std::clamp(div_floor(end, dw), 0.0f, dmax);
      float nrm = 0.0f;
      nrm += get_norm(begin - bob_center, half_d, dens);
      nrm += (boe - bob - 1.0f) * get_norm(neg_half_d, half_d, dens);
      const float boe_center = boe * dw + half_d;
      nrm += get_norm(neg_half_d, end - boe_center, dens);
      norm[static_cast<size_t>(k)] = nrm;
    }
    return static_cast<double>(torch_sum_f32(norm.data(), bins));
  };

  const double stepsize = 1e-5;
  double alpha = 0.0, beta = 1.0;
  int start_bin = 0, end_bin = bins - 1;
  double norm_min = std::numeric_limits<double>::infinity();
  while (alpha < beta) {
    const double next_alpha = alpha + stepsize;
    const double next_beta = beta - stepsize;
    const float lo_thr = static_cast<float>(next_alpha * total);
    const float hi_thr = static_cast<float>(next_beta * total);
    // l: first index in [start_bin, end_bin) with cSum >= lo_thr, else end_bin (cSum is monotone)
    const auto cb = csum.begin();
    int l = static_cast<int>(std::partition_point(cb + start_bin, cb + end_bin, [&](float v) { return v < lo_thr; }) - cb);
    // r: last index in (start_bin, end_bin] with cSum <= hi_thr, else start_bin
    int r = static_cast<int>(std::partition_point(cb + start_bin + 1, cb + end_bin + 1,
                                                  [&](float v) { return !(v > hi_thr); }) - cb) - 1;
    r = std::max(r, start_bin);
    int next_start = start_bin, next_end = end_bin;
    if ((l - start_bin) > (end_bin - r)) {
      next_start = l;
      alpha = next_alpha;
    } else {
      next_end = r;
      beta = next_beta;
    }
    if (next_start == start_bin && next_end == end_bin) continue;
    const double nrm = quant_error(next_start, next_end);
    if (nrm > norm_min) break;
    norm_min = nrm;
    start_bin = next_start;
    end_bin = next_end;
  }
  const float new_min = min_ + bin_width * static_cast<float>(start_bin);
  const float new_max = min_ + bin_width * static_cast<float>(end_bin + 1);
  return {new_min, new_max};
}

QParams HistogramObserver::qparams() const {
  if (min_ == std::numeric_limits<float>::infinity() && max_ == -std::numeric_limits<float>::infinity())
    return qparams_from({min_}, {max_}, -1);
  const auto [lo, hi] = search_range();
  return qparams_from({lo}, {hi}, -1);
}

std::pair<std::vector<float>, std::vector<float>> HistogramObserver::calibrated_range() const {
  if (min_ == std::numeric_limits<float>::infinity()) return {};
  const auto [lo, hi] = search_range();
  return {{lo}, {hi}};
}

void HistogramObserver::reset() {
  std::fill(hist_.begin(), hist_.end(), 0.0f);
  min_ = std::numeric_limits<float>::infinity();
  max_ = -std::numeric_limits<float>::infinity();
}

void HistogramObserver::merge(const Observer& other) {
  check_mergeable(other);
  const auto& o = static_cast<const HistogramObserver&>(other);
  check(o.bins_ == bins_, "observer merge: different histogram bin counts");
  if (o.min_ == std::numeric_limits<float>::infinity()) return;
  if (min_ == std::numeric_limits<float>::infinity()) {
    hist_ = o.hist_;
    min_ = o.min_;
    max_ = o.max_;
    return;
  }
  const float nmin = std::min(min_, o.min_), nmax = std::max(max_, o.max_);
  const auto a = to_range(hist_, min_, max_, nmin, nmax, bins_);
  const auto b = to_range(o.hist_, o.min_, o.max_, nmin, nmax, bins_);
  for (size_t k = 0; k < hist_.size(); ++k) hist_[k] = a[k] + b[k];
  min_ = nmin;
  max_ = nmax;
}

void HistogramObserver::save_state(nlohmann::json& j) const {
  j["bins"] = bins_;
  j["min"] = f32_to_json(min_);
  j["max"] = f32_to_json(max_);
  j["histogram"] = f32s_to_json(hist_);
}

void HistogramObserver::load_state(const nlohmann::json& j) {
  min_ = f32_from_json(j.at("min"));
  max_ = f32_from_json(j.at("max"));
  hist_ = f32s_from_json(j.at("histogram"));
  check(static_cast<int>(hist_.size()) == bins_, "observer state: histogram length does not match bins");
}

}  // namespace eq
