#include <zlib.h>

#include <algorithm>
#include <set>

#include "data/file_util.h"
#include "data/npy_format.h"
#include "edgequant/dataset.h"

namespace eq {
namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kEocd64Sig = 0x06064b50;
constexpr uint32_t kEocd64LocSig = 0x07064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;

}  // namespace

std::vector<std::pair<std::string, Tensor>> read_npz(const std::string& path) {
  const data::Bytes b = data::read_file(path);
  const size_t n = b.size();
  auto bad = [&](const std::string& what) { return Error(path + ": malformed .npz (zip) archive: " + what); };
  if (n >= 4 && data::load_le32(b.data()) != kLocalSig && data::load_le32(b.data()) != kEocdSig)
    throw Error(path + ": not an .npz file (no zip signature)");
  if (n < 22) throw bad("too short for a zip archive");

  // End of central directory: the last 22 bytes plus up to 64 KiB of comment.
  size_t eocd = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 22 + 65535;) {
    if (data::load_le32(b.data() + i) == kEocdSig) {
      eocd = i;
      break;
    }
  }
  if (eocd == std::string::npos) throw bad("no end-of-central-directory record (truncated?)");
  uint64_t entries = data::load_le16(b.data() + eocd + 10);
  uint64_t cd_size = data::load_le32(b.data() + eocd + 12);
  uint64_t cd_offset = data::load_le32(b.data() + eocd + 16);
  if ((entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) && eocd >= 20 &&
      data::load_le32(b.data() + eocd - 20) == kEocd64LocSig) {
    const uint64_t rec = data::load_le64(b.data() + eocd - 20 + 8);
    if (rec > n || n - rec < 56 || data::load_le32(b.data() + rec) != kEocd64Sig) throw bad("bad zip64 end record");
    entries = data::load_le64(b.data() + rec + 32);
    cd_size = data::load_le64(b.data() + rec + 40);
    cd_offset = data::load_le64(b.data() + rec + 48);
  }
  if (cd_offset > n || cd_size > n - cd_offset) throw bad("central directory lies outside the file (truncated?)");

  std::vector<std::pair<std::string, Tensor>> out;
  std::set<std::string> seen;
  size_t pos = static_cast<size_t>(cd_offset);
  const size_t cd_end = static_cast<size_t>(cd_offset + cd_size);
  for (uint64_t e = 0; e < entries; ++e) {
    if (pos > cd_end || cd_end - pos < 46 || data::load_le32(b.data() + pos) != kCentralSig)
      throw bad("bad central directory entry " + std::to_string(e));
    const uint8_t* h = b.data() + pos;
    const uint16_t flags = data::load_le16(h + 8);
    const uint16_t method = data::load_le16(h + 10);
    const uint32_t crc = data::load_le32(h + 16);
    uint64_t csize = data::load_le32(h + 20);
    uint64_t usize = data::load_le32(h + 24);
    const size_t name_len = data::load_le16(h + 28), extra_len = data::load_le16(h + 30), comment_len = data::load_le16(h + 32);
    uint64_t local = data::load_le32(h + 42);
    if (cd_end - pos - 46 < name_len + extra_len + comment_len) throw bad("central directory entry runs past its end");
    std::string name(reinterpret_cast<const char*>(h + 46), name_len);
    // Zip64 extended information: 64-bit values for the fields saturated above, in this order.
    const uint8_t* x = h + 46 + name_len;
    for (size_t k = 0; k + 4 <= extra_len;) {
      const uint16_t id = data::load_le16(x + k), len = data::load_le16(x + k + 2);
      if (k + 4 + len > extra_len) break;
      if (id == 0x0001) {
        size_t q = k + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xFFFFFFFF) return;
          if (q + 8 > k + 4 + len) throw bad("short zip64 field for '" + name + "'");
          field = data::load_le64(x + q);
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      k += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;

    const std::string origin = path + ": entry '" + name + "'";
    if (flags & 1) throw Error(origin + ": encrypted zip entries are not supported");
    if (local > n || n - local < 30 || data::load_le32(b.data() + local) != kLocalSig)
      throw bad("bad local header for '" + name + "'");
    const size_t data_start = static_cast<size_t>(local) + 30 + data::load_le16(b.data() + local + 26) +
                              data::load_le16(b.data() + local + 28);
    if (data_start > n || csize > n - data_start) throw bad("data of '" + name + "' runs past the end of the file (truncated?)");
    const uint8_t* payload = b.data() + data_start;
    data::Bytes inflated;
    const uint8_t* npy = payload;
    size_t npy_size = static_cast<size_t>(csize);
    if (method == 8) {
      inflated = data::inflate_raw(payload, static_cast<size_t>(csize), static_cast<size_t>(usize), origin);
      npy = inflated.data();
      npy_size = inflated.size();
    } else if (method == 0) {
      if (csize != usize) throw bad("stored entry '" + name + "' has different compressed and uncompressed sizes");
    } else {
      throw Error(origin + ": unsupported zip compression method " + std::to_string(method) + " (only stored and deflate)");
    }
    uLong c = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < npy_size;) {
      const size_t chunk = std::min<size_t>(npy_size - off, 1u << 30);
      c = crc32(c, npy + off, static_cast<uInt>(chunk));
      off += chunk;
    }
    if (static_cast<uint32_t>(c) != crc) throw Error(origin + ": CRC mismatch (corrupt archive)");
    if (!name.empty() && name.back() == '/') continue;  // directory entry
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (!seen.insert(key).second) throw bad("duplicate entry '" + key + "'");
    out.emplace_back(key, data::parse_npy(npy, npy_size, origin));
  }
  return out;
}

}  // namespace eq
