// int8 ADD / MUL with TFLite reference_integer_ops::Add / Mul arithmetic (also broadcasting), and
// the 256-entry lookup table.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "edgequant/int_kernels.h"

namespace eq::intk {

namespace {

inline int8_t add_one(const AddParams& p, int8_t a, int8_t b) {
  const int32_t v1 = p.input1_offset + a;
  const int32_t v2 = p.input2_offset + b;
  const int32_t sh1 = v1 * (1 << p.left_shift);
  const int32_t sh2 = v2 * (1 << p.left_shift);
  const int32_t sc1 =
      MultiplyByQuantizedMultiplierSmallerThanOneExp(sh1, p.input1.multiplier, p.input1.shift);
  const int32_t sc2 =
      MultiplyByQuantizedMultiplierSmallerThanOneExp(sh2, p.input2.multiplier, p.input2.shift);
  const int32_t raw_sum = sc1 + sc2;
  const int32_t raw_out = MultiplyByQuantizedMultiplierSmallerThanOneExp(
                              raw_sum, p.output.multiplier, p.output.shift) +
                          p.output_offset;
  return static_cast<int8_t>(std::clamp(raw_out, p.act_min, p.act_max));
}

inline int8_t mul_one(const MulParams& p, int8_t a, int8_t b) {
  const int32_t v1 = p.input1_offset + a;
  const int32_t v2 = p.input2_offset + b;
  const int32_t raw = p.output_offset +
                      MultiplyByQuantizedMultiplier(v1 * v2, p.output.multiplier, p.output.shift);
  return static_cast<int8_t>(std::clamp(raw, p.act_min, p.act_max));
}

// Numpy broadcasting: walks the output in row-major order with an odometer over the outer dims
// and a strided inner loop over the last one (stride 0 where an input is broadcast).
template <class Op>
void broadcast(const int8_t* a, const std::vector<int64_t>& a_shape, const int8_t* b,
               const std::vector<int64_t>& b_shape, int8_t* out, const Op& op) {
  const size_t r = std::max(a_shape.size(), b_shape.size());
  std::vector<int64_t> dims(r, 1), sa(r, 0), sb(r, 0);
  int64_t acc_a = 1, acc_b = 1;
  for (size_t k = 0; k < r; ++k) {
    const size_t d = r - 1 - k;
    const int64_t da = k < a_shape.size() ? a_shape[a_shape.size() - 1 - k] : 1;
    const int64_t db = k < b_shape.size() ? b_shape[b_shape.size() - 1 - k] : 1;
    dims[d] = std::max(da, db);
    if (da == 0 || db == 0) dims[d] = 0;
    sa[d] = da == 1 ? 0 : acc_a;
    sb[d] = db == 1 ? 0 : acc_b;
    acc_a *= da;
    acc_b *= db;
  }
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  if (r == 0) {
    out[0] = op(a[0], b[0]);
    return;
  }
  const int64_t inner = dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  std::vector<int64_t> idx(r, 0);
  for (int64_t pos = 0; pos < total; pos += inner) {
    int64_t oa = 0, ob = 0;
    for (size_t d = 0; d + 1 < r; ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    for (int64_t i = 0; i < inner; ++i) out[pos + i] = op(a[oa + i * ia], b[ob + i * ib]);
    for (size_t d = r - 1; d-- > 0;) {  // advance the outer odometer
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

AddParams MakeAddParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out,
                        int32_t zp_out) {
  AddParams p;
  p.input1_offset = -zp1;
  p.input2_offset = -zp2;
  p.output_offset = zp_out;
  p.left_shift = 20;  // int8 (TFLite uses 15 for int16)
  const double twice_max_input_scale =
      2.0 * static_cast<double>(std::max(s1, s2));
  const double real_input1 = static_cast<double>(s1) / twice_max_input_scale;
  const double real_input2 = static_cast<double>(s2) / twice_max_input_scale;
  const double real_output =
      twice_max_input_scale / (static_cast<double>(1 << p.left_shift) * static_cast<double>(s_out));
  p.input1 = QuantizeMultiplierSmallerThanOneExp(real_input1);
  p.input2 = QuantizeMultiplierSmallerThanOneExp(real_input2);
  p.output = QuantizeMultiplierSmallerThanOneExp(real_output);
  return p;
}

AddParams MakeSubParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out, int32_t zp_out) {
  AddParams p = MakeAddParams(s1, zp1, s2, zp2, s_out, zp_out);
  p.input2.multiplier = -p.input2.multiplier;
  return p;
}

void Add(const AddParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = add_one(p, a[i], b[i]);
}

MulParams MakeMulParams(float s1, int32_t zp1, float s2, int32_t zp2, float s_out,
                        int32_t zp_out) {
  MulParams p;
  p.input1_offset = -zp1;
  p.input2_offset = -zp2;
  p.output_offset = zp_out;
  p.output = QuantizeMultiplier(static_cast<double>(s1) * static_cast<double>(s2) /
                                static_cast<double>(s_out));
  return p;
}

void Mul(const MulParams& p, const int8_t* a, const int8_t* b, int8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = mul_one(p, a[i], b[i]);
}

void BroadcastAdd(const AddParams& p, const int8_t* a, const std::vector<int64_t>& a_shape,
                  const int8_t* b, const std::vector<int64_t>& b_shape, int8_t* out) {
  broadcast(a, a_shape, b, b_shape, out, [&p](int8_t x, int8_t y) { return add_one(p, x, y); });
}

void BroadcastMul(const MulParams& p, const int8_t* a, const std::vector<int64_t>& a_shape,
                  const int8_t* b, const std::vector<int64_t>& b_shape, int8_t* out) {
  broadcast(a, a_shape, b, b_shape, out, [&p](int8_t x, int8_t y) { return mul_one(p, x, y); });
}

void LookupTable(const int8_t* table, const int8_t* in, int64_t n, int8_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[static_cast<int32_t>(in[i]) + 128];
}

}  // namespace eq::intk
