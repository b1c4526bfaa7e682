#include "json_writer.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace eqcli {

std::string JsonWriter::escape(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      case '\b': o += "\\b"; break;
      case '\f': o += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);  // UTF-8 passes through
        }
    }
  }
  return o + "\"";
}

void JsonWriter::newline() {
  if (indent_ <= 0) return;
  for (const Level& l : stack_)
    if (l.compact) return;
  out_ += '\n';
  out_.append(stack_.size() * static_cast<size_t>(indent_), ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) {
    if (!out_.empty()) throw std::logic_error("JsonWriter: more than one top-level value");
    return;
  }
  if (stack_.back().object) throw std::logic_error("JsonWriter: value in an object without a key");
  if (!stack_.back().empty) out_ += indent_ > 0 && !stack_.back().compact ? "," : ", ";
  stack_.back().empty = false;
  newline();
}

JsonWriter& JsonWriter::key(std::string_view k) {
  if (stack_.empty() || !stack_.back().object || after_key_) throw std::logic_error("JsonWriter: key outside an object");
  if (!stack_.back().empty) out_ += indent_ > 0 ? "," : ", ";
  stack_.back().empty = false;
  newline();
  out_ += escape(k);
  out_ += ": ";
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_ += '{';
  stack_.push_back({true});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  if (stack_.empty() || !stack_.back().object || after_key_) throw std::logic_error("JsonWriter: unbalanced end_object");
  const bool empty = stack_.back().empty;
  stack_.pop_back();
  if (!empty) newline();
  out_ += '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array(bool compact) {
  before_value();
  out_ += '[';
  stack_.push_back({false, true, compact});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  if (stack_.empty() || stack_.back().object) throw std::logic_error("JsonWriter: unbalanced end_array");
  const bool empty = stack_.back().empty, compact = stack_.back().compact;
  stack_.pop_back();
  if (!empty && !compact) newline();
  out_ += ']';
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  before_value();
  out_ += escape(s);
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  before_value();
  if (!std::isfinite(d)) {
    out_ += "null";
    return *this;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  // Shortest form that reads back to the same double.
  for (int prec = 6; prec < 17; ++prec) {
    char tmp[40];
    std::snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (std::strtod(tmp, nullptr) == d) {
      std::snprintf(buf, sizeof buf, "%s", tmp);
      break;
    }
  }
  out_ += buf;
  return *this;
}

JsonWriter& JsonWriter::value(int64_t i) {
  before_value();
  out_ += std::to_string(i);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_ += "null";
  return *this;
}

}  // namespace eqcli
