#include "edgequant/tensor.h"

#include <cstdlib>

namespace eq {
namespace {

std::shared_ptr<void> allocate(size_t bytes) {
  // 64-byte alignment for AVX-512 loads; at least one byte so scalars and empties are valid.
  const size_t rounded = ((bytes + 63) / 64) * 64 + 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, rounded);
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  storage_ = allocate(nbytes());
}

Tensor Tensor::view(DType dtype, Shape shape, void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = shape_numel(t.shape_);
  t.storage_ = std::shared_ptr<void>(data, [](void*) {});
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  check(shape_numel(shape) == numel_, "reshape of " + shape_str(shape_) + " to " + shape_str(shape) + " changes the element count");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::expect(DType t) const {
  if (t != dtype_)
    throw Error("tensor of dtype " + std::string(dtype_name(dtype_)) + " accessed as " + std::string(dtype_name(t)));
}

template <class F>
static void for_each_numeric(const Tensor& t, F f) {
  const int64_t n = t.numel();
  switch (t.dtype()) {
    case DType::f32: { auto p = t.data<float>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::i8: { auto p = t.data<int8_t>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::u8: { auto p = t.data<uint8_t>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::i16: { auto p = t.data<int16_t>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::i32: { auto p = t.data<int32_t>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::i64: { auto p = t.data<int64_t>(); for (int64_t i = 0; i < n; ++i) f(static_cast<double>(p[i])); break; }
    case DType::boolean: { auto p = static_cast<const uint8_t*>(t.raw()); for (int64_t i = 0; i < n; ++i) f(p[i] ? 1.0 : 0.0); break; }
    default: throw Error("no element access for dtype " + std::string(dtype_name(t.dtype())));
  }
}

std::vector<int64_t> Tensor::to_int64_vector() const {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(numel_));
  if (dtype_ == DType::i64) {
    const int64_t* p = data<int64_t>();
    out.assign(p, p + numel_);
    return out;
  }
  check(!dtype_is_float(dtype_), "expected an integer tensor, got " + std::string(dtype_name(dtype_)));
  for_each_numeric(*this, [&](double v) { out.push_back(static_cast<int64_t>(v)); });
  return out;
}

std::vector<double> Tensor::to_double_vector() const {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(numel_));
  for_each_numeric(*this, [&](double v) { out.push_back(v); });
  return out;
}

bool Tensor::identical(const Tensor& o) const {
  if (dtype_ != o.dtype_ || shape_ != o.shape_) return false;
  return nbytes() == 0 || std::memcmp(raw(), o.raw(), nbytes()) == 0;
}

}  // namespace eq
