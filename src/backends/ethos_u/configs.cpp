// ExecuTorch 1.5.1 backends/arm/quantizer/arm_quantizer.py: get_symmetric_quantization_config
// (eps 2^-16) and get_symmetric_a16w8_quantization_config (int16 activations, eps 2^-12; its
// weights come from the a8w8 config, eps 2^-16). QAT picks the observers of FakeQuantize /
// FusedMovingAvgObsFakeQuantize (moving-average min/max); there is no fake-quant training here,
// the observers only calibrate.
#include "edgequant/error.h"
#include "edgequant/ethos_u.h"

namespace eq::ethosu {
namespace {

constexpr float kA8W8Eps = 1.0f / 65536.0f;  // 2^-16
constexpr float kA16W8Eps = 1.0f / 4096.0f;  // 2^-12

ObserverSpec activation_observer(bool is_qat, bool is_dynamic) {
  if (is_dynamic) return {ObserverKind::placeholder};
  if (is_qat) return {ObserverKind::moving_average_minmax};
  return {ObserverKind::histogram};
}

QuantizationSpec weight_spec(bool is_per_channel, bool is_qat, int64_t qmin, int64_t qmax) {
  QuantizationSpec w;
  w.dtype = DType::i8;
  w.quant_min = qmin;
  w.quant_max = qmax;
  w.qscheme = is_per_channel ? QuantizationScheme::per_channel_symmetric : QuantizationScheme::per_tensor_symmetric;
  w.ch_axis = 0;
  w.eps = kA8W8Eps;
  // PTQ: (PerChannel)MinMaxObserver. QAT: FakeQuantize around PerChannelMinMaxObserver, or the
  // plain FakeQuantize (MovingAverageMinMaxObserver) per tensor.
  if (is_per_channel) w.observer = {ObserverKind::per_channel_minmax};
  else w.observer = {is_qat ? ObserverKind::moving_average_minmax : ObserverKind::minmax};
  return w;
}

}  // namespace

QuantizationConfig get_symmetric_quantization_config(bool is_per_channel, bool is_qat, bool is_dynamic,
                                                     int64_t act_qmin, int64_t act_qmax, int64_t weight_qmin,
                                                     int64_t weight_qmax) {
  check(act_qmin >= -128 && act_qmin < act_qmax && act_qmax <= 127,
        "ethos-u config: the activation range [" + std::to_string(act_qmin) + ", " + std::to_string(act_qmax) +
            "] does not fit int8");
  check(weight_qmin >= -128 && weight_qmin < weight_qmax && weight_qmax <= 127,
        "ethos-u config: the weight range [" + std::to_string(weight_qmin) + ", " + std::to_string(weight_qmax) +
            "] does not fit int8");
  QuantizationSpec act;
  act.dtype = DType::i8;
  act.quant_min = act_qmin;
  act.quant_max = act_qmax;
  act.qscheme = QuantizationScheme::per_tensor_affine;
  act.is_dynamic = is_dynamic;
  act.eps = kA8W8Eps;
  act.observer = activation_observer(is_qat, is_dynamic);
  QuantizationConfig c;
  c.input_activation = act;
  if (!is_dynamic) c.output_activation = act;
  c.weight = weight_spec(is_per_channel, is_qat, weight_qmin, weight_qmax);
  c.bias = true;
  c.is_qat = is_qat;
  return c;
}

QuantizationConfig get_symmetric_a16w8_quantization_config(bool is_per_channel, bool is_qat, bool is_dynamic) {
  QuantizationSpec act;
  act.dtype = DType::i16;
  act.quant_min = -32767;  // torch.iinfo(torch.int16).min + 1
  act.quant_max = 32767;
  act.qscheme = QuantizationScheme::per_tensor_symmetric;
  act.is_dynamic = is_dynamic;
  act.eps = kA16W8Eps;
  act.observer = activation_observer(is_qat, is_dynamic);
  QuantizationConfig c = get_symmetric_quantization_config(is_per_channel, is_qat, is_dynamic);
  c.input_activation = act;
  c.output_activation = is_dynamic ? std::nullopt : std::optional<QuantizationSpec>(act);
  return c;
}

}  // namespace eq::ethosu
