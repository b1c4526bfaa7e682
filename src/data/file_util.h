// Private helpers of src/data: whole-file reads, gzip/raw-deflate decompression and atomic
// writes. Every failure is an eq::Error that names the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace eq::data {

using Bytes = std::vector<uint8_t>;

// Reads a whole file; throws eq::Error("<path>: cannot open ...") and the like.
Bytes read_file(const std::string& path);
// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const Bytes& b);
// Decompresses a gzip stream (concatenated members allowed). `origin` names the source in errors.
Bytes gunzip(const Bytes& in, const std::string& origin);
// Reads a file and gunzips it when it starts with the gzip magic.
Bytes read_file_maybe_gzip(const std::string& path);
// Inflates a raw deflate stream (zip method 8) of exactly `expected_size` output bytes.
Bytes inflate_raw(const uint8_t* data, size_t size, size_t expected_size, const std::string& origin);
// Writes `size` bytes to `path` through a temporary file in the same directory and a rename,
// so that readers never see a partial file and a failure leaves nothing behind.
void write_file_atomic(const std::string& path, const void* data, size_t size);

// Little/big-endian loads from unaligned bytes.
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) {
  return static_cast<uint64_t>(load_le32(p)) | (static_cast<uint64_t>(load_le32(p + 4)) << 32);
}
inline uint32_t load_be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) |
         static_cast<uint32_t>(p[3]);
}

}  // namespace eq::data
