#include "cli_args.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace eqcli {
namespace {

std::string see_help(const Command& cmd) { return " (see 'edgequant help " + cmd.name + "')"; }

const Option* find(const Command& cmd, const std::string& word) {
  for (const Option& o : cmd.options)
    if (word == o.name || (!o.short_name.empty() && word == o.short_name)) return &o;
  return nullptr;
}

}  // namespace

std::string Command::usage_line() const {
  std::string s = "usage: edgequant " + name;
  for (const std::string& p : positionals) s += " " + p;
  if (!options.empty()) s += " [options]";
  return s;
}

std::string Command::help_text() const {
  std::string s = usage_line() + "\n\n" + summary + "\n";
  if (!options.empty()) {
    s += "\noptions:\n";
    std::vector<std::string> left;
    size_t width = 0;
    for (const Option& o : options) {
      std::string l = "  " + (o.short_name.empty() ? std::string() : o.short_name + ", ") + o.name;
      if (!o.metavar.empty()) l += " " + o.metavar;
      width = std::max(width, l.size());
      left.push_back(std::move(l));
    }
    for (size_t i = 0; i < options.size(); ++i)
      s += left[i] + std::string(width + 2 - left[i].size(), ' ') + options[i].help +
           (options[i].repeatable ? " (repeatable)" : "") + "\n";
    s += "  -h, --help" + std::string(width + 2 > 12 ? width + 2 - 12 : 1, ' ') + "show this help\n";
  }
  if (!details.empty()) s += "\n" + details + (details.back() == '\n' ? "" : "\n");
  return s;
}

Args Args::parse(const Command& cmd, const std::vector<std::string>& argv) {
  Args a;
  a.cmd_ = &cmd;
  for (const std::string& w : argv)
    if (w == "-h" || w == "--help") {
      a.help_ = true;
      return a;
    }
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (options_done || w.size() < 2 || w[0] != '-' || w == "-") {
      a.positionals_.push_back(w);
      continue;
    }
    if (w == "--") {
      options_done = true;
      continue;
    }
    std::string word = w, inline_value;
    bool has_inline = false;
    if (w.rfind("--", 0) == 0) {
      const size_t eq = w.find('=');
      if (eq != std::string::npos) {
        word = w.substr(0, eq);
        inline_value = w.substr(eq + 1);
        has_inline = true;
      }
    }
    const Option* o = find(cmd, word);
    if (!o) throw UsageError("unknown option '" + word + "' for 'edgequant " + cmd.name + "'" + see_help(cmd));
    std::string value;
    if (o->metavar.empty()) {
      if (has_inline) throw UsageError("option '" + o->name + "' takes no value" + see_help(cmd));
    } else if (has_inline) {
      value = inline_value;
    } else {
      if (i + 1 >= argv.size()) throw UsageError("option '" + o->name + "' needs a value (" + o->name + " " + o->metavar + ")");
      value = argv[++i];
    }
    auto& slot = a.values_[o->name];
    if (!slot.empty() && !o->repeatable) throw UsageError("option '" + o->name + "' given more than once");
    slot.push_back(value);
  }
  if (a.positionals_.size() < cmd.positionals.size()) {
    throw UsageError("missing " + cmd.positionals[a.positionals_.size()] + " (" + cmd.usage_line() + ")");
  }
  if (a.positionals_.size() > cmd.positionals.size())
    throw UsageError("unexpected argument '" + a.positionals_[cmd.positionals.size()] + "'" + see_help(cmd));
  return a;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::get(const std::string& name, const std::string& fallback) const { return get(name).value_or(fallback); }

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int64_t Args::get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  const std::optional<std::string> v = get(name);
  if (!v) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  const bool ok = !v->empty() && end && *end == '\0' && errno == 0 && x >= min && x <= max;
  if (!ok) {
    std::string range = max == INT64_MAX ? "an integer >= " + std::to_string(min)
                                         : "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    throw UsageError("option '" + name + "' expects " + range + ", got '" + *v + "'");
  }
  return x;
}

}  // namespace eqcli
