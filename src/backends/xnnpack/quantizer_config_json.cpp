// One XNNPACK backend config object from JSON: get_symmetric_quantization_config's arguments.
#include <nlohmann/json.hpp>

#include "edgequant/error.h"
#include "edgequant/xnnpack.h"

namespace eq {

QuantizationConfig xnnpack_config_from_json(const nlohmann::json& j) {
  check(j.is_object(), "xnnpack config: expected an object of get_symmetric_quantization_config arguments, got " +
                           std::string(j.type_name()));
  bool per_channel = false, qat = false, dynamic = false;
  int64_t act_qmin = -128, act_qmax = 127, weight_qmin = -127, weight_qmax = 127;
  for (const auto& [key, v] : j.items()) {
    auto flag = [&](bool& out) {
      check(v.is_boolean(), "xnnpack config: '" + key + "' must be a bool");
      out = v.get<bool>();
    };
    auto integer = [&](int64_t& out) {
      check(v.is_number_integer(), "xnnpack config: '" + key + "' must be an integer");
      out = v.get<int64_t>();
    };
    if (key == "is_per_channel") flag(per_channel);
    else if (key == "is_qat") flag(qat);
    else if (key == "is_dynamic") flag(dynamic);
    else if (key == "act_qmin") integer(act_qmin);
    else if (key == "act_qmax") integer(act_qmax);
    else if (key == "weight_qmin") integer(weight_qmin);
    else if (key == "weight_qmax") integer(weight_qmax);
    else
      throw Error("xnnpack config: unknown key '" + key +
                  "' (known: is_per_channel, is_qat, is_dynamic, act_qmin, act_qmax, weight_qmin, weight_qmax)");
  }
  // int8 storage: a range outside it cannot be represented.
  check(act_qmin >= -128 && act_qmin < act_qmax && act_qmax <= 127,
        "xnnpack config: act_qmin/act_qmax must satisfy -128 <= act_qmin < act_qmax <= 127");
  check(weight_qmin >= -128 && weight_qmin < weight_qmax && weight_qmax <= 127,
        "xnnpack config: weight_qmin/weight_qmax must satisfy -128 <= weight_qmin < weight_qmax <= 127");
  return xnnpack::get_symmetric_quantization_config(per_channel, qat, dynamic, act_qmin, act_qmax, weight_qmin,
                                                    weight_qmax);
}

}  // namespace eq
