// Backends by name (command line, demo) and the JSON config envelope shared by the backend
// quantizers (see include/edgequant/backends.h for the format).
#include "edgequant/backends.h"

#include <fstream>

#include "edgequant/error.h"
#include "edgequant/ethos_u.h"
#include "edgequant/neutron.h"
#include "edgequant/xnnpack.h"

namespace eq {

std::vector<std::string> backend_names() { return {"neutron", "xnnpack", "ethos-u"}; }

std::string default_target(const std::string& backend) {
  if (backend == "neutron") return "imxrt700";
  if (backend == "ethos-u") return "ethos-u55-128";
  return "";
}

namespace {

void parse_section(const nlohmann::json& j, const char* key, const std::string& where,
                   const std::function<QuantizationConfig(const nlohmann::json&)>& make_config,
                   const std::function<void(const std::string&, std::optional<QuantizationConfig>)>& set) {
  if (!j.contains(key)) return;
  const nlohmann::json& s = j.at(key);
  check(s.is_object(), where + ": \"" + key + "\" must be an object mapping names to configs (or null)");
  for (const auto& [name, cfg] : s.items()) {
    if (cfg.is_null()) {
      set(name, std::nullopt);
      continue;
    }
    check(cfg.is_object(), where + ": " + key + "." + name + " must be a config object or null");
    try {
      set(name, make_config(cfg));
    } catch (const Error& e) {
      throw Error(where + ": " + key + "." + name + ": " + e.what());
    }
  }
}

}  // namespace

QuantizerConfigs parse_quantizer_configs(const nlohmann::json& j,
                                         const std::function<QuantizationConfig(const nlohmann::json&)>& make_config,
                                         const std::string& where, bool allow_io) {
  check(j.is_object(), where + ": the config must be a JSON object");
  for (const auto& [k, v] : j.items()) {
    const bool known = k == "global" || k == "module_name" || k == "module_type" || k == "operator_type" ||
                       (allow_io && k == "io");
    check(known, where + ": unknown key \"" + k + "\" (known: global, module_name, module_type, operator_type" +
                     (allow_io ? ", io)" : ")"));
  }
  QuantizerConfigs c;
  if (j.contains("global")) {
    const nlohmann::json& g = j.at("global");
    if (g.is_null()) {
      c.set_global(std::nullopt);
    } else {
      check(g.is_object(), where + ": \"global\" must be a config object or null");
      try {
        c.set_global(make_config(g));
      } catch (const Error& e) {
        throw Error(where + ": global: " + e.what());
      }
    }
  }
  parse_section(j, "module_name", where, make_config, [&](const std::string& n, auto cfg) { c.set_module_name(n, cfg); });
  parse_section(j, "module_type", where, make_config, [&](const std::string& n, auto cfg) { c.set_module_type(n, cfg); });
  parse_section(j, "operator_type", where, make_config,
                [&](const std::string& n, auto cfg) { c.set_operator_type(n, cfg); });
  return c;
}

std::unique_ptr<Quantizer> make_backend_quantizer(const std::string& backend, const std::string& target,
                                                  const nlohmann::json& config) {
  const std::string t = target.empty() ? default_target(backend) : target;
  if (backend == "neutron") return make_neutron_quantizer_from_json(t, config);
  if (backend == "xnnpack") {
    check(target.empty(), "xnnpack: --target does not apply (XNNPACK runs on this CPU)");
    return make_xnnpack_quantizer_from_json(config);
  }
  if (backend == "ethos-u") return make_ethos_u_quantizer_from_json(t, config);
  throw Error("unknown backend '" + backend + "' (known: neutron, xnnpack, ethos-u)");
}

}  // namespace eq
