// Helpers shared by the end-to-end CLI tests: run the `edgequant` command (EQ_CLI) capturing
// stdout/stderr, the one-line error contract, a temporary directory, and a minimal JSON reader.
#pragma once
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace eqtest {

namespace fs = std::filesystem;

const std::string kModels = std::string(EQ_FIXTURES_DIR) + "/models";
const std::vector<std::string> kModelNames = {"cnn", "mbv2", "resnet", "vit", "conv1d", "mlp"};

struct Result {
  int rc = -1;
  std::string out, err;
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "eq_cli_test_XXXXXX").string();
    if (!mkdtemp(t.data())) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }
  std::vector<std::string> listing() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(path_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::string path_;
};

// Runs the CLI with `args`; stdout and stderr are captured separately (stderr is not a TTY, so
// no progress bar).
inline Result cli(const std::vector<std::string>& args) {
  static TempDir io;
  std::string cmd = quote(EQ_CLI);
  for (const std::string& a : args) cmd += " " + quote(a);
  const std::string out = io / "stdout", err = io / "stderr";
  cmd += " >" + quote(out) + " 2>" + quote(err) + " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline std::string show(const Result& r) { return "rc=" + std::to_string(r.rc) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err; }

// The error contract: exit `rc`, exactly one line on stderr, "edgequant: error: ...".
inline void expect_one_line_error(const Result& r, int rc, const std::string& needle = "") {
  EXPECT_EQ(r.rc, rc) << show(r);
  EXPECT_EQ(r.err.rfind("edgequant: error: ", 0), 0u) << show(r);
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n') << show(r);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << show(r);
  if (!needle.empty()) {
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in\n" << show(r);
  }
}

// ---- a minimal JSON reader (enough to check what the CLI prints) ----

struct Json {
  enum Kind { kNull, kBool, kNum, kStr, kArr, kObj } kind = kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> arr;
  std::vector<std::pair<std::string, Json>> obj;
  const Json* get(const std::string& k) const {
    for (const auto& [key, v] : obj)
      if (key == k) return &v;
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}
  // Parses exactly one value (surrounding whitespace allowed); false on any syntax error.
  bool parse(Json& out) {
    if (!value(out, 0)) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool lit(const char* w) {
    const size_t n = std::strlen(w);
    if (s_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }
  bool string(std::string& out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (s_[i_] == '\\') {
        if (++i_ >= s_.size()) return false;
        const char e = s_[i_];
        if (e == 'u') {
          if (i_ + 4 >= s_.size()) return false;
          out += '?';
          i_ += 4;
        } else if (std::string("\"\\/bfnrt").find(e) != std::string::npos) {
          out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          return false;
        }
        ++i_;
      } else {
        out += s_[i_++];
      }
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool value(Json& v, int depth) {
    if (depth > 64) return false;
    ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') {
      v.kind = Json::kObj;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      while (true) {
        ws();
        std::string k;
        if (!string(k)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        Json x;
        if (!value(x, depth + 1)) return false;
        v.obj.emplace_back(std::move(k), std::move(x));
        ws();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      v.kind = Json::kArr;
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      while (true) {
        Json x;
        if (!value(x, depth + 1)) return false;
        v.arr.push_back(std::move(x));
        ws();
        if (i_ < s_.size() && s_[i_] == ',') { ++i_; continue; }
        if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') return v.kind = Json::kStr, string(v.str);
    if (lit("true")) return v.kind = Json::kBool, v.b = true, true;
    if (lit("false")) return v.kind = Json::kBool, true;
    if (lit("null")) return v.kind = Json::kNull, true;
    const char* start = s_.c_str() + i_;
    char* end = nullptr;
    v.num = std::strtod(start, &end);
    if (end == start) return false;
    v.kind = Json::kNum;
    i_ += static_cast<size_t>(end - start);
    return true;
  }
  const std::string& s_;
  size_t i_ = 0;
};

inline Json parse_json_or_fail(const std::string& text) {
  Json j;
  EXPECT_TRUE(JsonParser(text).parse(j)) << "not one JSON value:\n" << text;
  return j;
}

inline double num(const Json& j, const std::string& key) {
  const Json* v = j.get(key);
  EXPECT_NE(v, nullptr) << "missing key '" << key << "'";
  if (!v) return NAN;
  EXPECT_EQ(v->kind, Json::kNum) << "key '" << key << "' is not a number";
  return v->num;
}

inline bool fashion_mnist_installed() {
  const char* env = std::getenv("EDGEQUANT_FASHION_MNIST_DIR");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  return fs::exists(dir + "/t10k-images-idx3-ubyte.gz") || fs::exists(dir + "/t10k-images-idx3-ubyte");
}

// Any fixture model, for the error tests that need a valid one.
inline std::string any_model() {
  for (const std::string& n : kModelNames)
    if (fs::exists(kModels + "/" + n + ".onnx") && fs::exists(kModels + "/" + n + ".input.npy")) return n;
  return "";
}

#define SKIP_WITHOUT_MODEL(var)                                                                          \
  const std::string var = any_model();                                                                   \
  if (var.empty()) {                                                                                     \
    GTEST_SKIP() << "no fixture model in " << kModels << " (run python3 tools/fixtures/make_fashion_models.py)"; \
  }                                                                                                      \
  static_assert(true, "")


}  // namespace eqtest
