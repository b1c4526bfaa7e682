// A dense tensor: dtype, static shape, contiguous row-major data. Storage is shared and
// reference counted, so copies are cheap and a tensor can also view memory it does not own
// (the executor's arena). Data is 64-byte aligned for SIMD kernels.
#pragma once
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "edgequant/dtype.h"
#include "edgequant/error.h"
#include "edgequant/shape.h"

namespace eq {

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage for a static shape.
  Tensor(DType dtype, Shape shape);
  // A tensor over memory owned elsewhere; the caller keeps `data` alive.
  static Tensor view(DType dtype, Shape shape, void* data);
  template <class T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t(DTypeOf<T>::value, std::move(shape));
    check(static_cast<int64_t>(values.size()) == t.numel(), "tensor: value count does not match shape");
    if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
    return t;
  }
  template <class T>
  static Tensor scalar(T v) { return from_vector<T>({}, {v}); }

  bool defined() const { return storage_ != nullptr || numel_ == 0; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_.at(static_cast<size_t>(i < 0 ? i + rank() : i)); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return dtype_storage_bytes(dtype_, numel_); }

  void* raw() { return static_cast<char*>(storage_.get()); }
  const void* raw() const { return static_cast<const char*>(storage_.get()); }
  template <class T> T* data() { expect(DTypeOf<T>::value); return static_cast<T*>(raw()); }
  template <class T> const T* data() const { expect(DTypeOf<T>::value); return static_cast<const T*>(raw()); }

  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;
  // A deep copy that owns its storage.
  Tensor clone() const;
  // Values as int64 (for shape-like tensors of any integer dtype); throws for float dtypes.
  std::vector<int64_t> to_int64_vector() const;
  // Values converted to double, any numeric dtype (not the packed ones).
  std::vector<double> to_double_vector() const;
  // Bytewise equality of dtype, shape and data.
  bool identical(const Tensor& other) const;

 private:
  void expect(DType t) const;
  DType dtype_ = DType::f32;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
};

}  // namespace eq
