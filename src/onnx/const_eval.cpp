#include "const_eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "tensor_proto.h"

namespace eq::onnx_impl {
namespace {

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      int e = -1;
      do { ++e; mant <<= 1; } while (!(mant & 0x400u));
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 112) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (absx > 0x7f800000u ? 0x200u : 0u));
  if (absx >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (absx < 0x38800000u) {                                                 // subnormal or zero
    float a;
    std::memcpy(&a, &absx, 4);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f)));
  }
  uint32_t mant = absx & 0x7fffffu, exp = (absx >> 23) - 112;
  uint32_t h = exp << 10 | mant >> 13;
  const uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

int64_t checked_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    check(d >= 0, "shape " + shape_str(s) + " is not static");
    check(!__builtin_mul_overflow(n, d, &n) && n <= kMaxConstantElements,
          "constant of shape " + shape_str(s) + " is too large to evaluate at import");
  }
  return n;
}

size_t elem_bytes(DType t) {
  check(dtype_bits(t) % 8 == 0, "packed dtype " + std::string(dtype_name(t)) + " is not supported here");
  return static_cast<size_t>(dtype_bits(t) / 8);
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// For each output index of `out`, the flat index into a tensor of shape `in` broadcast to it.
std::vector<int64_t> broadcast_index(const Shape& in, const Shape& out) {
  const int64_t n = checked_numel(out);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  const size_t r = out.size(), off = r - in.size();
  std::vector<int64_t> in_st(r, 0);
  const std::vector<int64_t> ist = strides_of(in);
  for (size_t i = 0; i < in.size(); ++i) in_st[i + off] = in[i] == 1 ? 0 : ist[i];
  std::vector<int64_t> pos(r, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t flat = 0;
    for (size_t d = 0; d < r; ++d) flat += pos[d] * in_st[d];
    idx[static_cast<size_t>(k)] = flat;
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < out[d]) break;
      pos[d] = 0;
    }
  }
  return idx;
}

int64_t to_int_checked(double v, DType to) {
  check(!std::isnan(v), "cannot convert NaN to " + std::string(dtype_name(to)));
  check(v >= -9223372036854775808.0 && v < 9223372036854775808.0,
        "value " + std::to_string(v) + " out of range for " + std::string(dtype_name(to)));
  return static_cast<int64_t>(v);
}

bool is_int_like(DType t) { return !dtype_is_float(t); }

std::vector<int64_t> values_i64(const Tensor& t) {
  if (t.dtype() == DType::boolean) {
    std::vector<int64_t> out(static_cast<size_t>(t.numel()));
    const uint8_t* p = static_cast<const uint8_t*>(t.raw());
    for (size_t i = 0; i < out.size(); ++i) out[i] = p[i] ? 1 : 0;
    return out;
  }
  return t.to_int64_vector();
}

int64_t ipow(int64_t b, int64_t e) {
  if (e < 0) return b == 1 ? 1 : (b == -1 ? (e % 2 ? -1 : 1) : 0);
  int64_t r = 1;
  while (e > 0) {
    if (e & 1) check(!__builtin_mul_overflow(r, b, &r), "integer overflow in Pow");
    e >>= 1;
    if (e > 0) check(!__builtin_mul_overflow(b, b, &b), "integer overflow in Pow");
  }
  return r;
}

bool is_comparison(const std::string& op) {
  return op == "Equal" || op == "Less" || op == "Greater" || op == "LessOrEqual" || op == "GreaterOrEqual";
}

}  // namespace

bool contains_batch_token(const Tensor& t) {
  if (t.dtype() != DType::i64) return false;
  const int64_t* p = t.data<int64_t>();
  return std::find(p, p + t.numel(), kBatchToken) != p + t.numel();
}

