// Neutron targets and generate_neutron_compile_spec.
//
// Target names: NXP's Neutron converter targets (imxrt700, imx943, imx95, imx952, mcxn54x, mcxn94x,
// s32k5, s32n79, as listed by Microsoft Olive's NeutronConverterTargets; ExecuTorch's older
// node_converter.Target enum had imxrt700 and imx95). ExecuTorch's NeutronTargetSpec accepts only
// Neutron-C (MCU, no subsystem) targets with N3 hardware, and only imxrt700 has public parameters:
// num_macs 8 (ExecuTorch tests: "Must be a multiple of `num_macs` (`8`)", "RT700 requires
// multiples of 8 for the channels"). The other names are known but rejected with the reason.
#include <algorithm>
#include <set>

#include "edgequant/error.h"
#include "edgequant/neutron.h"
#include "edgequant/quantizer.h"
#include "edgequant/ops.h"
#include "rules.h"

namespace eq {
namespace {

struct KnownTarget {
  const char* name;
  const char* why_unsupported;  // nullptr for supported targets
};

const std::vector<KnownTarget>& known() {
  static const std::vector<KnownTarget> t = {
      {"imxrt700", nullptr},
      {"imx95",
       "i.MX 95 has a Neutron-S (subsystem) NPU; ExecuTorch's NeutronTargetSpec takes only Neutron-C (MCU) targets and "
       "its NPU parameters (MACs, limits) are not public"},
      {"imx943", "not a Neutron-C N3 target ExecuTorch supports; its NPU parameters (MACs, limits) are not public"},
      {"imx952", "not a Neutron-C N3 target ExecuTorch supports; its NPU parameters (MACs, limits) are not public"},
      {"mcxn54x", "MCX N has a Neutron N1-16 NPU (hardware N1); ExecuTorch's NeutronTargetSpec takes only N3 hardware"},
      {"mcxn94x", "MCX N has a Neutron N1-16 NPU (hardware N1); ExecuTorch's NeutronTargetSpec takes only N3 hardware"},
      {"s32k5", "not a Neutron-C N3 target ExecuTorch supports; its NPU parameters (MACs, limits) are not public"},
      {"s32n79", "not a Neutron-C N3 target ExecuTorch supports; its NPU parameters (MACs, limits) are not public"},
  };
  return t;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

}  // namespace

std::vector<std::string> NeutronTargetSpec::supported_targets() {
  std::vector<std::string> out;
  for (const KnownTarget& k : known())
    if (!k.why_unsupported) out.push_back(k.name);
  return out;
}

std::vector<std::string> NeutronTargetSpec::known_targets() {
  std::vector<std::string> out;
  for (const KnownTarget& k : known()) out.push_back(k.name);
  return out;
}

NeutronTargetSpec NeutronTargetSpec::from_name(const std::string& target) {
  for (const KnownTarget& k : known()) {
    if (target != k.name) continue;
    if (k.why_unsupported)
      throw Error("Neutron target '" + target + "' is not supported: " + k.why_unsupported +
                  " (supported: " + join(supported_targets()) + ")");
    NeutronTargetSpec s;
    s.name = "imxrt700";
    s.description = "NXP i.MX RT700, eIQ Neutron-C NPU (hardware N3)";
    s.hw_version = NeutronHwVersion::N3;
    s.subsystem = false;
    s.num_macs = 8;
    s.num_pipes = 0;  // not public
    return s;
  }
  std::vector<std::string> names;
  for (const KnownTarget& k : known()) names.push_back(std::string(k.name) + (k.why_unsupported ? "" : " (supported)"));
  throw Error("unknown Neutron target '" + target + "'; known targets: " + join(names));
}

namespace {

// The canonical op names an operators_not_to_delegate entry stands for.
std::vector<std::string> resolve_op(const std::string& entry, const std::vector<std::string>& ops) {
  std::vector<std::string> out;
  for (const std::string& op : ops)
    if (operator_matches(op, entry)) out.push_back(op);
  return out;
}

}  // namespace

NeutronCompileSpec generate_neutron_compile_spec(const std::string& target,
                                                 const std::vector<std::string>& operators_not_to_delegate) {
  NeutronCompileSpec spec;
  spec.target = NeutronTargetSpec::from_name(target);
  register_builtin_op_schemas();
  std::set<std::string> all;
  for (const std::string& op : registered_op_names())
    if (op.rfind("aten.", 0) == 0) all.insert(op);
  for (const std::string& op : neutron::supported_ops()) all.insert(op);
  const std::vector<std::string> ops(all.begin(), all.end());
  std::set<std::string> excluded;
  for (const std::string& entry : operators_not_to_delegate) {
    const std::vector<std::string> r = resolve_op(entry, ops);
    if (r.empty())
      throw Error("operators_not_to_delegate: '" + entry +
                  "' names no known operator (write aten.conv2d.default, aten::conv2d or conv2d)");
    excluded.insert(r.begin(), r.end());
  }
  spec.operators_not_to_delegate.assign(excluded.begin(), excluded.end());
  return spec;
}

}  // namespace eq
