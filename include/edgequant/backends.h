// The backends by name, for the command line and the demo: a quantizer from a backend name, a
// target and a JSON config carrying the set_* overrides.
//
// Config file (every key optional; unknown keys are an error naming them):
//   {
//     "global":        { ...backend config... } | null,
//     "module_name":   { "features.0": { ... } | null, ... },
//     "module_type":   { "Linear": { ... } | null, ... },
//     "operator_type": { "aten.softmax.int": { ... } | null, ... },
//     "io":            { ... } | null                         (ethos-u only: set_io)
//   }
// A backend config object holds the arguments of that backend's get_*_quantization_config:
//   neutron:  { "per_channel": bool, "is_qat": bool }
//   xnnpack:  { "is_per_channel": bool, "is_dynamic": bool, "is_qat": bool,
//               "act_qmin": int, "act_qmax": int, "weight_qmin": int, "weight_qmax": int }
//   ethos-u:  { "a16w8": bool, "is_per_channel": bool, "is_qat": bool }
// null leaves the selected nodes in float.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgequant/quantizer.h"

namespace eq {

// "neutron", "xnnpack", "ethos-u".
std::vector<std::string> backend_names();
// The default target of a backend ("imxrt700", "" for xnnpack, "ethos-u55-128").
std::string default_target(const std::string& backend);

// Throws eq::Error naming the backend, the target or the config key that is wrong.
std::unique_ptr<Quantizer> make_backend_quantizer(const std::string& backend, const std::string& target,
                                                  const nlohmann::json& config = nlohmann::json::object());

// Parses the common envelope above; `make_config` turns one backend config object into a
// QuantizationConfig (throwing eq::Error for unknown keys). `where` prefixes error messages
// ("config.json").
QuantizerConfigs parse_quantizer_configs(const nlohmann::json& j,
                                         const std::function<QuantizationConfig(const nlohmann::json&)>& make_config,
                                         const std::string& where, bool allow_io = false);

}  // namespace eq
