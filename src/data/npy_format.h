// Private: the .npy format on byte buffers (shared by read_npy, write_npy and read_npz).
#pragma once
#include <cstdint>
#include <string>

#include "data/file_util.h"
#include "edgequant/tensor.h"

namespace eq::data {

// Parses a complete .npy image; `origin` names the file (or "archive.npz: entry") in errors.
Tensor parse_npy(const uint8_t* data, size_t size, const std::string& origin);
// Serialises a tensor as .npy (v1.0 header, or v2.0 when the header does not fit 64 KiB).
Bytes encode_npy(const Tensor& t);

}  // namespace eq::data