Tensor make_tensor_i64(DType dtype, Shape shape, const std::vector<int64_t>& v) {
  Tensor t(dtype, std::move(shape));
  check(static_cast<int64_t>(v.size()) == t.numel(), "internal: value count mismatch");
  const size_t n = v.size();
  switch (dtype) {
    case DType::i64: if (n) std::memcpy(t.raw(), v.data(), n * 8); break;
    case DType::i32: for (size_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>(v[i]); break;
    case DType::i16: for (size_t i = 0; i < n; ++i) t.data<int16_t>()[i] = static_cast<int16_t>(v[i]); break;
    case DType::i8: for (size_t i = 0; i < n; ++i) t.data<int8_t>()[i] = static_cast<int8_t>(v[i]); break;
    case DType::u8: for (size_t i = 0; i < n; ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]); break;
    case DType::boolean: for (size_t i = 0; i < n; ++i) static_cast<uint8_t*>(t.raw())[i] = v[i] != 0; break;
    case DType::f32: for (size_t i = 0; i < n; ++i) t.data<float>()[i] = static_cast<float>(v[i]); break;
    case DType::f16: for (size_t i = 0; i < n; ++i) static_cast<uint16_t*>(t.raw())[i] = float_to_half(static_cast<float>(v[i])); break;
    default: throw Error("cannot build a constant of dtype " + std::string(dtype_name(dtype)));
  }
  return t;
}

Tensor make_tensor_f64(DType dtype, Shape shape, const std::vector<double>& v) {
  if (dtype == DType::f32) {
    Tensor t(dtype, std::move(shape));
    check(static_cast<int64_t>(v.size()) == t.numel(), "internal: value count mismatch");
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = static_cast<float>(v[i]);
    return t;
  }
  if (dtype == DType::f16) {
    Tensor t(dtype, std::move(shape));
    check(static_cast<int64_t>(v.size()) == t.numel(), "internal: value count mismatch");
    for (size_t i = 0; i < v.size(); ++i) static_cast<uint16_t*>(t.raw())[i] = float_to_half(static_cast<float>(v[i]));
    return t;
  }
  std::vector<int64_t> iv(v.size());
  if (dtype == DType::boolean)
    for (size_t i = 0; i < v.size(); ++i) iv[i] = v[i] != 0.0;
  else
    for (size_t i = 0; i < v.size(); ++i) iv[i] = to_int_checked(v[i], dtype);
  return make_tensor_i64(dtype, std::move(shape), iv);
}

std::vector<double> values_f64(const Tensor& t) {
  if (t.dtype() == DType::f16) {
    std::vector<double> out(static_cast<size_t>(t.numel()));
    const uint16_t* p = static_cast<const uint16_t*>(t.raw());
    for (size_t i = 0; i < out.size(); ++i) out[i] = half_to_float(p[i]);
    return out;
  }
  return t.to_double_vector();
}

Tensor ce_cast(const Tensor& t, DType to) {
  if (t.dtype() == to) return t;
  check(dtype_bits(to) % 8 == 0 && dtype_bits(t.dtype()) % 8 == 0, "Cast to or from packed dtypes is not supported");
  if (contains_batch_token(t))
    throw Error("Cast of a shape holding the batch dimension to " + std::string(dtype_name(to)) +
                "; export with a static batch or keep the batch out of reshapes");
  if (is_int_like(t.dtype())) return make_tensor_i64(to, t.shape(), values_i64(t));
  return make_tensor_f64(to, t.shape(), values_f64(t));
}

