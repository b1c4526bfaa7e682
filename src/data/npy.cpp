#include <bit>
#include <cctype>
#include <cstring>
#include <memory>
#include <variant>

#include "data/file_util.h"
#include "data/npy_format.h"
#include "edgequant/dataset.h"

namespace eq {
namespace data {
namespace {

static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

// A Python literal as found in .npy headers: str, int, bool/None, tuple/list, dict.
struct PyValue {
  enum Kind { kStr, kInt, kBool, kNone, kSeq, kDict } kind = kNone;
  std::string s;
  int64_t i = 0;
  bool b = false;
  std::vector<PyValue> items;                          // kSeq
  std::vector<std::pair<std::string, PyValue>> dict;  // kDict
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& origin) : t_(text), origin_(origin) {}

  PyValue parse_top() {
    PyValue v = value(0);
    skip_ws();
    if (pos_ != t_.size()) fail("unexpected text after the header dictionary");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(origin_ + ": malformed .npy header: " + what + " (header: " + excerpt() + ")");
  }
  std::string excerpt() const {
    std::string e;
    for (char c : t_.substr(0, 120)) e += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    if (t_.size() > 120) e += "...";
    return e;
  }
  void skip_ws() {
    while (pos_ < t_.size() && std::isspace(static_cast<unsigned char>(t_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  PyValue value(int depth) {
    if (depth > 16) fail("nesting too deep");
    skip_ws();
    if (pos_ >= t_.size()) fail("unexpected end");
    const char c = t_[pos_];
    PyValue v;
    if (c == '\'' || c == '"') {
      v.kind = PyValue::kStr;
      v.s = string_lit();
    } else if (c == '{') {
      ++pos_;
      v.kind = PyValue::kDict;
      while (!eat('}')) {
        skip_ws();
        if (pos_ >= t_.size() || (t_[pos_] != '\'' && t_[pos_] != '"')) fail("expected a quoted key");
        std::string key = string_lit();
        if (!eat(':')) fail("expected ':' after key '" + key + "'");
        v.dict.emplace_back(std::move(key), value(depth + 1));
        if (!eat(',')) {
          if (!eat('}')) fail("expected ',' or '}'");
          break;
        }
      }
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      ++pos_;
      v.kind = PyValue::kSeq;
      while (!eat(close)) {
        v.items.push_back(value(depth + 1));
        if (!eat(',')) {
          if (!eat(close)) fail(std::string("expected ',' or '") + close + "'");
          break;
        }
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      v.kind = PyValue::kInt;
      const bool neg = c == '-';
      if (neg) ++pos_;
      if (pos_ >= t_.size() || !std::isdigit(static_cast<unsigned char>(t_[pos_]))) fail("bad number");
      uint64_t x = 0;
      while (pos_ < t_.size() && std::isdigit(static_cast<unsigned char>(t_[pos_]))) {
        x = x * 10 + static_cast<uint64_t>(t_[pos_] - '0');
        if (x > (uint64_t{1} << 62)) fail("number too large");
        ++pos_;
      }
      if (pos_ < t_.size() && (t_[pos_] == 'L' || t_[pos_] == 'l')) ++pos_;  // Python 2 longs
      v.i = neg ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      std::string word;
      while (pos_ < t_.size() && (std::isalnum(static_cast<unsigned char>(t_[pos_])) || t_[pos_] == '_')) word += t_[pos_++];
      if (word == "True" || word == "False") {
        v.kind = PyValue::kBool;
        v.b = word == "True";
      } else if (word == "None") {
        v.kind = PyValue::kNone;
      } else {
        fail("unexpected word '" + word + "'");
      }
    } else {
      fail(std::string("unexpected character '") + (std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c) : "?") + "'");
    }
    return v;
  }
  std::string string_lit() {
    const char q = t_[pos_++];
    std::string s;
    while (true) {
      if (pos_ >= t_.size()) fail("unterminated string");
      char c = t_[pos_++];
      if (c == q) break;
      if (c == '\\') {
        if (pos_ >= t_.size()) fail("unterminated string");
        c = t_[pos_++];
      }
      s += c;
    }
    return s;
  }
  const std::string& t_;
  const std::string& origin_;
  size_t pos_ = 0;
};

struct NpyType {
  DType dtype;
  size_t itemsize;
  bool f64 = false;  // stored as float64, converted to f32
};

NpyType parse_descr(const std::string& descr, const std::string& origin) {
  auto unsupported = [&](const std::string& why) -> Error {
    return Error(origin + ": unsupported .npy dtype '" + descr + "'" + why +
                 " (supported: <f4, <f8, <f2, |u1, |i1, <i2, <i4, <i8, |b1)");
  };
  if (descr.size() < 3) throw unsupported("");
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  const bool one_byte = kind == "u1" || kind == "i1" || kind == "b1";
  if (order == '>' && !one_byte) throw unsupported(" (big-endian data)");
  if (order != '<' && order != '|' && order != '=' && !(order == '>' && one_byte)) throw unsupported("");
  if (kind == "f4") return {DType::f32, 4};
  if (kind == "f8") return {DType::f32, 8, true};
  if (kind == "f2") return {DType::f16, 2};
  if (kind == "u1") return {DType::u8, 1};
  if (kind == "i1") return {DType::i8, 1};
  if (kind == "i2") return {DType::i16, 2};
  if (kind == "i4") return {DType::i32, 4};
  if (kind == "i8") return {DType::i64, 8};
  if (kind == "b1") return {DType::boolean, 1};
  throw unsupported("");
}

std::string descr_for(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f16: return "<f2";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::i16: return "<i2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::boolean: return "|b1";
    default: throw Error("write_npy: dtype " + std::string(dtype_name(t)) + " has no .npy equivalent");
  }
}

}  // namespace

Tensor parse_npy(const uint8_t* data, size_t size, const std::string& origin) {
  if (size < 10 || std::memcmp(data, kMagic, 6) != 0) {
    if (size < 6) throw Error(origin + ": not a .npy file (too short: " + std::to_string(size) + " bytes)");
    throw Error(origin + ": not a .npy file (missing the \\x93NUMPY magic)");
  }
  const int major = data[6];
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = load_le16(data + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) throw Error(origin + ": truncated .npy header");
    header_len = load_le32(data + 8);
    header_start = 12;
  } else {
    throw Error(origin + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(data[7]));
  }
  if (header_len > size - header_start)
    throw Error(origin + ": truncated .npy header (needs " + std::to_string(header_len) + " bytes, file has " +
                std::to_string(size - header_start) + ")");
  const std::string header(reinterpret_cast<const char*>(data + header_start), header_len);
  const PyValue dict = HeaderParser(header, origin).parse_top();
  if (dict.kind != PyValue::kDict) throw Error(origin + ": malformed .npy header: not a dictionary");
  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (const auto& [k, v] : dict.dict) {
    if (k == "descr") descr = &v;
    else if (k == "fortran_order") fortran = &v;
    else if (k == "shape") shape = &v;
  }
  if (!descr || !fortran || !shape) throw Error(origin + ": malformed .npy header: needs 'descr', 'fortran_order' and 'shape'");
  if (descr->kind != PyValue::kStr) throw Error(origin + ": unsupported .npy dtype (structured arrays are not supported)");
  if (fortran->kind != PyValue::kBool) throw Error(origin + ": malformed .npy header: 'fortran_order' is not True/False");
  if (shape->kind != PyValue::kSeq) throw Error(origin + ": malformed .npy header: 'shape' is not a tuple");
  const NpyType type = parse_descr(descr->s, origin);
  Shape dims;
  uint64_t numel = 1;
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::kInt || d.i < 0) throw Error(origin + ": malformed .npy header: bad dimension in 'shape'");
    dims.push_back(d.i);
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d.i), &numel) || numel > (uint64_t{1} << 40))
      throw Error(origin + ": .npy shape is too large");
  }
  if (fortran->b && dims.size() > 1) {
    size_t nontrivial = 0;
    for (int64_t d : dims) nontrivial += d > 1;
    if (nontrivial > 1)
      throw Error(origin + ": Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)");
  }
  const uint64_t payload = size - header_start - header_len;
  const uint64_t expected = numel * type.itemsize;
  if (payload != expected)
    throw Error(origin + ": .npy data size mismatch: shape " + shape_str(dims) + " of '" + descr->s + "' needs " +
                std::to_string(expected) + " bytes, file has " + std::to_string(payload));
  const uint8_t* p = data + header_start + header_len;
  Tensor t(type.dtype, dims);
  if (type.f64) {
    float* out = t.data<float>();
    for (uint64_t i = 0; i < numel; ++i) {
      double v;
      std::memcpy(&v, p + i * 8, 8);
      out[i] = static_cast<float>(v);
    }
  } else if (expected) {
    std::memcpy(t.raw(), p, expected);
    if (type.dtype == DType::boolean) {
      auto* b = static_cast<uint8_t*>(t.raw());
      for (uint64_t i = 0; i < numel; ++i) b[i] = b[i] != 0;
    }
  }
  return t;
}

