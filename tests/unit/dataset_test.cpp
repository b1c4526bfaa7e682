// Datasets: IDX (plain and gzip), NPY, NPZ (stored and deflated) round trips, every malformed
// input turning into eq::Error (never a crash), and the installed Fashion-MNIST test set.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "edgequant/dataset.h"

namespace eq {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "eq_dataset_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (fs::path(dir_) / name).string(); }
  std::string write(const std::string& name, const Bytes& b) const {
    const std::string p = path(name);
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
  }
  std::string write_gz(const std::string& name, const Bytes& b) const {
    const std::string p = path(name);
    gzFile g = gzopen(p.c_str(), "wb");
    EXPECT_NE(g, nullptr);
    if (!b.empty()) {
      EXPECT_EQ(gzwrite(g, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
    }
    gzclose(g);
    return p;
  }
  static Bytes read(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(f), {});
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_;
};

// The message of the eq::Error that `f` throws ("" when it does not throw one).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_EQ_ERROR(stmt, needle)                                                      \
  do {                                                                                     \
    const std::string msg_ = error_of([&] { (void)(stmt); });                             \
    EXPECT_FALSE(msg_.empty()) << #stmt " did not throw eq::Error";                        \
    EXPECT_NE(msg_.find(needle), std::string::npos) << "message: " << msg_;                \
  } while (0)

// ---- builders -------------------------------------------------------------------------------

void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
void put_le16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void put_le32(Bytes& b, uint32_t v) {
  put_le16(b, v & 0xffff);
  put_le16(b, v >> 16);
}

Bytes idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& payload) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes npy_bytes(const std::string& header_dict, const Bytes& payload, int major = 1) {
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  std::string h = header_dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + h.size() + 1) % 64) h += ' ';
  h += '\n';
  if (major == 1) put_le16(b, static_cast<uint32_t>(h.size()));
  else put_le32(b, static_cast<uint32_t>(h.size()));
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

Bytes deflate_raw(const Bytes& in) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, in.size()) + 16);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct ZipEntry {
  std::string name;
  Bytes data;
  bool deflate = false;
};

