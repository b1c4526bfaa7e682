#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "data/file_util.h"
#include "edgequant/dataset.h"

namespace eq {
namespace {

constexpr const char* kFashionDefaultDir = "/usr/share/datasets/fashion-mnist";
constexpr const char* kKnownDatasets = "fashion-mnist:train, fashion-mnist:test";

bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class Format { idx, npy, npz };

Format detect_format(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string l = lower(slash == std::string::npos ? path : path.substr(slash + 1));
  if (ends_with(l, ".npy")) return Format::npy;
  if (ends_with(l, ".npz")) return Format::npz;
  if (ends_with(l, ".gz") || ends_with(l, "-ubyte") || ends_with(l, ".idx") || l.find("idx") != std::string::npos)
    return Format::idx;
  // No telling extension: sniff the magic.
  const data::Bytes head = [&] {
    data::Bytes all = data::read_file(path);
    all.resize(std::min<size_t>(all.size(), 8));
    return all;
  }();
  if (head.size() >= 6 && head[0] == 0x93 && std::memcmp(head.data() + 1, "NUMPY", 5) == 0) return Format::npy;
  if (head.size() >= 4 && head[0] == 'P' && head[1] == 'K') return Format::npz;
  if (head.size() >= 2 && ((head[0] == 0x1f && head[1] == 0x8b) || (head[0] == 0 && head[1] == 0))) return Format::idx;
  throw Error(path + ": unknown data format (expected IDX, optionally gzip'd, .npy or .npz)");
}

// Picks the array of an .npz: the only one, or one with a conventional name. Returns its index.
size_t pick_npz_index(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
                const std::vector<std::string>& preferred, const std::string& role) {
  if (arrays.size() == 1) return 0;
  for (const std::string& want : preferred)
    for (size_t i = 0; i < arrays.size(); ++i)
      if (arrays[i].first == want) return i;
  std::string names;
  for (const auto& a : arrays) names += (names.empty() ? "" : ", ") + a.first;
  throw Error(path + ": cannot tell which array holds the " + role + " (arrays: " + (names.empty() ? "none" : names) +
              "; name it one of: " + [&] {
                std::string s;
                for (const auto& p : preferred) s += (s.empty() ? "" : ", ") + p;
                return s;
              }() + ")");
}

Tensor pick_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays,
                const std::vector<std::string>& preferred, const std::string& role) {
  return arrays[pick_npz_index(path, arrays, preferred, role)].second;
}

const std::vector<std::string> kImageNames = {"images", "x", "data", "inputs", "input", "arr_0"};
const std::vector<std::string> kLabelNames = {"labels", "y", "targets", "target", "arr_1"};

Tensor read_any(const std::string& path, const std::vector<std::string>& preferred, const std::string& role) {
  switch (detect_format(path)) {
    case Format::npy: return read_npy(path);
    case Format::npz: return pick_npz(path, read_npz(path), preferred, role);
    case Format::idx: break;
  }
  return read_idx(path);
}

// u8 pixels -> f32, scaled to [0,1] and optionally normalised; [N,H,W] -> [N,1,H,W].
Tensor images_to_f32(const Tensor& raw, bool normalize, const std::string& origin) {
  check(raw.rank() >= 1, origin + ": images must have a leading sample dimension, got a scalar");
  Shape shape = raw.shape();
  if (raw.dtype() == DType::u8) {
    if (shape.size() == 3) shape.insert(shape.begin() + 1, 1);
    Tensor out(DType::f32, shape);
    const uint8_t* p = raw.data<uint8_t>();
    float* o = out.data<float>();
    const int64_t n = raw.numel();
    for (int64_t i = 0; i < n; ++i) {
      float v = static_cast<float>(p[i]) / 255.0f;
      if (normalize) v = (v - kFashionMean) / kFashionStd;
      o[i] = v;
    }
    return out;
  }
  if (raw.dtype() == DType::f32) return raw;
  if (raw.dtype() == DType::boolean || raw.dtype() == DType::i4 || raw.dtype() == DType::u4 || raw.dtype() == DType::f16)
    throw Error(origin + ": images of dtype " + std::string(dtype_name(raw.dtype())) + " are not supported (use f32 or u8)");
  // Other integer types: values as they are.
  const std::vector<double> v = raw.to_double_vector();
  Tensor out(DType::f32, shape);
  float* o = out.data<float>();
  for (size_t i = 0; i < v.size(); ++i) o[i] = static_cast<float>(v[i]);
  return out;
}

Tensor labels_to_i64(const Tensor& raw, const std::string& origin) {
  check(raw.rank() == 1 || (raw.rank() == 2 && raw.dim(1) == 1),
        origin + ": labels must be a vector [N], got shape " + shape_str(raw.shape()));
  const int64_t n = raw.dim(0);
  Tensor out(DType::i64, {n});
  int64_t* o = out.data<int64_t>();
  if (dtype_is_integer(raw.dtype()) || raw.dtype() == DType::boolean) {
    const std::vector<int64_t> v = raw.to_int64_vector();
    std::copy(v.begin(), v.end(), o);
  } else if (raw.dtype() == DType::f32) {
    const float* p = raw.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      check(p[i] == static_cast<float>(static_cast<int64_t>(p[i])),
            origin + ": labels must be integers, element " + std::to_string(i) + " is " + std::to_string(p[i]));
      o[i] = static_cast<int64_t>(p[i]);
    }
  } else {
    throw Error(origin + ": labels of dtype " + std::string(dtype_name(raw.dtype())) + " are not supported");
  }
  return out;
}

}  // namespace