bool ce_is_binary(const std::string& op) {
  static const char* ops[] = {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Max", "Min", "Equal", "Less", "Greater",
                              "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};
  for (const char* o : ops)
    if (op == o) return true;
  return false;
}

namespace {

// The part of ce_binary that is the same for int64 and double elements: Max, Min, the comparisons
// and the logical ops. Leaves r unchanged for any other op.
template <class T>
void ce_shared_binary(const std::string& op, T x, T y, T& r) {
  if (op == "Max") r = std::max(x, y);
  else if (op == "Min") r = std::min(x, y);
  else if (op == "Equal") r = x == y;
  else if (op == "Less") r = x < y;
  else if (op == "Greater") r = x > y;
  else if (op == "LessOrEqual") r = x <= y;
  else if (op == "GreaterOrEqual") r = x >= y;
  else if (op == "And") r = (x != 0) && (y != 0);
  else if (op == "Or") r = (x != 0) || (y != 0);
  else if (op == "Xor") r = (x != 0) != (y != 0);
}

}  // namespace

Tensor ce_binary(const std::string& op, const Tensor& a, const Tensor& b, int64_t fmod) {
  const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), op);
  const std::vector<int64_t> ia = broadcast_index(a.shape(), out_shape), ib = broadcast_index(b.shape(), out_shape);
  const size_t n = ia.size();
  const bool logical = op == "And" || op == "Or" || op == "Xor";
  const bool cmp = is_comparison(op);
  const DType out_dtype = (cmp || logical) ? DType::boolean : a.dtype();
  if (!logical && op != "Pow") check(a.dtype() == b.dtype(), op + " of " + std::string(dtype_name(a.dtype())) + " and " +
                                                               std::string(dtype_name(b.dtype())));
  if (is_int_like(a.dtype()) && is_int_like(b.dtype())) {
    const std::vector<int64_t> va = values_i64(a), vb = values_i64(b);
    std::vector<int64_t> out(n);
    for (size_t k = 0; k < n; ++k) {
      const int64_t x = va[static_cast<size_t>(ia[k])], y = vb[static_cast<size_t>(ib[k])];
      int64_t r = 0;
      if (op == "Add") check(!__builtin_add_overflow(x, y, &r), "integer overflow in Add");
      else if (op == "Sub") check(!__builtin_sub_overflow(x, y, &r), "integer overflow in Sub");
      else if (op == "Mul") check(!__builtin_mul_overflow(x, y, &r), "integer overflow in Mul");
      else if (op == "Div" || op == "Mod") {
        check(y != 0, "integer division by zero in " + op);
        check(!(x == std::numeric_limits<int64_t>::min() && y == -1), "integer overflow in " + op);
        if (op == "Div") {
          r = x / y;  // ONNX integer Div truncates
        } else {
          r = x % y;
          if (!fmod && r != 0 && ((r < 0) != (y < 0))) r += y;  // sign of the divisor
        }
      } else if (op == "Pow") r = ipow(x, y);
      else ce_shared_binary(op, x, y, r);
      out[k] = r;
    }
    return make_tensor_i64(out_dtype, out_shape, out);
  }
  const std::vector<double> va = values_f64(a), vb = values_f64(b);
  std::vector<double> out(n);
  for (size_t k = 0; k < n; ++k) {
    const double x = va[static_cast<size_t>(ia[k])], y = vb[static_cast<size_t>(ib[k])];
    double r = 0;
    if (op == "Add") r = x + y;
    else if (op == "Sub") r = x - y;
    else if (op == "Mul") r = x * y;
    else if (op == "Div") r = x / y;
    else if (op == "Mod") r = std::fmod(x, y);
    else if (op == "Pow") r = std::pow(x, y);
    else ce_shared_binary(op, x, y, r);
    // Float math at f32 precision, as a float kernel would compute it.
    if (out_dtype == DType::f32 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div"))
      r = op == "Add" ? static_cast<double>(static_cast<float>(x) + static_cast<float>(y))
        : op == "Sub" ? static_cast<double>(static_cast<float>(x) - static_cast<float>(y))
        : op == "Mul" ? static_cast<double>(static_cast<float>(x) * static_cast<float>(y))
                      : static_cast<double>(static_cast<float>(x) / static_cast<float>(y));
    out[k] = r;
  }
  return make_tensor_f64(out_dtype, out_shape, out);
}

