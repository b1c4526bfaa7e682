// Helpers shared by the emitters: fused activations, SAME/VALID padding, explicit pads,
// requantization.
#include <algorithm>
#include <cmath>

#include "edgequant/error.h"
#include "emitters.h"

namespace eq::tflite_export {

std::optional<fb::ActivationFunctionType> fused_activation(int64_t act_min, int64_t act_max, const Quant& q,
                                                           int64_t qmin, int64_t qmax) {
  const float scale = q.scales.at(0);
  const int64_t zp = q.zero_points.at(0);
  // TFLite's CalculateActivationRangeQuantized: zero_point + round(f / scale), f / scale in float.
  // Saturated before the cast: f / scale beyond int64 (a tiny scale) does not convert (undefined
  // behaviour), and any value past the integer range clamps to qmin / qmax below all the same.
  auto quantize = [&](float f) {
    const double r = std::clamp<double>(std::round(f / scale), -1e15, 1e15);
    return zp + static_cast<int64_t>(std::isnan(r) ? 0.0 : r);
  };
  using A = fb::ActivationFunctionType;
  const struct {
    A fn;
    int64_t lo, hi;
  } candidates[] = {
      {A::NONE, qmin, qmax},
      {A::RELU, std::max(qmin, quantize(0.f)), qmax},
      {A::RELU6, std::max(qmin, quantize(0.f)), std::min(qmax, quantize(6.f))},
      {A::RELU_N1_TO_1, std::max(qmin, quantize(-1.f)), std::min(qmax, quantize(1.f))},
  };
  for (const auto& c : candidates)
    if (c.lo == act_min && c.hi == act_max) return c.fn;
  return std::nullopt;
}

namespace {
int scalar_like(Context& c, int t, int64_t value, const std::string& nm) {
  const Quant q = quant_of(c, t);
  const fb::TensorType type = c.tensor(t).type;
  if (type == fb::TensorType::INT16) {
    const int16_t v = static_cast<int16_t>(value);
    return c.add_constant(nm, type, {1}, &v, sizeof v, &q);
  }
  check(type == fb::TensorType::INT8, "internal: clamp of a non-integer tensor");
  const int8_t v = static_cast<int8_t>(value);
  return c.add_constant(nm, type, {1}, &v, sizeof v, &q);
}
}  // namespace

int clamp_tensor(Context& c, int t, int64_t lo, int64_t hi, int64_t qmin, int64_t qmax) {
  const std::string base = c.tensor(t).name;
  const Quant q = quant_of(c, t);
  // MAXIMUM with the lower bound, then MINIMUM with the upper one, each only when it clips.
  auto bound = [&](fb::BuiltinOperator op, int64_t value, const std::string& value_name, const std::string& out_name) {
    const int k = scalar_like(c, t, value, base + value_name);
    const int out = c.like(t, base + out_name, &q);
    fb::BuiltinOptionsUnion u;
    u.Set(fb::MaximumMinimumOptionsT{});
    c.add_op(op, {t, k}, {out}, std::move(u));
    t = out;
  };
  if (lo > qmin) bound(fb::BuiltinOperator::MAXIMUM, lo, "_min", "_max");
  if (hi < qmax) bound(fb::BuiltinOperator::MINIMUM, hi, "_maxval", "_min");
  return t;
}

std::optional<fb::Padding> tflite_padding(const std::vector<int64_t>& in, const std::vector<int64_t>& k,
                                          const std::vector<int64_t>& stride, const std::vector<Pad1d>& pad,
                                          const std::vector<int64_t>& out) {
  bool valid = true, same = true;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool zero = pad[i].begin == 0 && pad[i].end == 0;
    valid = valid && zero && in[i] >= k[i] && out[i] == (in[i] - k[i]) / stride[i] + 1;
    const int64_t same_out = (in[i] + stride[i] - 1) / stride[i];
    const int64_t total = std::max<int64_t>((same_out - 1) * stride[i] + k[i] - in[i], 0);
    same = same && out[i] == same_out && pad[i].begin == total / 2 && pad[i].end == total - total / 2;
  }
  if (valid) return fb::Padding::VALID;
  if (same) return fb::Padding::SAME;
  return std::nullopt;
}

