// Helpers for the movement kernels: they copy elements as opaque bytes, so one implementation
// serves every dtype (an element of 1, 2, 4 or 8 bytes is moved as an unsigned integer of that size).
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

#include "edgequant/dtype.h"
#include "edgequant/error.h"
#include "edgequant/shape.h"

namespace eq {

inline size_t move_elem_bytes(DType t) {
  const int bits = dtype_bits(t);
  check(bits % 8 == 0, "packed dtype " + std::string(dtype_name(t)) + " cannot be indexed element by element");
  return static_cast<size_t>(bits / 8);
}

// Calls f(T{}) with an unsigned integer type whose size is `bytes`.
template <class F>
inline void move_dispatch(size_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    default: throw Error("movement kernel: unsupported element size " + std::to_string(bytes));
  }
}

inline int64_t move_prod(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

inline std::vector<int64_t> move_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

}  // namespace eq
