// A tiny argument parser shared by the verbs: long options (--name VALUE, --name=VALUE), short
// aliases (-o VALUE), flags, repeatable options and positionals, with one-line usage errors.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace eqcli {

// A mistake in the command line: main prints it and exits with status 2.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

struct Option {
  std::string name;        // "--batch"
  std::string short_name;  // "-o", or empty
  std::string metavar;     // "N" for options taking a value; empty for flags
  std::string help;
  bool repeatable = false;
};

struct Command {
  std::string name;                      // "eval"
  std::vector<std::string> positionals;  // required positionals, e.g. {"MODEL.onnx"}
  std::string summary;                   // one line, for `edgequant --help`
  std::string details;                   // extra paragraphs for `edgequant help <verb>`
  std::vector<Option> options;

  std::string usage_line() const;  // "usage: edgequant eval MODEL.onnx [options]"
  std::string help_text() const;   // usage, summary, options, details
};

class Args {
 public:
  // Parses `argv` (the words after the verb). -h/--help anywhere sets help() and stops checking.
  // Throws UsageError for unknown options, missing values, repeated single options and a wrong
  // number of positionals.
  static Args parse(const Command& cmd, const std::vector<std::string>& argv);

  bool help() const { return help_; }
  const std::vector<std::string>& positionals() const { return positionals_; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback) const;
  std::vector<std::string> get_all(const std::string& name) const;
  // An integer option in [min, max]; UsageError naming the option otherwise.
  int64_t get_int(const std::string& name, int64_t fallback, int64_t min, int64_t max) const;

 private:
  const Command* cmd_ = nullptr;
  bool help_ = false;
  std::vector<std::string> positionals_;
  std::map<std::string, std::vector<std::string>> values_;  // flags hold one empty string
};

}  // namespace eqcli
