// EthosUCompileSpec: the accelerator configurations Vela knows (ethos-u-vela 5.1.0
// architecture_features.Accelerator), and what ExecuTorch 1.5.1's EthosUCompileSpec derives from
// the target name: the TOSA specification (TOSA-1.0+INT+int16+int4, +u55 for U55 and U65, +cf for
// U85) and the default Vela system config and memory mode.
#include <algorithm>

#include "edgequant/error.h"
#include "edgequant/ethos_u.h"

namespace eq {

std::vector<std::string> EthosUCompileSpec::known_targets() {
  return {"ethos-u55-32",  "ethos-u55-64",  "ethos-u55-128",  "ethos-u55-256",  "ethos-u65-256",  "ethos-u65-512",
          "ethos-u85-128", "ethos-u85-256", "ethos-u85-512", "ethos-u85-1024", "ethos-u85-2048"};
}

EthosUCompileSpec::EthosUCompileSpec(const std::string& t) : target(t) {
  std::string lower = t;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::vector<std::string> known = known_targets();
  if (std::find(known.begin(), known.end(), lower) == known.end()) {
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    throw Error("unknown Ethos-U target '" + t + "' (known: " + list + ")");
  }
  target = lower;
  family = lower.substr(6, 3);             // "u55"
  macs = std::stoi(lower.substr(10));      // "128"
  // ExecuTorch: U65 is a U55 subset for the TOSA lowering; U85 adds control flow.
  tosa_spec = "TOSA-1.0+INT+int16+int4" + std::string(family == "u85" ? "+cf" : "+u55");
  if (family == "u55") {
    system_config = "Ethos_U55_High_End_Embedded";
    memory_mode = "Shared_Sram";
  } else if (family == "u65") {
    system_config = "Ethos_U65_High_End";
    memory_mode = "Dedicated_Sram_384KB";
  } else {
    system_config = "Ethos_U85_SYS_DRAM_Mid";
    memory_mode = "Sram_Only";
  }
}

}  // namespace eq