// A minimal zip writer (what np.savez / np.savez_compressed produce, without zip64 extras).
Bytes zip_bytes(const std::vector<ZipEntry>& entries) {
  Bytes out, cd;
  for (const ZipEntry& e : entries) {
    const Bytes payload = e.deflate ? deflate_raw(e.data) : e.data;
    const uint32_t crc = static_cast<uint32_t>(crc32(0L, e.data.data(), static_cast<uInt>(e.data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint16_t method = e.deflate ? 8 : 0;
    put_le32(out, 0x04034b50);
    put_le16(out, 20);
    put_le16(out, 0);
    put_le16(out, method);
    put_le32(out, 0);  // time/date
    put_le32(out, crc);
    put_le32(out, static_cast<uint32_t>(payload.size()));
    put_le32(out, static_cast<uint32_t>(e.data.size()));
    put_le16(out, static_cast<uint32_t>(e.name.size()));
    put_le16(out, 0);
    out.insert(out.end(), e.name.begin(), e.name.end());
    out.insert(out.end(), payload.begin(), payload.end());
    put_le32(cd, 0x02014b50);
    put_le16(cd, 20);
    put_le16(cd, 20);
    put_le16(cd, 0);
    put_le16(cd, method);
    put_le32(cd, 0);
    put_le32(cd, crc);
    put_le32(cd, static_cast<uint32_t>(payload.size()));
    put_le32(cd, static_cast<uint32_t>(e.data.size()));
    put_le16(cd, static_cast<uint32_t>(e.name.size()));
    put_le16(cd, 0);
    put_le16(cd, 0);
    put_le16(cd, 0);
    put_le16(cd, 0);
    put_le32(cd, 0);
    put_le32(cd, offset);
    cd.insert(cd.end(), e.name.begin(), e.name.end());
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), cd.begin(), cd.end());
  put_le32(out, 0x06054b50);
  put_le16(out, 0);
  put_le16(out, 0);
  put_le16(out, static_cast<uint32_t>(entries.size()));
  put_le16(out, static_cast<uint32_t>(entries.size()));
  put_le32(out, static_cast<uint32_t>(cd.size()));
  put_le32(out, cd_offset);
  put_le16(out, 0);
  return out;
}

Tensor iota_f32(Shape s) {
  Tensor t(DType::f32, std::move(s));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = 0.25f * static_cast<float>(i) - 3.0f;
  return t;
}

// ---- NPY --------------------------------------------------------------------------------------

TEST_F(DatasetTest, NpyRoundTripAllDtypes) {
  std::vector<Tensor> cases = {
      iota_f32({2, 3, 4}),
      Tensor::from_vector<uint8_t>({5}, {0, 1, 127, 128, 255}),
      Tensor::from_vector<int8_t>({2, 2}, {-128, -1, 0, 127}),
      Tensor::from_vector<int16_t>({3}, {-32768, 7, 32767}),
      Tensor::from_vector<int32_t>({1, 3}, {-5, 0, 2147483647}),
      Tensor::from_vector<int64_t>({4}, {-1, 0, int64_t{1} << 40, 9}),
      [] {
        Tensor t(DType::boolean, {3});
        static_cast<uint8_t*>(t.raw())[0] = 1;
        static_cast<uint8_t*>(t.raw())[2] = 1;
        return t;
      }(),
      Tensor::scalar<float>(1.5f),
      Tensor(DType::f32, {0, 3}),
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string p = path("t" + std::to_string(i) + ".npy");
    write_npy(cases[i], p);
    const Tensor back = read_npy(p);
    EXPECT_TRUE(back.identical(cases[i])) << "case " << i << " " << dtype_name(cases[i].dtype()) << " "
                                          << shape_str(cases[i].shape()) << " -> " << dtype_name(back.dtype()) << " "
                                          << shape_str(back.shape());
  }
}

TEST_F(DatasetTest, NpyHeaderIsNumpyCompatible) {
  write_npy(iota_f32({16, 1, 28, 28}), path("a.npy"));
  const Bytes b = read(path("a.npy"));
  ASSERT_GT(b.size(), 10u);
  const size_t hlen = b[8] | (b[9] << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const std::string header(b.begin() + 10, b.begin() + 10 + static_cast<long>(hlen));
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (16, 1, 28, 28)"), std::string::npos) << header;
  EXPECT_EQ(header.back(), '\n');
  write_npy(Tensor::from_vector<int64_t>({3}, {1, 2, 3}), path("b.npy"));
  const Bytes c = read(path("b.npy"));
  EXPECT_NE(std::string(c.begin(), c.end()).find("(3,)"), std::string::npos);
}

TEST_F(DatasetTest, NpyReadsVersion2AndFloat64AndDoubleQuotes) {
  Bytes payload;
  for (double d : {1.5, -2.25, 1e-3}) {
    uint8_t raw[8];
    std::memcpy(raw, &d, 8);
    payload.insert(payload.end(), raw, raw + 8);
  }
  const Tensor t = read_npy(write("f8.npy", npy_bytes("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3,)}", payload, 2)));
  ASSERT_EQ(t.dtype(), DType::f32);
  ASSERT_EQ(t.shape(), (Shape{3}));
  EXPECT_FLOAT_EQ(t.data<float>()[0], 1.5f);
  EXPECT_FLOAT_EQ(t.data<float>()[1], -2.25f);
  EXPECT_FLOAT_EQ(t.data<float>()[2], 1e-3f);
  // Python 2 style longs and a Fortran-order flag on a 1-D array (same layout) are fine.
  const Tensor u = read_npy(write("py2.npy", npy_bytes("{'descr': '|u1', 'fortran_order': True, 'shape': (2L,), }", {7, 9})));
  EXPECT_EQ(u.to_int64_vector(), (std::vector<int64_t>{7, 9}));
}

TEST_F(DatasetTest, NpyMalformedInputsAreErrors) {
  const Bytes f32x2(8, 0);
  EXPECT_EQ_ERROR(read_npy(path("missing.npy")), "missing.npy: cannot open");
  EXPECT_EQ_ERROR(read_npy(write("empty.npy", {})), "not a .npy file");
  EXPECT_EQ_ERROR(read_npy(write("magic.npy", {'N', 'U', 'M', 'P', 'Y', 'X', 1, 0, 0, 0, 0})), "magic");
  EXPECT_EQ_ERROR(read_npy(write("ver.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32x2, 7))),
                  "version");
  Bytes trunc = npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32x2);
  trunc.resize(30);
  EXPECT_EQ_ERROR(read_npy(write("trunc_header.npy", trunc)), "truncated .npy header");
  EXPECT_EQ_ERROR(read_npy(write("dtype.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", f32x2))),
                  "unsupported .npy dtype '<c8'");
  EXPECT_EQ_ERROR(read_npy(write("be.npy", npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", f32x2))),
                  "big-endian");
  EXPECT_EQ_ERROR(read_npy(write("struct.npy", npy_bytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f32x2))),
                  "structured");
  EXPECT_EQ_ERROR(read_npy(write("fortran.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", Bytes(16)))),
                  "Fortran");
  EXPECT_EQ_ERROR(read_npy(write("short.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f32x2))),
                  "size mismatch");
  EXPECT_EQ_ERROR(read_npy(write("long.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", f32x2))),
                  "size mismatch");
  EXPECT_EQ_ERROR(read_npy(write("neg.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", f32x2))),
                  "bad dimension");
  EXPECT_EQ_ERROR(read_npy(write("garbage.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ", f32x2))),
                  "malformed .npy header");
  EXPECT_EQ_ERROR(read_npy(write("nokeys.npy", npy_bytes("{'descr': '<f4'}", f32x2))), "needs 'descr'");
  EXPECT_EQ_ERROR(read_npy(write("huge.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", f32x2))),
                  "too large");
}

TEST_F(DatasetTest, WriteNpyIsAtomic) {
  write_npy(iota_f32({4}), path("out.npy"));
  EXPECT_EQ(listing(), (std::vector<std::string>{"out.npy"}));
  // A directory that does not exist: an error naming the file, nothing created.
  EXPECT_EQ_ERROR(write_npy(iota_f32({4}), path("nope/out.npy")), "nope/out.npy");
  // Overwriting replaces the file as a whole.
  write_npy(iota_f32({2, 2}), path("out.npy"));
  EXPECT_EQ(read_npy(path("out.npy")).shape(), (Shape{2, 2}));
  // A packed dtype cannot be written: nothing is left behind.
  EXPECT_EQ_ERROR(write_npy(Tensor(DType::i4, {4}), path("packed.npy")), "no .npy equivalent");
  EXPECT_EQ(listing(), (std::vector<std::string>{"out.npy"}));
}

// ---- IDX --------------------------------------------------------------------------------------

TEST_F(DatasetTest, IdxPlainAndGzip) {
  Bytes pixels(2 * 3 * 4);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 10);
  const Bytes file = idx_bytes(0x08, {2, 3, 4}, pixels);
  for (const std::string& p : {write("img-idx3-ubyte", file), write_gz("img-idx3-ubyte.gz", file)}) {
    const Tensor t = read_idx(p);
    ASSERT_EQ(t.dtype(), DType::u8) << p;
    ASSERT_EQ(t.shape(), (Shape{2, 3, 4})) << p;
    EXPECT_EQ(std::memcmp(t.raw(), pixels.data(), pixels.size()), 0) << p;
  }
}

