// Calibration observers: they watch float32 activations (or weights) and turn what they saw into
// quantization parameters. Each reproduces a peer exactly where it can:
//
//   MinMaxObserver, MovingAverageMinMaxObserver, PerChannelMinMaxObserver,
//   MovingAveragePerChannelMinMaxObserver, HistogramObserver
//       torch.ao.quantization.observer of the same name (float32 state, same update order).
//   PercentileObserver, EntropyObserver
//       onnxruntime.quantization.calibrate.HistogramCollector with method 'percentile' / 'entropy';
//       one observe() call is one collect() call (ORT's quantize_static collects all batches in
//       a single call, which is one observe() of the concatenated data).
//
// Inputs must be f32. Empty tensors are ignored. Any NaN or Inf throws eq::Error naming the
// tensor (torch's HistogramObserver silently drops infinities; we refuse them, since they mean a
// broken model or calibration set).
//
// Sharded calibration: observers of the same kind and configuration can be merged.
//   exact:  MinMax, PerChannelMinMax (min of mins, max of maxes);
//           Histogram when both shards cover the same [min, max] (plain bin sums, as torch's
//           forward does for an unchanged range); a shard whose range differs is re-binned into
//           the union range with torch's own _upscale_histogram, which is exactly the
//           approximation torch makes when a new batch grows the range;
//           Percentile/Entropy when both histograms have the same bin edges.
//   approximate: MovingAverage(PerChannel)MinMax merge to the average of the two shards' running
//           values weighted by the batches each saw; a moving average is order dependent and no
//           merge can reproduce the sequential one. Percentile/Entropy with different edges re-bin
//           the other shard's counts at bin centres.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgequant/qparams.h"
#include "edgequant/tensor.h"

namespace eq {

// What every uniform observer is configured with (torch's UniformQuantizationObserverBase args).
struct ObserverOptions {
  DType dtype = DType::u8;
  QuantizationScheme scheme = QuantizationScheme::per_tensor_affine;
  bool reduce_range = false;
  // Both or neither; when given they override the dtype's range (torch's quant_min/quant_max,
  // halved again when reduce_range is set, as torch does).
  std::optional<int64_t> qmin, qmax;
  float eps = kDefaultQuantEps;

  QRange range() const;
  bool customized_range() const { return qmin.has_value() && qmax.has_value(); }
};

class Observer {
 public:
  explicit Observer(ObserverOptions options);
  virtual ~Observer() = default;
  Observer(const Observer&) = default;
  Observer& operator=(const Observer&) = default;

  // "minmax", "moving_average_minmax", "per_channel_minmax", "moving_average_per_channel_minmax",
  // "histogram", "percentile", "entropy".
  virtual std::string_view kind() const = 0;
  const ObserverOptions& options() const { return options_; }

  // Records one batch. `x` must be f32; `name` appears in error messages.
  void observe(const Tensor& x, std::string_view name = {});
  // Scale and zero point from what was observed so far (scale 1, zero point 0 before any data).
  virtual QParams qparams() const = 0;
  // The float range the qparams are computed from: the running min/max for min/max observers,
  // the searched range for Histogram, the thresholds for Percentile/Entropy. One entry per channel
  // for per-channel observers. Empty vectors before any data.
  virtual std::pair<std::vector<float>, std::vector<float>> calibrated_range() const = 0;
  virtual void reset() = 0;
  // Folds another observer's statistics into this one (see the file comment for exactness).
  // Throws eq::Error when the kinds or configurations differ.
  virtual void merge(const Observer& other) = 0;
  virtual std::unique_ptr<Observer> clone() const = 0;

  // JSON holding the kind, the options, the parameters and the state. Floats are stored exactly.
  std::string serialize() const;
  static std::unique_ptr<Observer> deserialize(const std::string& json);

 protected:
  virtual void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) = 0;
  virtual void save_state(nlohmann::json& j) const = 0;
  virtual void load_state(const nlohmann::json& j) = 0;
  // Throws unless `other` has the same kind and options.
  void check_mergeable(const Observer& other) const;
  QParams qparams_from(const std::vector<float>& mins, const std::vector<float>& maxs, int axis) const;

  ObserverOptions options_;
};

// ---- torch.ao.quantization observers ----

class MinMaxObserver : public Observer {
 public:
  explicit MinMaxObserver(ObserverOptions options = {});
  std::string_view kind() const override { return "minmax"; }
  QParams qparams() const override;
  std::pair<std::vector<float>, std::vector<float>> calibrated_range() const override;
  void reset() override;
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<MinMaxObserver>(*this); }
  float min_val() const { return min_; }
  float max_val() const { return max_; }

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
  int64_t batches_ = 0;
};

// min += c * (batch_min - min) (float32, torch's order); the first batch sets min/max.
class MovingAverageMinMaxObserver : public MinMaxObserver {
 public:
  explicit MovingAverageMinMaxObserver(ObserverOptions options = {}, float averaging_constant = 0.01f);
  std::string_view kind() const override { return "moving_average_minmax"; }
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<MovingAverageMinMaxObserver>(*this); }
  float averaging_constant() const { return c_; }

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  float c_;
};

