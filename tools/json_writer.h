// A small streaming JSON writer (no dependency): objects, arrays, strings with escapes, numbers
// (non-finite ones become null), booleans. Commas and nesting are tracked for the caller.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace eqcli {

class JsonWriter {
 public:
  // indent 0: one line; otherwise pretty-printed with that many spaces per level.
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  // `compact`: keep the array on one line even when pretty-printing (short lists of numbers).
  JsonWriter& begin_array(bool compact = false);
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);  // inside an object, before each value

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(double d);
  JsonWriter& value(float f) { return value(static_cast<double>(f)); }
  JsonWriter& value(int64_t i);
  JsonWriter& value(int i) { return value(static_cast<int64_t>(i)); }
  JsonWriter& value(size_t i) { return value(static_cast<int64_t>(i)); }
  JsonWriter& value(bool b);
  JsonWriter& null();

  // key + value in one call.
  template <class T>
  JsonWriter& field(std::string_view k, const T& v) { return key(k).value(v); }

  const std::string& str() const { return out_; }
  static std::string escape(std::string_view s);  // with the quotes

 private:
  void before_value();
  void newline();
  std::string out_;
  int indent_;
  struct Level {
    bool object;
    bool empty = true;
    bool compact = false;
  };
  std::vector<Level> stack_;
  bool after_key_ = false;
};

}  // namespace eqcli