TEST_F(DatasetTest, IdxBigEndianTypes) {
  Bytes payload;
  put_be32(payload, static_cast<uint32_t>(-7));
  put_be32(payload, 123456);
  const Tensor i32 = read_idx(write("i32.idx", idx_bytes(0x0C, {2}, payload)));
  EXPECT_EQ(i32.dtype(), DType::i32);
  EXPECT_EQ(i32.to_int64_vector(), (std::vector<int64_t>{-7, 123456}));

  Bytes fp;
  uint32_t bits;
  const float f = -1.25f;
  std::memcpy(&bits, &f, 4);
  put_be32(fp, bits);
  EXPECT_FLOAT_EQ(read_idx(write("f32.idx", idx_bytes(0x0D, {1}, fp))).data<float>()[0], -1.25f);

  Bytes dp;
  uint64_t dbits;
  const double d = 3.5;
  std::memcpy(&dbits, &d, 8);
  put_be32(dp, static_cast<uint32_t>(dbits >> 32));
  put_be32(dp, static_cast<uint32_t>(dbits));
  const Tensor f64 = read_idx(write("f64.idx", idx_bytes(0x0E, {1, 1}, dp)));
  EXPECT_EQ(f64.dtype(), DType::f32);
  EXPECT_FLOAT_EQ(f64.data<float>()[0], 3.5f);

  const Tensor i16 = read_idx(write("i16.idx", idx_bytes(0x0B, {1}, {0xFF, 0xFE})));
  EXPECT_EQ(i16.to_int64_vector(), (std::vector<int64_t>{-2}));
}

