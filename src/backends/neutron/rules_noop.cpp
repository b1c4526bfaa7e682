// dropout and clone: no-ops on Neutron.
// Source: ExecuTorch ops_converters/clone_converter.py and edge_helper.py is_no_op_on_neutron (a
// partition made only of no-ops is not delegated: neutron_partitioner.py
// _partition_contains_compute_nodes). Our importer already drops inference Dropout; the rule
// covers graphs built by hand.
#include "rules.h"

namespace eq::neutron {
namespace {

std::string ok(const Context&, int) { return ""; }

}  // namespace

void add_noop_rules(std::vector<OpRule>& rules) {
  OpRule r;
  r.ops = {"aten.dropout.default", "aten.clone.default"};
  r.check = ok;
  r.no_op = true;
  rules.push_back(r);
}

}  // namespace eq::neutron
