#include "edgequant/shape.h"

#include "edgequant/error.h"

namespace eq {

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    check(d >= 0, "shape " + shape_str(s) + " is not static");
    n *= d;
  }
  return n;
}

bool shape_is_static(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += s[i] == kBatch ? "N" : std::to_string(s[i]);
  }
  return out + "]";
}

Shape shape_with_batch(const Shape& s, int64_t batch) {
  Shape out = s;
  for (int64_t& d : out)
    if (d == kBatch) d = batch;
  return out;
}

int normalize_axis(int64_t axis, int64_t rank, const std::string& what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  check(a >= 0 && a < rank, what + ": axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
  return static_cast<int>(a);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& what) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else throw Error(what + ": shapes " + shape_str(a) + " and " + shape_str(b) + " do not broadcast");
  }
  return out;
}

}  // namespace eq