Bytes encode_npy(const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (i + 1 < t.shape().size() ? ", " : "");
  if (t.shape().size() == 1) shape += ",";
  shape += ")";
  std::string header = "{'descr': '" + descr_for(t.dtype()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  int major = 1;
  size_t prefix = 10;
  if (header.size() + 1 + prefix + 64 > 65535) {
    major = 2;
    prefix = 12;
  }
  const size_t total = ((prefix + header.size() + 1 + 63) / 64) * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  Bytes out(kMagic, kMagic + 6);
  out.push_back(static_cast<uint8_t>(major));
  out.push_back(0);
  const size_t len = header.size();
  out.push_back(static_cast<uint8_t>(len & 0xff));
  out.push_back(static_cast<uint8_t>((len >> 8) & 0xff));
  if (major == 2) {
    out.push_back(static_cast<uint8_t>((len >> 16) & 0xff));
    out.push_back(static_cast<uint8_t>((len >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  const auto* p = static_cast<const uint8_t*>(t.raw());
  if (t.nbytes()) out.insert(out.end(), p, p + t.nbytes());
  return out;
}

}  // namespace data

Tensor read_npy(const std::string& path) {
  const data::Bytes b = data::read_file(path);
  return data::parse_npy(b.data(), b.size(), path);
}

void write_npy(const Tensor& t, const std::string& path) {
  check(t.defined(), "write_npy: " + path + ": tensor has no data");
  const data::Bytes b = data::encode_npy(t);
  data::write_file_atomic(path, b.data(), b.size());
}

}  // namespace eq
