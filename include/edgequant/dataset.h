// Datasets for evaluation and calibration: images and labels as tensors, read from IDX
// (optionally gzip-compressed), NPY and NPZ files, and the Fashion-MNIST files installed by
// Debian's dataset-fashion-mnist.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "edgequant/tensor.h"

namespace eq {

struct Dataset {
  std::string name;
  Tensor images;                // f32 [N, C, H, W] (or [N, ...]), already normalised
  std::optional<Tensor> labels; // i64 [N]
  int64_t size() const { return images.rank() == 0 ? 0 : images.dim(0); }
  // Rows [begin, begin + count) of the images as a new tensor.
  Tensor batch(int64_t begin, int64_t count) const;
  std::vector<int64_t> labels_slice(int64_t begin, int64_t count) const;
};

// Fashion-MNIST normalisation used by the PyTorch fixtures.
inline constexpr float kFashionMean = 0.2860f;
inline constexpr float kFashionStd = 0.3530f;

// Reads an IDX file (.gz allowed) into a tensor of its stored dtype (u8 images, labels, ...).
Tensor read_idx(const std::string& path);
// Reads a .npy file (f32, f64 -> f32, u8, i8, i32, i64, little endian, C order).
Tensor read_npy(const std::string& path);
// Writes a .npy file (atomically).
void write_npy(const Tensor& t, const std::string& path);
// Reads all arrays of a .npz file (stored, not compressed, or deflated) by name.
std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path);

// "fashion-mnist:train" / "fashion-mnist:test": images scaled to [0,1] then normalised, shape
// [N,1,28,28], labels i64. The directory is $EDGEQUANT_FASHION_MNIST_DIR or the Debian package's.
Dataset load_fashion_mnist(const std::string& split);
// --data FILE --labels FILE: IDX, NPY or NPZ. u8 images are scaled to [0,1] and normalised with
// the Fashion-MNIST constants when `normalize` is set; float data is taken as is.
Dataset load_dataset_files(const std::string& data_path, const std::string& labels_path, bool normalize);
// Parses a --dataset spec ("fashion-mnist:test").
Dataset load_named_dataset(const std::string& spec);

}  // namespace eq
