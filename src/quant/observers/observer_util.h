// Internals shared by the observer implementations: the single-pass min/max + finiteness scan,
// exact float JSON helpers, and the observer factory used by Observer::deserialize.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "edgequant/observers.h"

namespace eq::obs_detail {

struct MinMax {
  float min, max;
  bool finite;  // false when any NaN or +-Inf was seen
};

// One pass over n floats (n > 0): min, max and whether every value is finite.
MinMax scan_minmax(const float* data, int64_t n);

// Throws eq::Error naming the tensor.
[[noreturn]] void throw_non_finite(std::string_view kind, std::string_view name);

// Floats to and from JSON exactly (+-inf as strings, which JSON numbers cannot hold).
nlohmann::json f32_to_json(float v);
float f32_from_json(const nlohmann::json& j);
nlohmann::json f32s_to_json(const std::vector<float>& v);
std::vector<float> f32s_from_json(const nlohmann::json& j);

}  // namespace eq::obs_detail
