// EthosUQuantizer from the CLI's JSON config (the envelope of edgequant/backends.h; a backend
// config object holds {"a16w8", "is_per_channel", "is_qat"}). Kept apart from quantizer.cpp so that
// programs using the quantizer from C++ do not link the JSON envelope.
#include <nlohmann/json.hpp>

#include "edgequant/backends.h"
#include "edgequant/error.h"
#include "edgequant/ethos_u.h"

namespace eq {
namespace {

QuantizationConfig ethos_u_config_from_json(const nlohmann::json& j) {
  check(j.is_object(), "ethos-u config: expected an object {\"a16w8\", \"is_per_channel\", \"is_qat\"}, got " +
                           std::string(j.type_name()));
  bool a16w8 = false, per_channel = true, qat = false;
  for (const auto& [key, v] : j.items()) {
    auto flag = [&](bool& out) {
      check(v.is_boolean(), "ethos-u config: '" + key + "' must be a bool");
      out = v.get<bool>();
    };
    if (key == "a16w8") flag(a16w8);
    else if (key == "is_per_channel") flag(per_channel);
    else if (key == "is_qat") flag(qat);
    else throw Error("ethos-u config: unknown key '" + key + "' (known: a16w8, is_per_channel, is_qat)");
  }
  return a16w8 ? ethosu::get_symmetric_a16w8_quantization_config(per_channel, qat)
               : ethosu::get_symmetric_quantization_config(per_channel, qat);
}

}  // namespace

std::unique_ptr<Quantizer> make_ethos_u_quantizer_from_json(const std::string& target, const nlohmann::json& config) {
  auto q = std::make_unique<EthosUQuantizer>(EthosUCompileSpec(target));
  const QuantizerConfigs configs = parse_quantizer_configs(config, ethos_u_config_from_json, "ethos-u config", true);
  // The envelope's configs, re-applied through the set_* calls (QuantizerConfigs does not list them).
  if (config.is_object()) {
    q->set_global(config.contains("global") ? configs.global() : ethosu::get_symmetric_quantization_config());
    for (const char* key : {"module_name", "module_type", "operator_type"})
      if (config.contains(key))
        for (const auto& [name, c] : config.at(key).items()) {
          std::optional<QuantizationConfig> qc;
          if (!c.is_null()) qc = ethos_u_config_from_json(c);
          if (std::string(key) == "module_name") q->set_module_name(name, qc);
          else if (std::string(key) == "module_type") q->set_module_type(name, qc);
          else q->set_operator_type(name, qc);
        }
    if (config.contains("io"))
      q->set_io(config.at("io").is_null() ? std::nullopt
                                          : std::optional<QuantizationConfig>(ethos_u_config_from_json(config.at("io"))));
  } else {
    q->set_global(ethosu::get_symmetric_quantization_config());
  }
  return q;
}

}  // namespace eq