class PerChannelMinMaxObserver : public Observer {
 public:
  // Scheme defaults to per_channel_affine when options name a per-tensor scheme.
  explicit PerChannelMinMaxObserver(int axis = 0, ObserverOptions options = per_channel_defaults());
  std::string_view kind() const override { return "per_channel_minmax"; }
  QParams qparams() const override;
  std::pair<std::vector<float>, std::vector<float>> calibrated_range() const override;
  void reset() override;
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<PerChannelMinMaxObserver>(*this); }
  int axis() const { return axis_; }
  const std::vector<float>& min_vals() const { return min_; }
  const std::vector<float>& max_vals() const { return max_; }
  static ObserverOptions per_channel_defaults();

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  // Per-channel min/max of one batch.
  void batch_minmax(const float* data, const Shape& shape, std::string_view name,
                    std::vector<float>& mn, std::vector<float>& mx) const;
  int axis_;
  std::vector<float> min_, max_;
  int64_t batches_ = 0;
};

class MovingAveragePerChannelMinMaxObserver : public PerChannelMinMaxObserver {
 public:
  explicit MovingAveragePerChannelMinMaxObserver(int axis = 0, ObserverOptions options = per_channel_defaults(),
                                                 float averaging_constant = 0.01f);
  std::string_view kind() const override { return "moving_average_per_channel_minmax"; }
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override {
    return std::make_unique<MovingAveragePerChannelMinMaxObserver>(*this);
  }
  float averaging_constant() const { return c_; }

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  float c_;
};

// torch's HistogramObserver: a float32 histogram of `bins` bins over the running [min, max],
// re-binned with upsample_rate 16 when a batch grows the range, and the L2 range search
// (_non_linear_param_search) against 2^bits destination bins.
class HistogramObserver : public Observer {
 public:
  explicit HistogramObserver(ObserverOptions options = {}, int bins = 2048);
  std::string_view kind() const override { return "histogram"; }
  QParams qparams() const override;
  std::pair<std::vector<float>, std::vector<float>> calibrated_range() const override;
  void reset() override;
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<HistogramObserver>(*this); }
  int bins() const { return bins_; }
  float min_val() const { return min_; }
  float max_val() const { return max_; }
  const std::vector<float>& histogram() const { return hist_; }
  // torch's _non_linear_param_search: the range (new_min, new_max) the qparams come from.
  std::pair<float, float> search_range() const;

  static constexpr int kUpsampleRate = 16;

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  int dst_nbins() const;
  int bins_;
  std::vector<float> hist_;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
};

// ---- onnxruntime calibrators ----

// onnxruntime's HistogramCollector, method 'percentile'. symmetric (ORT's default for this
// method): histogram of |x| from the first batch's [min|x|, max|x|] in `bins` bins, extended to
// the right in equal-width bins when a later batch is larger; the threshold is the bin edge where
// the CDF reaches percentile / 100, range (-t, t) clipped to the data's min/max.
// Not symmetric: histogram of x over [-t, t], t = max|x| (grown like ORT's merge_histogram);
// the thresholds cut (100 - percentile) / 2 percent on each side.
class PercentileObserver : public Observer {
 public:
  explicit PercentileObserver(ObserverOptions options = {}, double percentile = 99.999, int bins = 2048,
                              bool symmetric = true);
  std::string_view kind() const override { return "percentile"; }
  QParams qparams() const override;
  std::pair<std::vector<float>, std::vector<float>> calibrated_range() const override;
  void reset() override;
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<PercentileObserver>(*this); }
  const std::vector<int64_t>& histogram() const { return hist_; }
  const std::vector<float>& edges() const { return edges_; }
  double percentile() const { return percentile_; }

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  double percentile_;
  int bins_;
  bool symmetric_;
  std::vector<int64_t> hist_;
  std::vector<float> edges_;
  float min_ = 0, max_ = 0, threshold_ = 0;
  bool seen_ = false;
};

// onnxruntime's HistogramCollector, method 'entropy' (TensorRT-style KL-divergence threshold
// search): histogram of x over [-t, t] (ORT defaults: 128 bins, 128 quantized bins), grown like
// ORT's merge_histogram; the candidate symmetric window with the smallest KL divergence between
// the clipped reference distribution and its quantized expansion wins, clipped to min/max.
class EntropyObserver : public Observer {
 public:
  explicit EntropyObserver(ObserverOptions options = {}, int bins = 128, int quantized_bins = 128);
  std::string_view kind() const override { return "entropy"; }
  QParams qparams() const override;
  std::pair<std::vector<float>, std::vector<float>> calibrated_range() const override;
  void reset() override;
  void merge(const Observer& other) override;
  std::unique_ptr<Observer> clone() const override { return std::make_unique<EntropyObserver>(*this); }
  const std::vector<int64_t>& histogram() const { return hist_; }
  const std::vector<float>& edges() const { return edges_; }

 protected:
  void observe_f32(const float* data, const Shape& shape, int64_t n, std::string_view name) override;
  void save_state(nlohmann::json& j) const override;
  void load_state(const nlohmann::json& j) override;
  int bins_;
  int quantized_bins_;
  std::vector<int64_t> hist_;
  std::vector<float> edges_;
  float min_ = 0, max_ = 0, threshold_ = 0;
  bool seen_ = false;
};

}  // namespace eq
