// One error type for everything a user can get wrong: a malformed model, an unsupported op,
// a bad data file, a bad option. The message is a single line naming the culprit; the CLI
// prints it and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace eq {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws eq::Error with `msg` when `cond` is false. Use for user-facing checks only;
// programming errors are asserts.
inline void check(bool cond, const std::string& msg) {
  if (!cond) throw Error(msg);
}

}  // namespace eq