bool ce_is_unary(const std::string& op) {
  static const char* ops[] = {"Not", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Exp", "Reciprocal", "Sign", "Relu"};
  for (const char* o : ops)
    if (op == o) return true;
  return false;
}

Tensor ce_unary(const std::string& op, const Tensor& a) {
  if (is_int_like(a.dtype())) {
    std::vector<int64_t> v = values_i64(a);
    for (int64_t& x : v) {
      if (op == "Not") x = !x;
      else if (op == "Neg" || op == "Abs") {
        check(x != std::numeric_limits<int64_t>::min(), "integer overflow in " + op);
        x = op == "Neg" ? -x : (x < 0 ? -x : x);
      } else if (op == "Sign") x = (x > 0) - (x < 0);
      else if (op == "Relu") x = std::max<int64_t>(x, 0);
      else if (op == "Floor" || op == "Ceil") {
      } else throw Error(op + " of an integer tensor");
    }
    return make_tensor_i64(a.dtype(), a.shape(), v);
  }
  std::vector<double> v = values_f64(a);
  for (double& x : v) {
    if (op == "Neg") x = -x;
    else if (op == "Abs") x = std::fabs(x);
    else if (op == "Floor") x = std::floor(x);
    else if (op == "Ceil") x = std::ceil(x);
    else if (op == "Sqrt") x = std::sqrt(static_cast<float>(x));
    else if (op == "Exp") x = std::exp(static_cast<float>(x));
    else if (op == "Reciprocal") x = 1.0f / static_cast<float>(x);
    else if (op == "Sign") x = (x > 0) - (x < 0);
    else if (op == "Relu") x = std::max(x, 0.0);
    else throw Error(op + " of a float tensor");
  }
  return make_tensor_f64(a.dtype(), a.shape(), v);
}

Tensor ce_where(const Tensor& c, const Tensor& a, const Tensor& b) {
  check(a.dtype() == b.dtype(), "Where of different dtypes");
  const Shape out_shape = broadcast_shapes(broadcast_shapes(c.shape(), a.shape(), "Where"), b.shape(), "Where");
  const std::vector<int64_t> ic = broadcast_index(c.shape(), out_shape), ia = broadcast_index(a.shape(), out_shape),
                             ib = broadcast_index(b.shape(), out_shape);
  const std::vector<int64_t> vc = values_i64(ce_cast(c, DType::boolean));
  Tensor out(a.dtype(), out_shape);
  const size_t eb = elem_bytes(a.dtype());
  const char* pa = static_cast<const char*>(a.raw());
  const char* pb = static_cast<const char*>(b.raw());
  char* po = static_cast<char*>(out.raw());
  for (size_t k = 0; k < ic.size(); ++k) {
    const bool take_a = vc[static_cast<size_t>(ic[k])] != 0;
    std::memcpy(po + k * eb, take_a ? pa + static_cast<size_t>(ia[k]) * eb : pb + static_cast<size_t>(ib[k]) * eb, eb);
  }
  return out;
}

Tensor ce_expand(const Tensor& a, const Shape& shape) {
  for (int64_t d : shape) check(d >= 0, "Expand to a negative dimension");
  const Shape out_shape = broadcast_shapes(a.shape(), shape, "Expand");
  const std::vector<int64_t> ia = broadcast_index(a.shape(), out_shape);
  Tensor out(a.dtype(), out_shape);
  const size_t eb = elem_bytes(a.dtype());
  for (size_t k = 0; k < ia.size(); ++k)
    std::memcpy(static_cast<char*>(out.raw()) + k * eb, static_cast<const char*>(a.raw()) + static_cast<size_t>(ia[k]) * eb, eb);
  return out;
}

Tensor ce_gather(const Tensor& data, const Tensor& indices, int64_t axis) {
  const int ax = normalize_axis(axis, data.rank(), "Gather");
  const std::vector<int64_t> idx = indices.to_int64_vector();
  Shape out_shape(data.shape().begin(), data.shape().begin() + ax);
  for (int64_t d : indices.shape()) out_shape.push_back(d);
  for (int64_t i = ax + 1; i < data.rank(); ++i) out_shape.push_back(data.shape()[static_cast<size_t>(i)]);
  checked_numel(out_shape);
  Tensor out(data.dtype(), out_shape);
  const size_t eb = elem_bytes(data.dtype());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; ++i) outer *= data.shape()[static_cast<size_t>(i)];
  for (int64_t i = ax + 1; i < data.rank(); ++i) inner *= data.shape()[static_cast<size_t>(i)];
  const int64_t dim = data.shape()[static_cast<size_t>(ax)];
  const size_t block = static_cast<size_t>(inner) * eb;
  char* po = static_cast<char*>(out.raw());
  const char* pd = static_cast<const char*>(data.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < idx.size(); ++j) {
      int64_t i = idx[j];
      check(i >= -dim && i < dim, "Gather index " + std::to_string(i) + " out of range for dimension " + std::to_string(dim));
      if (i < 0) i += dim;
      std::memcpy(po + (static_cast<size_t>(o) * idx.size() + j) * block, pd + static_cast<size_t>(o * dim + i) * block, block);
    }
  return out;
}

