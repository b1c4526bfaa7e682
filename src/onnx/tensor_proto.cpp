#include "tensor_proto.h"

#include <cstring>
#include <fstream>
#include <limits>

namespace eq::onnx_impl {
namespace {

using TP = ::onnx::TensorProto;

template <class T, class Src>
void copy_typed(Tensor& t, const Src& field) {
  T* dst = static_cast<T*>(t.raw());
  for (int i = 0; i < field.size(); ++i) dst[i] = static_cast<T>(field.Get(i));
}

std::string read_external(const TP& p, const std::string& what, const std::string& base_dir, size_t want) {
  check(!base_dir.empty(), what + ": external data is not supported when loading from bytes");
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::atoll(kv.value().c_str());
    else if (kv.key() == "length") length = std::atoll(kv.value().c_str());
  }
  check(!location.empty(), what + ": external data has no location");
  check(location.find("..") == std::string::npos && location[0] != '/', what + ": external data location '" + location +
                                                                                 "' must be relative to the model directory");
  check(offset >= 0, what + ": negative external data offset");
  check(length < 0 || static_cast<size_t>(length) == want,
        what + ": external data length " + std::to_string(length) + " does not match " + std::to_string(want) + " bytes");
  const std::string path = base_dir + "/" + location;
  std::ifstream in(path, std::ios::binary);
  check(in.good(), what + ": cannot open external data file '" + path + "'");
  in.seekg(offset);
  std::string out(want, '\0');
  in.read(out.data(), static_cast<std::streamsize>(want));
  check(in.gcount() == static_cast<std::streamsize>(want), what + ": external data file '" + path + "' is too short");
  return out;
}

}  // namespace

std::optional<DType> dtype_from_onnx(int32_t t) {
  switch (t) {
    case TP::FLOAT: return DType::f32;
    case TP::FLOAT16: return DType::f16;
    case TP::INT8: return DType::i8;
    case TP::UINT8: return DType::u8;
    case TP::INT16: return DType::i16;
    case TP::INT32: return DType::i32;
    case TP::INT64: return DType::i64;
    case TP::BOOL: return DType::boolean;
    case 22: return DType::i4;  // INT4 (ONNX 1.16+)
    case 21: return DType::u4;  // UINT4
    default: return std::nullopt;
  }
}

int32_t dtype_to_onnx(DType t) {
  switch (t) {
    case DType::f32: return TP::FLOAT;
    case DType::f16: return TP::FLOAT16;
    case DType::i8: return TP::INT8;
    case DType::u8: return TP::UINT8;
    case DType::i16: return TP::INT16;
    case DType::i32: return TP::INT32;
    case DType::i64: return TP::INT64;
    case DType::boolean: return TP::BOOL;
    case DType::i4: return 22;
    case DType::u4: return 21;
  }
  return TP::UNDEFINED;
}

std::string onnx_type_name(int32_t t) {
  switch (t) {
    case TP::UNDEFINED: return "UNDEFINED";
    case TP::FLOAT: return "FLOAT";
    case TP::UINT8: return "UINT8";
    case TP::INT8: return "INT8";
    case TP::UINT16: return "UINT16";
    case TP::INT16: return "INT16";
    case TP::INT32: return "INT32";
    case TP::INT64: return "INT64";
    case TP::STRING: return "STRING";
    case TP::BOOL: return "BOOL";
    case TP::FLOAT16: return "FLOAT16";
    case TP::DOUBLE: return "DOUBLE";
    case TP::UINT32: return "UINT32";
    case TP::UINT64: return "UINT64";
    case TP::COMPLEX64: return "COMPLEX64";
    case TP::COMPLEX128: return "COMPLEX128";
    case TP::BFLOAT16: return "BFLOAT16";
    case 21: return "UINT4";
    case 22: return "INT4";
    default: return "type " + std::to_string(t);
  }
}

Tensor tensor_from_proto(const TP& p, const std::string& what, const std::string& base_dir) {
  check(!p.has_segment(), what + ": segmented tensors are not supported");
  const std::optional<DType> dt = dtype_from_onnx(p.data_type());
  check(dt.has_value(), what + ": element type " + onnx_type_name(p.data_type()) + " is not supported");
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : p.dims()) {
    check(d >= 0, what + ": negative dimension " + std::to_string(d));
    check(!__builtin_mul_overflow(numel, d, &numel) && numel <= kMaxConstantElements,
          what + ": too many elements (more than " + std::to_string(kMaxConstantElements) + ")");
    shape.push_back(d);
  }
  const size_t want = dtype_storage_bytes(*dt, numel);
  const bool external = p.data_location() == TP::EXTERNAL;
  if (external || p.has_raw_data()) {
    const std::string ext = external ? read_external(p, what, base_dir, want) : std::string();
    const std::string& raw = external ? ext : p.raw_data();
    check(raw.size() == want, what + ": raw_data has " + std::to_string(raw.size()) + " bytes, expected " + std::to_string(want) +
                                  " for " + shape_str(shape) + " " + std::string(dtype_name(*dt)));
    Tensor t(*dt, shape);
    if (want) std::memcpy(t.raw(), raw.data(), want);
    if (*dt == DType::boolean) {
      uint8_t* b = static_cast<uint8_t*>(t.raw());
      for (int64_t i = 0; i < numel; ++i) b[i] = b[i] ? 1 : 0;
    }
    return t;
  }
  auto expect_count = [&](int64_t got, int64_t n) {
    check(got == n, what + ": has " + std::to_string(got) + " values, expected " + std::to_string(n) + " for shape " + shape_str(shape));
  };
  Tensor t(*dt, shape);
  switch (*dt) {
    case DType::f32:
      expect_count(p.float_data_size(), numel);
      copy_typed<float>(t, p.float_data());
      break;
    case DType::i64:
      expect_count(p.int64_data_size(), numel);
      copy_typed<int64_t>(t, p.int64_data());
      break;
    case DType::i32:
      expect_count(p.int32_data_size(), numel);
      copy_typed<int32_t>(t, p.int32_data());
      break;
    case DType::i16:
      expect_count(p.int32_data_size(), numel);
      copy_typed<int16_t>(t, p.int32_data());
      break;
    case DType::f16:
      expect_count(p.int32_data_size(), numel);
      copy_typed<uint16_t>(t, p.int32_data());
      break;
    case DType::i8:
      expect_count(p.int32_data_size(), numel);
      copy_typed<int8_t>(t, p.int32_data());
      break;
    case DType::u8:
      expect_count(p.int32_data_size(), numel);
      copy_typed<uint8_t>(t, p.int32_data());
      break;
    case DType::boolean: {
      expect_count(p.int32_data_size(), numel);
      uint8_t* b = static_cast<uint8_t*>(t.raw());
      for (int64_t i = 0; i < numel; ++i) b[i] = p.int32_data(static_cast<int>(i)) ? 1 : 0;
      break;
    }
    case DType::i4:
    case DType::u4: {
      // One int32 per packed byte (two elements, low nibble first).
      expect_count(p.int32_data_size(), (numel + 1) / 2);
      copy_typed<uint8_t>(t, p.int32_data());
      break;
    }
  }
  return t;
}

void tensor_to_proto(const Tensor& t, TP& p) {
  p.clear_dims();
  for (int64_t d : t.shape()) p.add_dims(d);
  p.set_data_type(dtype_to_onnx(t.dtype()));
  p.clear_float_data();
  p.clear_int32_data();
  p.clear_int64_data();
  p.set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

}  // namespace eq::onnx_impl
