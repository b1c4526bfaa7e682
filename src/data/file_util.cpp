#include "data/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "edgequant/error.h"

namespace eq::data {
namespace {

// Decompressed data beyond this is refused (a corrupt or hostile stream must not eat all memory).
constexpr uint64_t kMaxDecompressed = uint64_t{4} << 30;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

Bytes read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open (" + errno_text() + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string e = errno_text();
    ::close(fd);
    throw Error(path + ": cannot stat (" + e + ")");
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": is a directory, not a file");
  }
  Bytes out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  uint8_t buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string e = errno_text();
      ::close(fd);
      throw Error(path + ": read error (" + e + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  return out;
}

bool is_gzip(const Bytes& b) { return b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

Bytes gunzip(const Bytes& in, const std::string& origin) {
  if (in.size() > std::numeric_limits<uInt>::max()) throw Error(origin + ": gzip file too large (over 4 GiB)");
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw Error(origin + ": cannot initialise zlib");
  Bytes out;
  // The gzip trailer holds the uncompressed size mod 2^32: a good first guess.
  if (in.size() >= 18) {
    const uint64_t hint = load_le32(in.data() + in.size() - 4);
    out.reserve(static_cast<size_t>(std::min<uint64_t>(hint, uint64_t{1} << 30)));
  }
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  uint8_t buf[1 << 16];
  for (;;) {
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof buf - zs.avail_out;
    if (out.size() + produced > kMaxDecompressed) {
      inflateEnd(&zs);
      throw Error(origin + ": gzip data decompresses to more than 4 GiB");
    }
    out.insert(out.end(), buf, buf + produced);
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (concatenated .gz files); other trailing bytes are ignored.
      if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        Bytef* next = zs.next_in;
        const uInt avail = zs.avail_in;
        inflateReset(&zs);
        zs.next_in = next;
        zs.avail_in = avail;
        continue;
      }
      break;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in != 0) continue;
    std::string msg;
    if (rc == Z_BUF_ERROR)
      msg = "truncated gzip data (the stream ends early)";
    else
      msg = std::string("corrupt gzip data (") + (zs.msg ? zs.msg : "zlib error " + std::to_string(rc)) + ")";
    inflateEnd(&zs);
    throw Error(origin + ": " + msg);
  }
  inflateEnd(&zs);
  return out;
}

Bytes read_file_maybe_gzip(const std::string& path) {
  Bytes b = read_file(path);
  if (is_gzip(b)) return gunzip(b, path);
  return b;
}

Bytes inflate_raw(const uint8_t* data, size_t size, size_t expected_size, const std::string& origin) {
  if (expected_size > kMaxDecompressed) throw Error(origin + ": entry claims more than 4 GiB uncompressed");
  if (size > std::numeric_limits<uInt>::max()) throw Error(origin + ": compressed entry too large");
  // Deflate cannot expand more than ~1032:1; a larger claim is corruption (and must not make us
  // allocate gigabytes up front).
  if (expected_size / 1032 > size + 64)
    throw Error(origin + ": corrupt entry (" + std::to_string(size) + " compressed bytes cannot hold the declared " +
                std::to_string(expected_size) + ")");
  Bytes out(expected_size);
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) throw Error(origin + ": cannot initialise zlib");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  size_t done = 0;
  int rc = Z_OK;
  uint8_t spill[64];
  while (true) {
    if (done < expected_size) {
      zs.next_out = out.data() + done;
      zs.avail_out = static_cast<uInt>(std::min<size_t>(expected_size - done, std::numeric_limits<uInt>::max()));
    } else {
      zs.next_out = spill;  // detects data beyond the declared size
      zs.avail_out = sizeof spill;
    }
    const uInt before = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = before - zs.avail_out;
    if (done >= expected_size && produced > 0) {
      inflateEnd(&zs);
      throw Error(origin + ": deflated data is larger than the declared " + std::to_string(expected_size) + " bytes");
    }
    done += produced;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      throw Error(origin + ": truncated deflate data");
    }
    if (rc == Z_BUF_ERROR) continue;
    const std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
    inflateEnd(&zs);
    throw Error(origin + ": corrupt deflate data (" + msg + ")");
  }
  inflateEnd(&zs);
  if (done != expected_size)
    throw Error(origin + ": deflated data has " + std::to_string(done) + " bytes, expected " + std::to_string(expected_size));
  return out;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot create (" + errno_text() + ")");
  auto fail = [&](const std::string& what) {
    const std::string e = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw Error(path + ": " + what + " (" + e + ")");
  };
  const auto* p = static_cast<const uint8_t*>(data);
  size_t left = size;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write error");
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) fail("cannot flush");
  if (::close(fd) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    throw Error(path + ": write error (" + e + ")");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = errno_text();
    ::unlink(tmp.c_str());
    throw Error(path + ": cannot write (" + e + ")");
  }
}

}  // namespace eq::data