int pad_tensor(Context& c, int t, const std::vector<std::pair<int64_t, int64_t>>& pads, std::optional<int64_t> fill) {
  Shape s = c.tensor_shape(t);
  check(pads.size() == s.size(), "internal: pad rank mismatch");
  std::vector<int32_t> p;
  for (size_t i = 0; i < pads.size(); ++i) {
    p.push_back(static_cast<int32_t>(pads[i].first));
    p.push_back(static_cast<int32_t>(pads[i].second));
    if (s[i] != kBatch) s[i] += pads[i].first + pads[i].second;
  }
  const std::optional<Quant> q = c.tensor_quant(t);
  const std::string base = c.tensor(t).name;
  const fb::TensorType type = c.tensor(t).type;
  const int paddings = c.const_i32_2d(base + "_paddings", p, static_cast<int64_t>(pads.size()), 2);
  const int out = c.add_tensor(base + "_padded", type, s, q ? &*q : nullptr);
  if (!fill) {
    fb::BuiltinOptionsUnion u;
    u.Set(fb::PadOptionsT{});
    c.add_op(fb::BuiltinOperator::PAD, {t, paddings}, {out}, std::move(u), type == fb::TensorType::FLOAT32);
    return out;
  }
  int value;
  if (type == fb::TensorType::INT8) {
    const int8_t v = static_cast<int8_t>(*fill);
    value = c.add_constant(base + "_pad_value", type, {1}, &v, sizeof v, q ? &*q : nullptr);
  } else if (type == fb::TensorType::INT16) {
    const int16_t v = static_cast<int16_t>(*fill);
    value = c.add_constant(base + "_pad_value", type, {1}, &v, sizeof v, q ? &*q : nullptr);
  } else {
    const float v = static_cast<float>(*fill);
    value = c.add_constant(base + "_pad_value", type, {1}, &v, sizeof v);
  }
  fb::BuiltinOptionsUnion u;
  u.Set(fb::PadV2OptionsT{});
  c.add_op(fb::BuiltinOperator::PADV2, {t, paddings, value}, {out}, std::move(u), type == fb::TensorType::FLOAT32);
  return out;
}

IntRange int_range(fb::TensorType t) {
  return t == fb::TensorType::INT16 ? IntRange{-32768, 32767} : IntRange{-128, 127};
}

Quant quant_of(const Context& c, int t) {
  const std::optional<Quant> q = c.tensor_quant(t);
  check(q.has_value(), "internal: TFLite tensor '" + c.tensor(t).name + "' is not quantized");
  return *q;
}

void op_into_output(Context& c, fb::BuiltinOperator op, std::vector<int> inputs, int out, const Quant& op_quant,
                    fb::BuiltinOptionsUnion options, const std::string& temp_suffix) {
  const Quant want = quant_of(c, out);
  if (want == op_quant) {
    c.add_op(op, std::move(inputs), {out}, std::move(options));
    return;
  }
  const int tmp = c.like(out, c.tensor(out).name + temp_suffix, &op_quant);
  c.add_op(op, std::move(inputs), {tmp}, std::move(options));
  requantize(c, tmp, want, out);
}

int requantize(Context& c, int t, const Quant& q, int out) {
  if (out < 0) out = c.like(t, c.tensor(t).name + "_requantized", &q);
  fb::BuiltinOptionsUnion u;
  u.Set(fb::QuantizeOptionsT{});
  c.add_op(fb::BuiltinOperator::QUANTIZE, {t}, {out}, std::move(u));
  return out;
}

}  // namespace eq::tflite_export
