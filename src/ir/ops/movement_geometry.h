// Geometry shared by the movement schemas (src/ir/ops/movement.cpp) and their fp32 kernels
// (src/runtime/kernels/fp32/movement.cpp), so shape inference and the kernel cannot disagree.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

namespace eq::ops_detail {

// ONNX Slice clamping of one axis of size d; returns {first index, count}.
inline std::pair<int64_t, int64_t> slice_range(int64_t d, int64_t start, int64_t end, int64_t step) {
  if (d == 0) return {0, 0};
  if (start < 0) start += d;
  if (end < 0) end += d;
  int64_t n;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, d);
    end = std::clamp<int64_t>(end, 0, d);
    n = end > start ? (end - start + step - 1) / step : 0;
  } else {
    start = std::clamp<int64_t>(start, 0, d - 1);
    end = std::clamp<int64_t>(end, -1, d - 1);
    n = start > end ? (start - end + (-step) - 1) / (-step) : 0;
  }
  return {start, n};
}

}  // namespace eq::ops_detail
