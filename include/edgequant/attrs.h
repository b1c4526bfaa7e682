// Node attributes: a small typed map. Names and meanings follow ATen's argument names where
// ATen has the argument (stride, padding, dilation, groups, dim, keepdim, eps, ...); the full
// catalogue of each op's attributes is docs/ops.md.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "edgequant/error.h"

namespace eq {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

class Attrs {
 public:
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  void erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttrValue>& all() const { return values_; }

  // Typed getters: the one-argument forms throw eq::Error when missing or of another type.
  int64_t i(const std::string& name) const;
  int64_t i(const std::string& name, int64_t fallback) const;
  double f(const std::string& name) const;  // accepts an int attribute too
  double f(const std::string& name, double fallback) const;
  const std::string& s(const std::string& name) const;
  std::string s(const std::string& name, const std::string& fallback) const;
  const std::vector<int64_t>& ints(const std::string& name) const;
  std::vector<int64_t> ints(const std::string& name, const std::vector<int64_t>& fallback) const;
  const std::vector<double>& floats(const std::string& name) const;
  std::vector<double> floats(const std::string& name, const std::vector<double>& fallback) const;

  bool operator==(const Attrs& o) const { return values_ == o.values_; }

 private:
  const AttrValue& get(const std::string& name) const;
  std::map<std::string, AttrValue> values_;
};

}  // namespace eq
