#include "pgc/core/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "pgc/core/error.hpp"

namespace pgc::core {

namespace {

// Layout (little-endian, as the host writes it; checkpoints are not meant to move between
// architectures): magic, u32 version, u64 iteration, u64 fingerprint bytes + bytes,
// u64 model length + doubles, u64 optimizer length + doubles, u32 CRC-32 of all before it.
constexpr char magic[8] = {'P', 'G', 'C', 'C', 'K', 'P', 'T', '\n'};
constexpr std::uint32_t version = 1;
// A sanity bound on every length field, so a corrupted header cannot ask for terabytes.
constexpr std::uint64_t max_values = std::uint64_t{1} << 32;

template <class T>
void put(std::vector<char>& out, const T& v) {
  const auto* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void put_vector(std::vector<char>& out, const Eigen::VectorXd& v) {
  put(out, static_cast<std::uint64_t>(v.size()));
  const auto* p = reinterpret_cast<const char*>(v.data());
  out.insert(out.end(), p, p + static_cast<std::size_t>(v.size()) * sizeof(double));
}

struct reader {
  const std::vector<char>& data;
  std::size_t at;
  const std::string& path;

  [[noreturn]] void fail(const std::string& what) const {
    throw input_error("checkpoint '" + path + "': " + what);
  }
  template <class T>
  T get() {
    if (data.size() - at < sizeof(T)) fail("truncated");
    T v;
    std::memcpy(&v, data.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
  Eigen::VectorXd get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > max_values || (data.size() - at) / sizeof(double) < n) fail("truncated");
    Eigen::VectorXd v(static_cast<Eigen::Index>(n));
    std::memcpy(v.data(), data.data() + at, n * sizeof(double));
    at += n * sizeof(double);
    return v;
  }
};

std::uint32_t crc(const char* p, std::size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const auto chunk = static_cast<uInt>(std::min<std::size_t>(n, std::numeric_limits<uInt>::max()));
    c = crc32(c, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

}  // namespace

void write_checkpoint(const std::string& path, const checkpoint& c) {
  std::vector<char> out(std::begin(magic), std::end(magic));
  put(out, version);
  put(out, c.iteration);
  put(out, static_cast<std::uint64_t>(c.fingerprint.size()));
  out.insert(out.end(), c.fingerprint.begin(), c.fingerprint.end());
  put_vector(out, c.model);
  put_vector(out, c.optimizer_state);
  put(out, crc(out.data(), out.size()));

  const std::string tmp = path + ".tmp";
  const auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw input_error("cannot write checkpoint '" + path + "': " + what + ": " + reason);
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open");
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the checkpoint.
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync");
  }
  if (::close(fd) != 0) fail("close");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
}

checkpoint read_checkpoint(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw input_error("cannot open checkpoint '" + path + "': " + std::strerror(errno));
  const std::vector<char> data((std::istreambuf_iterator<char>(f)),
                               std::istreambuf_iterator<char>());
  reader r{data, 0, path};
  if (data.size() < sizeof(magic) || std::memcmp(data.data(), magic, sizeof(magic)) != 0) {
    r.fail("not a pgc checkpoint");
  }
  if (data.size() < sizeof(magic) + sizeof(std::uint32_t) * 2) r.fail("truncated");
  const std::size_t body = data.size() - sizeof(std::uint32_t);
  std::uint32_t stored;
  std::memcpy(&stored, data.data() + body, sizeof(stored));
  if (crc(data.data(), body) != stored) r.fail("corrupted (CRC mismatch) or truncated");
  r.at = sizeof(magic);
  const auto v = r.get<std::uint32_t>();
  if (v != version) r.fail("version " + std::to_string(v) + " is not supported");
  checkpoint c;
  c.iteration = r.get<std::uint64_t>();
  const auto n = r.get<std::uint64_t>();
  if (n > body - r.at) r.fail("truncated");
  c.fingerprint.assign(data.data() + r.at, n);
  r.at += n;
  c.model = r.get_vector();
  c.optimizer_state = r.get_vector();
  if (r.at != body) r.fail("trailing bytes");
  return c;
}

}  // namespace pgc::core
