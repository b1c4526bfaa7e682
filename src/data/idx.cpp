#include <cstdio>
#include <cstring>

#include "data/file_util.h"
#include "edgequant/dataset.h"

namespace eq {

Tensor read_idx(const std::string& path) {
  const data::Bytes b = data::read_file_maybe_gzip(path);
  if (b.size() < 4)
    throw Error(path + ": not an IDX file (only " + std::to_string(b.size()) + " bytes, the header needs at least 4)");
  if (b[0] != 0 || b[1] != 0)
    throw Error(path + ": not an IDX file (bad magic: the first two bytes must be zero)");
  DType dtype;
  size_t esize;
  bool f64 = false;
  switch (b[2]) {
    case 0x08: dtype = DType::u8; esize = 1; break;
    case 0x09: dtype = DType::i8; esize = 1; break;
    case 0x0B: dtype = DType::i16; esize = 2; break;
    case 0x0C: dtype = DType::i32; esize = 4; break;
    case 0x0D: dtype = DType::f32; esize = 4; break;
    case 0x0E: dtype = DType::f32; esize = 8; f64 = true; break;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b[2]);
      throw Error(path + ": not an IDX file (unknown element type " + hex + " in the magic)");
    }
  }
  const size_t rank = b[3];
  if (b.size() < 4 + 4 * rank)
    throw Error(path + ": truncated IDX header (" + std::to_string(rank) + " dimensions need " + std::to_string(4 + 4 * rank) +
                " bytes, file has " + std::to_string(b.size()) + ")");
  Shape dims;
  uint64_t numel = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint32_t d = data::load_be32(b.data() + 4 + 4 * i);
    dims.push_back(static_cast<int64_t>(d));
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel) || numel > (uint64_t{1} << 40))
      throw Error(path + ": IDX dimensions " + shape_str(dims) + " are too large");
  }
  const uint64_t payload = b.size() - 4 - 4 * rank;
  const uint64_t expected = numel * esize;
  if (payload != expected)
    throw Error(path + ": IDX size mismatch: dimensions " + shape_str(dims) + " need " + std::to_string(expected) +
                " bytes of data, file has " + std::to_string(payload) + (payload < expected ? " (truncated?)" : ""));
  const uint8_t* p = b.data() + 4 + 4 * rank;
  Tensor t(dtype, dims);
  auto* out = static_cast<uint8_t*>(t.raw());
  if (esize == 1) {
    if (numel) std::memcpy(out, p, numel);
  } else if (f64) {
    float* f = t.data<float>();
    for (uint64_t i = 0; i < numel; ++i) {
      uint64_t bits = 0;
      for (int k = 0; k < 8; ++k) bits = (bits << 8) | p[i * 8 + static_cast<uint64_t>(k)];
      double v;
      std::memcpy(&v, &bits, 8);
      f[i] = static_cast<float>(v);
    }
  } else {
    // Big-endian elements to native (little-endian) order.
    for (uint64_t i = 0; i < numel; ++i)
      for (size_t k = 0; k < esize; ++k) out[i * esize + k] = p[i * esize + (esize - 1 - k)];
  }
  return t;
}

}  // namespace eq