Tensor ce_concat(const std::vector<Tensor>& parts, int64_t axis) {
  check(!parts.empty(), "Concat of nothing");
  const Tensor& first = parts[0];
  const int ax = normalize_axis(axis, first.rank(), "Concat");
  Shape out_shape = first.shape();
  out_shape[static_cast<size_t>(ax)] = 0;
  for (const Tensor& p : parts) {
    check(p.dtype() == first.dtype() && p.rank() == first.rank(), "Concat of mismatched tensors");
    for (int64_t d = 0; d < p.rank(); ++d)
      if (d != ax) check(p.shape()[static_cast<size_t>(d)] == first.shape()[static_cast<size_t>(d)], "Concat: shapes " +
                           shape_str(first.shape()) + " and " + shape_str(p.shape()) + " differ outside axis " + std::to_string(ax));
    out_shape[static_cast<size_t>(ax)] += p.shape()[static_cast<size_t>(ax)];
  }
  checked_numel(out_shape);
  Tensor out(first.dtype(), out_shape);
  const size_t eb = elem_bytes(first.dtype());
  int64_t outer = 1;
  for (int i = 0; i < ax; ++i) outer *= out_shape[static_cast<size_t>(i)];
  char* po = static_cast<char*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor& p : parts) {
      const size_t chunk = static_cast<size_t>(p.numel() / std::max<int64_t>(outer, 1)) * eb;
      if (chunk) std::memcpy(po, static_cast<const char*>(p.raw()) + static_cast<size_t>(o) * chunk, chunk);
      po += chunk;
    }
  return out;
}

Tensor ce_slice(const Tensor& t, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                const std::vector<int64_t>& axes_in, const std::vector<int64_t>& steps_in) {
  const size_t r = static_cast<size_t>(t.rank());
  std::vector<int64_t> axes = axes_in;
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> steps = steps_in.empty() ? std::vector<int64_t>(starts.size(), 1) : steps_in;
  check(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
        "Slice: starts, ends, axes and steps differ in length");
  std::vector<int64_t> begin(r, 0), step(r, 1), count(r);
  for (size_t i = 0; i < r; ++i) count[i] = t.shape()[i];
  std::vector<char> seen(r, 0);
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t a = static_cast<size_t>(normalize_axis(axes[k], t.rank(), "Slice"));
    check(!seen[a], "Slice: axis repeated");
    seen[a] = 1;
    const int64_t dim = t.shape()[a], s = steps[k];
    check(s != 0, "Slice: step 0");
    int64_t st = starts[k], en = ends[k];
    if (st < 0) st = st < -dim ? -dim : st, st += dim;
    if (en < 0) en = en < -dim ? -dim - 1 : en, en += dim;
    if (s > 0) {
      st = std::clamp<int64_t>(st, 0, dim);
      en = std::clamp<int64_t>(en, 0, dim);
      count[a] = en > st ? (en - st + s - 1) / s : 0;
    } else {
      st = std::clamp<int64_t>(st, -1, dim - 1);
      en = std::clamp<int64_t>(en, -1, dim - 1);
      count[a] = st > en ? (st - en + (-s) - 1) / (-s) : 0;
    }
    begin[a] = st;
    step[a] = s;
  }
  Shape out_shape(count.begin(), count.end());
  const int64_t n = checked_numel(out_shape);
  Tensor out(t.dtype(), out_shape);
  const size_t eb = elem_bytes(t.dtype());
  const std::vector<int64_t> st_in = strides_of(t.shape());
  std::vector<int64_t> pos(r, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t flat = 0;
    for (size_t d = 0; d < r; ++d) flat += (begin[d] + pos[d] * step[d]) * st_in[d];
    std::memcpy(static_cast<char*>(out.raw()) + static_cast<size_t>(k) * eb, static_cast<const char*>(t.raw()) + static_cast<size_t>(flat) * eb, eb);
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < count[d]) break;
      pos[d] = 0;
    }
  }
  return out;
}

