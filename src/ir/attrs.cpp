#include "edgequant/attrs.h"

namespace eq {

const AttrValue& Attrs::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("missing attribute '" + name + "'");
  return it->second;
}

template <class T>
static const T& as(const AttrValue& v, const std::string& name, const char* kind) {
  if (auto p = std::get_if<T>(&v)) return *p;
  throw Error("attribute '" + name + "' is not " + kind);
}

int64_t Attrs::i(const std::string& name) const { return as<int64_t>(get(name), name, "an integer"); }
int64_t Attrs::i(const std::string& name, int64_t fallback) const { return has(name) ? i(name) : fallback; }
double Attrs::f(const std::string& name) const {
  const AttrValue& v = get(name);
  if (auto p = std::get_if<int64_t>(&v)) return static_cast<double>(*p);
  return as<double>(v, name, "a number");
}
double Attrs::f(const std::string& name, double fallback) const { return has(name) ? f(name) : fallback; }
const std::string& Attrs::s(const std::string& name) const { return as<std::string>(get(name), name, "a string"); }
std::string Attrs::s(const std::string& name, const std::string& fallback) const { return has(name) ? s(name) : fallback; }
const std::vector<int64_t>& Attrs::ints(const std::string& name) const {
  return as<std::vector<int64_t>>(get(name), name, "a list of integers");
}
std::vector<int64_t> Attrs::ints(const std::string& name, const std::vector<int64_t>& fallback) const {
  return has(name) ? ints(name) : fallback;
}
const std::vector<double>& Attrs::floats(const std::string& name) const {
  return as<std::vector<double>>(get(name), name, "a list of numbers");
}
std::vector<double> Attrs::floats(const std::string& name, const std::vector<double>& fallback) const {
  return has(name) ? floats(name) : fallback;
}

}  // namespace eq
