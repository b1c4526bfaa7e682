// Element types of tensors. Sub-byte types (int4) are stored packed, two per byte, low nibble
// first, so that packed LLM weights fit the same Tensor later without a second container.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace eq {

enum class DType : uint8_t { f32, f16, i8, u8, i16, i32, i64, boolean, i4, u4 };

// Bits per element (4 for the packed types).
int dtype_bits(DType t);
// Bytes needed to store `n` elements (rounds packed types up to whole bytes).
size_t dtype_storage_bytes(DType t, int64_t n);
std::string_view dtype_name(DType t);
// Parses names as printed by dtype_name ("f32", "i8", ...); throws eq::Error otherwise.
DType dtype_from_name(std::string_view name);
bool dtype_is_float(DType t);
bool dtype_is_integer(DType t);

// Maps a C++ type to its DType at compile time, for typed access to tensor data.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::i8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::i16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::boolean; };

}  // namespace eq
