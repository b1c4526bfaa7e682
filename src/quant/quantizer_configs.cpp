// QuantizerConfigs: which config applies to which node (PT2E's set_global / set_module_name /
// set_module_type / set_operator_type), and the module-type inference it relies on.
#include <algorithm>

#include "edgequant/error.h"
#include "edgequant/quantizer.h"

namespace eq {

std::string short_module_type(const std::string& type) {
  const size_t dot = type.rfind('.');
  return dot == std::string::npos ? type : type.substr(dot + 1);
}

bool operator_matches(const std::string& op, const std::string& pattern) {
  std::string e = pattern;
  for (size_t p; (p = e.find("::")) != std::string::npos;) e.replace(p, 2, ".");
  if (e == op) return true;
  std::string underscored = op;
  std::replace(underscored.begin(), underscored.end(), '.', '_');
  const size_t dot = op.find('.');
  const size_t dot2 = op.find('.', dot == std::string::npos ? op.size() : dot + 1);
  const std::string ns_base = op.substr(0, dot2);  // "aten.conv2d"
  const std::string base = dot == std::string::npos ? op : ns_base.substr(dot + 1);  // "conv2d"
  return e == underscored || e == ns_base || e == base;
}

std::vector<std::string> module_types_of(const Graph& g, int node) {
  const Node& n = g.nodes.at(static_cast<size_t>(node));
  const std::string& op = n.op;
  // The torch.nn class whose forward emits this op (the leaf of nn_module_stack). Only nodes
  // that came from a module (a module path) have one: functional calls (F.relu in forward) do not.
  if (n.module.empty()) return {};
  auto f = [&](const char* a) { return op == a; };
  if (f("aten.conv1d.default")) return {"Conv1d"};
  if (f("aten.conv2d.default")) return {"Conv2d"};
  if (f("aten.conv_transpose1d.default")) return {"ConvTranspose1d"};
  if (f("aten.conv_transpose2d.input")) return {"ConvTranspose2d"};
  if (f("aten.linear.default")) return {"Linear"};
  if (f("aten.relu.default")) return {"ReLU"};
  if (f("aten.hardtanh.default")) {
    if (n.attrs.f("min_val", -1.0) == 0.0 && n.attrs.f("max_val", 1.0) == 6.0) return {"ReLU6", "Hardtanh"};
    return {"Hardtanh"};
  }
  if (f("aten.sigmoid.default")) return {"Sigmoid"};
  if (f("aten.tanh.default")) return {"Tanh"};
  if (f("aten.softmax.int")) return {"Softmax"};
  if (f("aten.gelu.default")) return {"GELU"};
  if (f("aten.hardswish.default")) return {"Hardswish"};
  if (f("aten.leaky_relu.default")) return {"LeakyReLU"};
  if (f("aten.max_pool1d.default")) return {"MaxPool1d"};
  if (f("aten.max_pool2d.default")) return {"MaxPool2d"};
  if (f("aten.avg_pool1d.default")) return {"AvgPool1d"};
  if (f("aten.avg_pool2d.default")) return {"AvgPool2d"};
  if (f("aten.adaptive_avg_pool2d.default")) return {"AdaptiveAvgPool2d"};
  if (f("aten.flatten.using_ints")) return {"Flatten"};
  if (f("aten.batch_norm.default")) return {"BatchNorm2d"};
  if (f("aten.layer_norm.default")) return {"LayerNorm"};
  if (f("aten.embedding.default")) return {"Embedding"};
  if (f("aten.dropout.default")) return {"Dropout"};
  return {};
}

namespace {

void set_entry(std::vector<std::pair<std::string, std::optional<QuantizationConfig>>>& v, const std::string& key,
               std::optional<QuantizationConfig> c) {
  for (auto& [k, cfg] : v)
    if (k == key) {
      cfg = std::move(c);
      return;
    }
  v.emplace_back(key, std::move(c));
}

bool under_module(const std::string& path, const std::string& name) {
  if (name.empty()) return true;
  return path == name || (path.size() > name.size() && path.compare(0, name.size(), name) == 0 && path[name.size()] == '.');
}

}  // namespace

void QuantizerConfigs::set_module_name(const std::string& name, std::optional<QuantizationConfig> c) {
  check(!name.empty(), "set_module_name: the module name is empty (use set_global for the whole model)");
  set_entry(by_name_, name, std::move(c));
}

void QuantizerConfigs::set_module_type(const std::string& type, std::optional<QuantizationConfig> c) {
  check(!type.empty(), "set_module_type: the module type is empty");
  set_entry(by_type_, short_module_type(type), std::move(c));
}

void QuantizerConfigs::set_operator_type(const std::string& op, std::optional<QuantizationConfig> c) {
  check(!op.empty(), "set_operator_type: the operator is empty");
  set_entry(by_op_, op, std::move(c));
}

std::vector<QuantizerConfigs::Pass> QuantizerConfigs::passes() const {
  std::vector<Pass> out;
  for (const auto& [name, cfg] : by_name_) {
    out.push_back({"module name '" + name + "'", cfg,
                   [name](const Graph& g, int i) { return under_module(g.nodes[static_cast<size_t>(i)].module, name); }, ""});
  }
  for (const auto& [type, cfg] : by_type_) {
    out.push_back({"module type '" + type + "'", cfg,
                   [type](const Graph& g, int i) {
                     const auto t = module_types_of(g, i);
                     return std::find(t.begin(), t.end(), type) != t.end();
                   },
                   ""});
  }
  // Operator and global passes exclude what a module name / type override covers, even when that
  // override left it unannotated (a nullopt config keeps those nodes float).
  auto names = by_name_;
  auto types = by_type_;
  auto not_overridden = [names, types](const Graph& g, int i) {
    for (const auto& [n, c] : names)
      if (under_module(g.nodes[static_cast<size_t>(i)].module, n)) return false;
    if (!types.empty()) {
      const auto t = module_types_of(g, i);
      for (const auto& [ty, c] : types)
        if (std::find(t.begin(), t.end(), ty) != t.end()) return false;
    }
    return true;
  };
  for (const auto& [op, cfg] : by_op_) out.push_back({"operator '" + op + "'", cfg, not_overridden, op});
  out.push_back({"global", global_, not_overridden, ""});
  return out;
}

}  // namespace eq