TEST_F(DatasetTest, IdxMalformedInputsAreErrors) {
  const Bytes good = idx_bytes(0x08, {2, 3}, Bytes(6, 1));
  EXPECT_EQ_ERROR(read_idx(path("absent.gz")), "absent.gz: cannot open");
  EXPECT_EQ_ERROR(read_idx(write("tiny", {0, 0})), "not an IDX file");
  EXPECT_EQ_ERROR(read_idx(write("magic", {1, 2, 8, 1, 0, 0, 0, 1, 5})), "bad magic");
  EXPECT_EQ_ERROR(read_idx(write("type", idx_bytes(0x0A, {1}, {1}))), "unknown element type 0x0A");
  Bytes hdr = good;
  hdr.resize(7);
  EXPECT_EQ_ERROR(read_idx(write("hdr", hdr)), "truncated IDX header");
  Bytes trunc = good;
  trunc.pop_back();
  EXPECT_EQ_ERROR(read_idx(write("trunc", trunc)), "size mismatch");
  Bytes extra = good;
  extra.push_back(0);
  EXPECT_EQ_ERROR(read_idx(write("extra", extra)), "size mismatch");
  EXPECT_EQ_ERROR(read_idx(write("huge", idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}))), "too large");
  // Gzip that stops half way, and gzip with corrupted deflate data.
  write_gz("full.gz", idx_bytes(0x08, {1000}, Bytes(1000, 42)));
  Bytes gz = read(path("full.gz"));
  Bytes half(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2));
  EXPECT_EQ_ERROR(read_idx(write("half.gz", half)), "truncated gzip");
  Bytes corrupt = gz;
  for (size_t i = 10; i < corrupt.size() - 8; ++i) corrupt[i] ^= 0xA5;
  EXPECT_FALSE(error_of([&] { read_idx(write("corrupt.gz", corrupt)); }).empty());
}

// ---- NPZ --------------------------------------------------------------------------------------

