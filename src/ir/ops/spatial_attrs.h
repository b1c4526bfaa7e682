// Attribute helpers shared by the schemas of ops with spatial dims (linalg.cpp, pooling.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "edgequant/ops.h"

namespace eq::ops_detail {

// "[a,b,c]" for error messages.
inline std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// A k-element list attribute (`fallback` when absent); every element must be >= `min_value`.
inline std::vector<int64_t> spatial_attr(const InferContext& ctx, const std::string& name, size_t k,
                                         const std::vector<int64_t>& fallback, int64_t min_value) {
  std::vector<int64_t> v = ctx.node.attrs.ints(name, fallback);
  ctx.require(v.size() == k, "attribute '" + name + "' " + list_str(v) + " must have " + std::to_string(k) +
                                 " elements (one per spatial dim)");
  for (int64_t e : v)
    ctx.require(e >= min_value, "attribute '" + name + "' " + list_str(v) + " must have elements >= " +
                                    std::to_string(min_value));
  return v;
}

}  // namespace eq::ops_detail