Tensor Dataset::batch(int64_t begin, int64_t count) const {
  const int64_t n = size();
  check(begin >= 0 && count >= 0 && begin <= n && count <= n - begin,
        "dataset '" + name + "': rows [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") out of range (size " +
            std::to_string(n) + ")");
  Shape s = images.shape();
  s[0] = count;
  Tensor out(images.dtype(), s);
  const size_t row = n == 0 ? 0 : images.nbytes() / static_cast<size_t>(n);
  if (count)
    std::memcpy(out.raw(), static_cast<const char*>(images.raw()) + static_cast<size_t>(begin) * row, static_cast<size_t>(count) * row);
  return out;
}

std::vector<int64_t> Dataset::labels_slice(int64_t begin, int64_t count) const {
  check(labels.has_value(), "dataset '" + name + "' has no labels");
  const int64_t n = labels->numel();
  check(begin >= 0 && count >= 0 && begin <= n && count <= n - begin,
        "dataset '" + name + "': labels [" + std::to_string(begin) + ", " + std::to_string(begin + count) + ") out of range (size " +
            std::to_string(n) + ")");
  const int64_t* p = labels->data<int64_t>();
  return std::vector<int64_t>(p + begin, p + begin + count);
}

Dataset load_fashion_mnist(const std::string& split) {
  std::string prefix;
  if (split == "train") prefix = "train";
  else if (split == "test" || split == "t10k") prefix = "t10k";
  else throw Error("fashion-mnist: unknown split '" + split + "' (expected train or test)");
  const char* env = std::getenv("EDGEQUANT_FASHION_MNIST_DIR");
  const bool from_env = env && *env;
  const std::string dir = from_env ? env : kFashionDefaultDir;
  auto locate = [&](const std::string& base) {
    for (const std::string& cand : {dir + "/" + base + ".gz", dir + "/" + base})
      if (file_exists(cand)) return cand;
    throw Error("Fashion-MNIST not found: " + dir + "/" + base + ".gz does not exist" +
                (from_env ? " (EDGEQUANT_FASHION_MNIST_DIR is set to " + dir + ")" : "") +
                "; install it with `apt-get install dataset-fashion-mnist` or set EDGEQUANT_FASHION_MNIST_DIR to a "
                "directory holding the IDX files");
  };
  const std::string img_path = locate(prefix + "-images-idx3-ubyte");
  const std::string lbl_path = locate(prefix + "-labels-idx1-ubyte");
  const Tensor raw = read_idx(img_path);
  check(raw.dtype() == DType::u8 && raw.rank() == 3 && raw.dim(1) == 28 && raw.dim(2) == 28,
        img_path + ": expected u8 images [N,28,28], got " + std::string(dtype_name(raw.dtype())) + " " + shape_str(raw.shape()));
  const Tensor raw_labels = read_idx(lbl_path);
  Dataset ds;
  ds.name = "fashion-mnist:" + (prefix == "t10k" ? std::string("test") : std::string("train"));
  ds.images = images_to_f32(raw, true, img_path);
  ds.labels = labels_to_i64(raw_labels, lbl_path);
  check(ds.labels->dim(0) == ds.images.dim(0), lbl_path + ": " + std::to_string(ds.labels->dim(0)) + " labels for " +
                                                   std::to_string(ds.images.dim(0)) + " images in " + img_path);
  return ds;
}

Dataset load_dataset_files(const std::string& data_path, const std::string& labels_path, bool normalize) {
  Dataset ds;
  ds.name = data_path;
  const bool is_npz = detect_format(data_path) == Format::npz;
  std::vector<std::pair<std::string, Tensor>> arrays;
  Tensor raw;
  std::string image_array;
  if (is_npz) {
    arrays = read_npz(data_path);
    const size_t i = pick_npz_index(data_path, arrays, kImageNames, "images");
    raw = arrays[i].second;
    image_array = arrays[i].first;
  } else {
    raw = read_any(data_path, kImageNames, "images");
  }
  ds.images = images_to_f32(raw, normalize, data_path);
  if (!labels_path.empty()) {
    ds.labels = labels_to_i64(read_any(labels_path, kLabelNames, "labels"), labels_path);
  } else if (is_npz) {
    // An .npz may carry its labels next to the images.
    for (const std::string& want : kLabelNames)
      for (const auto& [name, t] : arrays)
        if (!ds.labels && name == want && name != image_array) ds.labels = labels_to_i64(t, data_path + ": array '" + name + "'");
  }
  if (ds.labels)
    check(ds.labels->dim(0) == ds.images.dim(0),
          "label count does not match the data: " + std::to_string(ds.labels->dim(0)) + " labels in " +
              (labels_path.empty() ? data_path : labels_path) + ", " + std::to_string(ds.images.dim(0)) + " samples in " + data_path);
  return ds;
}

Dataset load_named_dataset(const std::string& spec) {
  const std::string l = lower(spec);
  const size_t colon = l.find(':');
  const std::string name = l.substr(0, colon);
  const std::string split = colon == std::string::npos ? "test" : l.substr(colon + 1);
  if (name == "fashion-mnist" || name == "fashion_mnist" || name == "fashionmnist") {
    if (split != "train" && split != "test")
      throw Error("unknown dataset '" + spec + "' (known datasets: " + kKnownDatasets + ")");
    return load_fashion_mnist(split);
  }
  throw Error("unknown dataset '" + spec + "' (known datasets: " + kKnownDatasets + ")");
}

}  // namespace eq
