// XNNPACKQuantizer from the CLI's JSON config: the set_* envelope of edgequant/backends.h, each
// backend config object read by xnnpack_config_from_json (quantizer_config_json.cpp). A file of
// its own so that programs using the quantizer from C++ do not link the envelope parser.
#include <functional>
#include <nlohmann/json.hpp>

#include "edgequant/backends.h"
#include "edgequant/error.h"
#include "edgequant/xnnpack.h"

namespace eq {

std::unique_ptr<Quantizer> make_xnnpack_quantizer_from_json(const nlohmann::json& config) {
  QuantizerConfigs configs = parse_quantizer_configs(config, xnnpack_config_from_json, "xnnpack config");
  // No "global" key: ExecuTorch's default config (per tensor, static), so that a bare
  // `--backend xnnpack` quantizes the model; "global": null keeps only the overrides.
  if (!config.contains("global")) configs.set_global(xnnpack::get_symmetric_quantization_config());
  return std::make_unique<XNNPACKQuantizer>(std::move(configs));
}

}  // namespace eq
