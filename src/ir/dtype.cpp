#include "edgequant/dtype.h"

#include "edgequant/error.h"

namespace eq {

int dtype_bits(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: return 32;
    case DType::f16: case DType::i16: return 16;
    case DType::i8: case DType::u8: case DType::boolean: return 8;
    case DType::i64: return 64;
    case DType::i4: case DType::u4: return 4;
  }
  return 0;
}

size_t dtype_storage_bytes(DType t, int64_t n) {
  const int64_t bits = dtype_bits(t) * n;
  return static_cast<size_t>((bits + 7) / 8);
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::i8: return "i8";
    case DType::u8: return "u8";
    case DType::i16: return "i16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::boolean: return "bool";
    case DType::i4: return "i4";
    case DType::u4: return "u4";
  }
  return "?";
}

DType dtype_from_name(std::string_view name) {
  for (DType t : {DType::f32, DType::f16, DType::i8, DType::u8, DType::i16, DType::i32, DType::i64,
                  DType::boolean, DType::i4, DType::u4})
    if (dtype_name(t) == name) return t;
  throw Error("unknown dtype '" + std::string(name) + "' (expected f32, f16, i8, u8, i16, i32, i64, bool, i4, u4)");
}

bool dtype_is_float(DType t) { return t == DType::f32 || t == DType::f16; }
bool dtype_is_integer(DType t) { return !dtype_is_float(t) && t != DType::boolean; }

}  // namespace eq