Bytes npy_of(const Tensor& t, const std::string& scratch) {
  write_npy(t, scratch);
  std::ifstream f(scratch, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

TEST_F(DatasetTest, NpzStoredAndDeflated) {
  const Tensor a = iota_f32({3, 5});
  const Tensor b = Tensor::from_vector<int64_t>({3}, {4, 5, 6});
  const Bytes na = npy_of(a, path("scratch_a.npy")), nb = npy_of(b, path("scratch_b.npy"));
  for (bool deflate : {false, true}) {
    const std::string p = write(deflate ? "d.npz" : "s.npz", zip_bytes({{"images.npy", na, deflate}, {"labels.npy", nb, deflate}}));
    const auto arrays = read_npz(p);
    ASSERT_EQ(arrays.size(), 2u);
    EXPECT_EQ(arrays[0].first, "images");
    EXPECT_EQ(arrays[1].first, "labels");
    EXPECT_TRUE(arrays[0].second.identical(a));
    EXPECT_TRUE(arrays[1].second.identical(b));
  }
}

TEST_F(DatasetTest, NpzMalformedInputsAreErrors) {
  const Bytes na = npy_of(iota_f32({64}), path("scratch.npy"));
  const Bytes zip = zip_bytes({{"x.npy", na, true}});
  EXPECT_EQ_ERROR(read_npz(write("notzip.npz", {'h', 'e', 'l', 'l', 'o'})), "not an .npz");
  Bytes trunc(zip.begin(), zip.begin() + static_cast<long>(zip.size() - 30));
  EXPECT_EQ_ERROR(read_npz(write("trunc.npz", trunc)), "malformed .npz");
  Bytes crc = zip_bytes({{"x.npy", na, false}});
  crc[30 + 5 + 200] ^= 1;  // a byte of the stored payload
  EXPECT_EQ_ERROR(read_npz(write("crc.npz", crc)), "CRC mismatch");
  Bytes method = zip;
  method[8] = 12;  // bzip2 in the local header...
  const size_t cd = zip.size() - 22 - (46 + 5);
  method[cd + 10] = 12;  // ...and in the central directory
  EXPECT_EQ_ERROR(read_npz(write("method.npz", method)), "compression method 12");
  const Bytes bad_npy = zip_bytes({{"x.npy", Bytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, false}});
  EXPECT_EQ_ERROR(read_npz(write("badnpy.npz", bad_npy)), "entry 'x.npy'");
}

// Every truncation and many random corruptions of valid files: eq::Error or a valid result,
// never a crash (the suite runs under ASan/UBSan in the sanitizer build).
TEST_F(DatasetTest, CorruptedFilesNeverCrash) {
  const Bytes npy = npy_of(iota_f32({4, 4}), path("s.npy"));
  const Bytes zip = zip_bytes({{"a.npy", npy, true}, {"b.npy", npy, false}});
  const Bytes idx = idx_bytes(0x0C, {2, 3}, Bytes(24, 3));
  write_gz("g.gz", idx);
  const Bytes gz = read(path("g.gz"));
  std::mt19937 rng(1234);
  auto probe = [&](const Bytes& b, int kind) {
    const std::string p = write("probe", b);
    try {
      if (kind == 0) read_npy(p);
      else if (kind == 1) read_npz(p);
      else read_idx(p);
    } catch (const Error&) {
    }
  };
  int kind = 0;
  for (const Bytes* src : {&npy, &zip, &idx, &gz}) {
    const int k = kind == 3 ? 2 : kind;
    for (size_t n = 0; n < src->size(); ++n) probe(Bytes(src->begin(), src->begin() + static_cast<long>(n)), k);
    for (int trial = 0; trial < 300; ++trial) {
      Bytes b = *src;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
      probe(b, k);
    }
    ++kind;
  }
}

// ---- datasets ---------------------------------------------------------------------------------

TEST_F(DatasetTest, LoadDatasetFilesIdxNormalisesAndAddsChannel) {
  Bytes pixels = {0, 255, 51, 102, 0, 0, 0, 0};
  const std::string img = write_gz("imgs-idx3-ubyte.gz", idx_bytes(0x08, {2, 2, 2}, pixels));
  const std::string lbl = write("lbls-idx1-ubyte", idx_bytes(0x08, {2}, {3, 7}));
  const Dataset ds = load_dataset_files(img, lbl, true);
  ASSERT_EQ(ds.images.dtype(), DType::f32);
  ASSERT_EQ(ds.images.shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ(ds.size(), 2);
  EXPECT_NEAR(ds.images.data<float>()[0], (0.0f - kFashionMean) / kFashionStd, 1e-6);
  EXPECT_NEAR(ds.images.data<float>()[1], (1.0f - kFashionMean) / kFashionStd, 1e-6);
  ASSERT_TRUE(ds.labels.has_value());
  EXPECT_EQ(ds.labels->dtype(), DType::i64);
  EXPECT_EQ(ds.labels_slice(0, 2), (std::vector<int64_t>{3, 7}));
  const Dataset raw = load_dataset_files(img, "", false);
  EXPECT_FALSE(raw.labels.has_value());
  EXPECT_NEAR(raw.images.data<float>()[2], 0.2f, 1e-6);

  const Tensor b = ds.batch(1, 1);
  EXPECT_EQ(b.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(b.data<float>()[0], ds.images.data<float>()[4]);
  EXPECT_EQ_ERROR(ds.batch(1, 2), "out of range");
  EXPECT_EQ_ERROR(ds.labels_slice(2, 1), "out of range");
}

TEST_F(DatasetTest, LoadDatasetFilesNpyNpzAndSniffing) {
  const Tensor x = iota_f32({3, 1, 2, 2});
  write_npy(x, path("x.npy"));
  write_npy(Tensor::from_vector<int32_t>({3}, {0, 1, 2}), path("y.npy"));
  const Dataset a = load_dataset_files(path("x.npy"), path("y.npy"), true);
  EXPECT_TRUE(a.images.identical(x));  // float data is taken as is
  EXPECT_EQ(a.labels_slice(0, 3), (std::vector<int64_t>{0, 1, 2}));

  // An .npz with images and labels side by side, labels found without --labels.
  const Bytes zip = zip_bytes({{"images.npy", read(path("x.npy")), true}, {"labels.npy", read(path("y.npy")), false}});
  const Dataset b = load_dataset_files(write("both.npz", zip), "", true);
  EXPECT_TRUE(b.images.identical(x));
  ASSERT_TRUE(b.labels.has_value());
  EXPECT_EQ(b.labels_slice(1, 2), (std::vector<int64_t>{1, 2}));

  // No telling extension: the magic decides.
  write("noext_data", read(path("x.npy")));
  write("noext_labels", idx_bytes(0x08, {3}, {5, 6, 7}));
  const Dataset c = load_dataset_files(path("noext_data"), path("noext_labels"), true);
  EXPECT_EQ(c.labels_slice(0, 3), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ_ERROR(load_dataset_files(write("what", {'x', 'y', 'z'}), "", true), "unknown data format");
}

TEST_F(DatasetTest, LoadDatasetFilesErrors) {
  write_npy(iota_f32({3, 4}), path("x.npy"));
  write_npy(Tensor::from_vector<int64_t>({2}, {0, 1}), path("y2.npy"));
  EXPECT_EQ_ERROR(load_dataset_files(path("x.npy"), path("y2.npy"), true), "label count does not match");
  write_npy(Tensor::from_vector<float>({3}, {0.5f, 1, 2}), path("yf.npy"));
  EXPECT_EQ_ERROR(load_dataset_files(path("x.npy"), path("yf.npy"), true), "labels must be integers");
  write_npy(Tensor(DType::i64, {3, 2}), path("y2d.npy"));
  EXPECT_EQ_ERROR(load_dataset_files(path("x.npy"), path("y2d.npy"), true), "labels must be a vector");
  EXPECT_EQ_ERROR(load_dataset_files(path("nothere.npy"), "", true), "nothere.npy: cannot open");
}

TEST(NamedDataset, UnknownNamesListTheKnownOnes) {
  EXPECT_EQ_ERROR(load_named_dataset("cifar10:test"), "fashion-mnist:test");
  EXPECT_EQ_ERROR(load_named_dataset("fashion-mnist:validation"), "known datasets");
}

TEST(FashionMnist, MissingDirectorySaysHowToInstall) {
  const char* old = std::getenv("EDGEQUANT_FASHION_MNIST_DIR");
  const std::string saved = old ? old : "";
  setenv("EDGEQUANT_FASHION_MNIST_DIR", "/nonexistent/eq-fashion", 1);
  const std::string msg = error_of([] { load_fashion_mnist("test"); });
  if (old) setenv("EDGEQUANT_FASHION_MNIST_DIR", saved.c_str(), 1);
  else unsetenv("EDGEQUANT_FASHION_MNIST_DIR");
  EXPECT_NE(msg.find("apt-get install dataset-fashion-mnist"), std::string::npos) << msg;
  EXPECT_NE(msg.find("EDGEQUANT_FASHION_MNIST_DIR"), std::string::npos) << msg;
  EXPECT_EQ_ERROR(load_fashion_mnist("validation"), "unknown split");
}

TEST(FashionMnist, RealTestSetLoads) {
  const char* env = std::getenv("EDGEQUANT_FASHION_MNIST_DIR");
  const std::string dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/t10k-images-idx3-ubyte.gz") && !fs::exists(dir + "/t10k-images-idx3-ubyte"))
    GTEST_SKIP() << "Fashion-MNIST not installed in " << dir << " (apt-get install dataset-fashion-mnist)";
  const Dataset ds = load_named_dataset("fashion-mnist:test");
  EXPECT_EQ(ds.name, "fashion-mnist:test");
  ASSERT_EQ(ds.images.shape(), (Shape{10000, 1, 28, 28}));
  ASSERT_TRUE(ds.labels.has_value());
  ASSERT_EQ(ds.labels->shape(), (Shape{10000}));
  EXPECT_EQ(ds.labels_slice(0, 5), (std::vector<int64_t>{9, 2, 1, 1, 6}));  // ankle boot, pullover, trouser, ...
  // Pixel (14,14) of the first image is 110: (110/255 - 0.2860) / 0.3530.
  EXPECT_NEAR(ds.images.data<float>()[14 * 28 + 14], 0.41182023f, 1e-5);
  const float* p = ds.images.data<float>();
  float lo = p[0], hi = p[0];
  for (int64_t i = 0; i < ds.images.numel(); ++i) lo = std::min(lo, p[i]), hi = std::max(hi, p[i]);
  EXPECT_NEAR(lo, -kFashionMean / kFashionStd, 1e-5);
  EXPECT_NEAR(hi, (1 - kFashionMean) / kFashionStd, 1e-5);
}

}  // namespace
}  // namespace eq
