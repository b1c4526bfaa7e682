// Numpy broadcasting for binary elementwise kernels. A plan is built once per kernel from the
// concrete shapes: dimensions of size 1 in the output are dropped and adjacent dimensions that
// are contiguous (or broadcast) in both inputs are merged, so that
//   same shapes             -> one dimension, strides (1, 1)
//   tensor + scalar         -> one dimension, strides (1, 0)
//   [N,C,H,W] + [C,1,1]     -> [N, C, H*W], inner strides (1, 0): vector-scalar rows
//   [N,L,D]   + [D]         -> [N*L, D],    inner strides (1, 1): vector-vector rows
// The run loop walks the flat output range in chunks (parallel_for over both cores), with a
// tight, vectorisable inner loop for each combination of inner strides.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "edgequant/shape.h"
#include "runtime/threading.h"

namespace eq {

struct BroadcastPlan {
  std::vector<int64_t> dims;  // collapsed output dims; the last one is the inner loop
  std::vector<int64_t> sa, sb;
  int64_t numel = 0;
  int64_t inner = 1, ia = 0, ib = 0;
};

inline BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const Shape& out) {
  const size_t r = out.size();
  auto strides_for = [&](const Shape& s) {
    std::vector<int64_t> st(r, 0);
    int64_t acc = 1;
    for (size_t k = 0; k < r; ++k) {
      const size_t d = r - 1 - k;
      const int64_t dim = k < s.size() ? s[s.size() - 1 - k] : 1;
      st[d] = dim == 1 ? 0 : acc;
      acc *= dim;
    }
    return st;
  };
  const std::vector<int64_t> sa = strides_for(a), sb = strides_for(b);
  BroadcastPlan p;
  p.numel = 1;
  for (int64_t d : out) p.numel *= d;
  for (size_t d = 0; d < r; ++d) {
    if (out[d] == 1) continue;
    if (!p.dims.empty() && p.sa.back() == sa[d] * out[d] && p.sb.back() == sb[d] * out[d]) {
      p.dims.back() *= out[d];
      p.sa.back() = sa[d];
      p.sb.back() = sb[d];
    } else {
      p.dims.push_back(out[d]);
      p.sa.push_back(sa[d]);
      p.sb.push_back(sb[d]);
    }
  }
  if (p.dims.empty()) {  // every dim is 1: a single element
    p.dims = {1};
    p.sa = {0};
    p.sb = {0};
  }
  p.inner = p.dims.back();
  p.ia = p.sa.back();
  p.ib = p.sb.back();
  return p;
}

inline constexpr long kEwGrain = 1L << 15;  // elements below which a loop stays on one thread

// out[i] = op(a[ia*i], b[ib*i]) for one row.
template <class TA, class TB, class TO, class Op>
inline void broadcast_row(const TA* __restrict a, const TB* __restrict b, TO* __restrict o, int64_t n, int64_t ia,
                          int64_t ib, const Op& op) {
  if (ia && ib) {
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
  } else if (ia) {
    const TB bv = b[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], bv);
  } else if (ib) {
    const TA av = a[0];
    for (int64_t i = 0; i < n; ++i) o[i] = op(av, b[i]);
  } else {
    const TO v = op(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

// Runs op over the whole output; `threads` > 1 allows parallel_for.
template <class TA, class TB, class TO, class Op>
void broadcast_run(const BroadcastPlan& p, const TA* a, const TB* b, TO* o, const Op& op, bool parallel = true) {
  const int64_t inner = p.inner;
  const size_t outer_rank = p.dims.size() - 1;
  auto body = [&](long begin, long end) {
    int64_t pos = begin;
    while (pos < end) {
      const int64_t row = pos / inner, col = pos % inner;
      int64_t oa = 0, ob = 0, rem = row;
      for (size_t k = outer_rank; k-- > 0;) {
        const int64_t idx = rem % p.dims[k];
        rem /= p.dims[k];
        oa += idx * p.sa[k];
        ob += idx * p.sb[k];
      }
      const int64_t n = std::min<int64_t>(inner - col, end - pos);
      broadcast_row(a + oa + col * p.ia, b + ob + col * p.ib, o + pos, n, p.ia, p.ib, op);
      pos += n;
    }
  };
  if (parallel) parallel_for(static_cast<long>(p.numel), kEwGrain, body);
  else body(0, static_cast<long>(p.numel));
}

}  // namespace eq