Tensor ce_transpose(const Tensor& t, const std::vector<int64_t>& perm) {
  const size_t r = static_cast<size_t>(t.rank());
  check(perm.size() == r, "Transpose: perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(r));
  std::vector<char> seen(r, 0);
  Shape out_shape(r);
  for (size_t i = 0; i < r; ++i) {
    check(perm[i] >= 0 && perm[i] < static_cast<int64_t>(r) && !seen[static_cast<size_t>(perm[i])], "Transpose: invalid perm");
    seen[static_cast<size_t>(perm[i])] = 1;
    out_shape[i] = t.shape()[static_cast<size_t>(perm[i])];
  }
  Tensor out(t.dtype(), out_shape);
  const size_t eb = elem_bytes(t.dtype());
  const std::vector<int64_t> st_in = strides_of(t.shape());
  std::vector<int64_t> pos(r, 0);
  for (int64_t k = 0; k < t.numel(); ++k) {
    int64_t flat = 0;
    for (size_t d = 0; d < r; ++d) flat += pos[d] * st_in[static_cast<size_t>(perm[d])];
    std::memcpy(static_cast<char*>(out.raw()) + static_cast<size_t>(k) * eb, static_cast<const char*>(t.raw()) + static_cast<size_t>(flat) * eb, eb);
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < out_shape[d]) break;
      pos[d] = 0;
    }
  }
  return out;
}

Tensor ce_range(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  check(start.numel() == 1 && limit.numel() == 1 && delta.numel() == 1, "Range takes scalars");
  const DType dt = start.dtype();
  if (is_int_like(dt)) {
    const int64_t s = values_i64(start)[0], l = values_i64(limit)[0], d = values_i64(delta)[0];
    check(d != 0, "Range with delta 0");
    check(s != kBatchToken && l != kBatchToken && d != kBatchToken,
          "Range over the batch dimension; export with a static batch or keep the batch out of reshapes");
    const double n = std::ceil((static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d));
    const int64_t count = n > 0 ? static_cast<int64_t>(std::min(n, 9e18)) : 0;
    checked_numel({count});
    std::vector<int64_t> v(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = s + i * d;
    return make_tensor_i64(dt, {count}, v);
  }
  const double s = values_f64(start)[0], l = values_f64(limit)[0], d = values_f64(delta)[0];
  check(d != 0 && std::isfinite(s) && std::isfinite(l) && std::isfinite(d), "Range with delta 0 or non-finite bounds");
  const double n = std::ceil((l - s) / d);
  const int64_t count = n > 0 ? static_cast<int64_t>(std::min(n, 9e18)) : 0;
  checked_numel({count});
  std::vector<double> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[static_cast<size_t>(i)] = s + static_cast<double>(i) * d;
  return make_tensor_f64(dt, {count}, v);
}

Tensor ce_reduce(const std::string& op, const Tensor& t, std::vector<int64_t> axes, bool keepdims) {
  const size_t r = static_cast<size_t>(t.rank());
  std::vector<char> red(r, axes.empty() ? 1 : 0);
  for (int64_t a : axes) red[static_cast<size_t>(normalize_axis(a, t.rank(), op))] = 1;
  Shape out_shape, kept_shape;
  for (size_t d = 0; d < r; ++d) {
    if (!red[d]) out_shape.push_back(t.shape()[d]);
    if (keepdims) kept_shape.push_back(red[d] ? 1 : t.shape()[d]);
  }
  const int64_t n_out = checked_numel(out_shape);
  const bool ints = is_int_like(t.dtype());
  if (ints) check(!contains_batch_token(t), op + " over the batch dimension; export with a static batch or keep the batch out of reshapes");
  std::vector<double> acc(static_cast<size_t>(n_out), op == "ReduceProd" ? 1.0 : op == "ReduceSum" ? 0.0
                                                      : op == "ReduceMin" ? INFINITY : -INFINITY);
  const std::vector<double> v = values_f64(t);
  std::vector<int64_t> pos(r, 0);
  for (size_t k = 0; k < v.size(); ++k) {
    int64_t o = 0;
    for (size_t d = 0; d < r; ++d)
      if (!red[d]) o = o * t.shape()[d] + pos[d];
    double& a = acc[static_cast<size_t>(o)];
    if (op == "ReduceProd") a *= v[k];
    else if (op == "ReduceSum") a += v[k];
    else if (op == "ReduceMin") a = std::min(a, v[k]);
    else a = std::max(a, v[k]);
    for (size_t d = r; d-- > 0;) {
      if (++pos[d] < t.shape()[d]) break;
      pos[d] = 0;
    }
  }
  Tensor out = make_tensor_f64(t.dtype(), out_shape, acc);
  return keepdims ? out.reshaped(kept_shape) : out;
}

}  // namespace eq::onnx_impl
