// NeutronQuantizer from a JSON config (include/edgequant/backends.h): the global object sets the
// quantizer's own options, the set_* sections override per module / operator.
#include "edgequant/backends.h"
#include "edgequant/error.h"
#include "edgequant/neutron.h"

namespace eq {
namespace {

struct NeutronOptions {
  bool per_channel = false;
  bool is_qat = false;
};

NeutronOptions parse_options(const nlohmann::json& j) {
  NeutronOptions o;
  for (const auto& [k, v] : j.items()) {
    if (k == "per_channel") {
      check(v.is_boolean(), "\"per_channel\" must be true or false");
      o.per_channel = v.get<bool>();
    } else if (k == "is_qat") {
      check(v.is_boolean(), "\"is_qat\" must be true or false");
      o.is_qat = v.get<bool>();
    } else {
      throw Error("unknown neutron option \"" + k + "\" (known: per_channel, is_qat)");
    }
  }
  return o;
}

}  // namespace

std::unique_ptr<Quantizer> make_neutron_quantizer_from_json(const std::string& target, const nlohmann::json& j) {
  const std::string where = "neutron config";
  NeutronOptions global;
  if (j.is_object() && j.contains("global") && j.at("global").is_object()) {
    try {
      global = parse_options(j.at("global"));
    } catch (const Error& e) {
      throw Error(where + ": global: " + e.what());
    }
  }
  auto make = [&](const nlohmann::json& cfg) {
    const NeutronOptions o = parse_options(cfg);
    return NeutronQuantizer(NeutronTargetSpec::from_name(target), o.is_qat).set_per_channel_conv(o.per_channel).default_config();
  };
  const QuantizerConfigs configs = parse_quantizer_configs(j, make, where);
  auto q = std::make_unique<NeutronQuantizer>(NeutronTargetSpec::from_name(target), global.is_qat);
  q->set_per_channel_conv(global.per_channel);
  if (j.contains("global") && j.at("global").is_null())
    throw Error(where + ": \"global\": null would leave the whole model in float; remove the key for the default");
  for (const auto& [name, c] : configs.module_names()) q->set_module_name(name, c);
  for (const auto& [type, c] : configs.module_types()) q->set_module_type(type, c);
  for (const auto& [op, c] : configs.operator_types()) q->set_operator_type(op, c);
  return q;
}

}  // namespace eq
