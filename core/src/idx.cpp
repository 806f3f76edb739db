#include "pgc/core/idx.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>
#include <zlib.h>

#include "pgc/core/error.hpp"

namespace pgc::core {
namespace {

constexpr std::uint32_t k_images_magic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr std::uint32_t k_labels_magic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr std::uint32_t k_max_side = 4096;            // far above any image data set we read
// Read granularity; also what we reserve up front, so a header that announces billions of items
// cannot make us allocate more than the file really holds.
constexpr std::size_t k_read_block = std::size_t{1} << 20;

struct gz_closer {
  void operator()(gzFile file) const { gzclose(file); }
};
using gz_handle = std::unique_ptr<gzFile_s, gz_closer>;

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& problem) {
  throw input_error(file.string() + ": " + problem);
}

std::string hex(std::uint32_t value) {
  std::array<char, 16> text{};
  std::snprintf(text.data(), text.size(), "0x%08x", value);
  return text.data();
}

class idx_stream {
 public:
  explicit idx_stream(const std::filesystem::path& file) : file_(file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) fail(file, "no such file");
    // zlib reads plain files transparently, so uncompressed IDX files work as well.
    handle_.reset(gzopen(file.c_str(), "rb"));
    if (!handle_) fail(file, "cannot open");
  }

  // Reads up to `wanted` bytes, appending to `out`; returns how many arrived before end of file.
  std::size_t read(std::vector<std::uint8_t>& out, std::size_t wanted) {
    std::size_t got = 0;
    out.reserve(out.size() + std::min(wanted, k_read_block));
    while (got < wanted) {
      const std::size_t step = std::min(wanted - got, k_read_block);
      const std::size_t old_size = out.size();
      out.resize(old_size + step);
      const int n = gzread(handle_.get(), out.data() + old_size, static_cast<unsigned>(step));
      if (n < 0) {
        int code = 0;
        const char* message = gzerror(handle_.get(), &code);
        fail(file_, std::string("corrupt gzip data: ") + (message ? message : "unknown error"));
      }
      out.resize(old_size + static_cast<std::size_t>(n));
      got += static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < step) break;
    }
    return got;
  }

  std::uint32_t read_u32(const char* what) {
    std::vector<std::uint8_t> bytes;
    if (read(bytes, 4) != 4) fail(file_, std::string("truncated header: no ") + what);
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
  }

 private:
  std::filesystem::path file_;
  gz_handle handle_;
};

long items_to_read(const std::filesystem::path& file, std::uint32_t count,
                   std::optional<long> limit) {
  if (limit && *limit < 0) fail(file, "negative sample limit");
  return limit ? std::min<long>(*limit, count) : static_cast<long>(count);
}

}  // namespace

idx_images read_idx_images(const std::filesystem::path& file, std::optional<long> limit) {
  idx_stream stream(file);
  const std::uint32_t magic = stream.read_u32("magic number");
  if (magic != k_images_magic) {
    fail(file, "bad magic number " + hex(magic) + ", expected " + hex(k_images_magic) +
                   " (IDX image file of unsigned bytes)");
  }
  const std::uint32_t count = stream.read_u32("image count");
  const std::uint32_t rows = stream.read_u32("row count");
  const std::uint32_t cols = stream.read_u32("column count");
  if (rows < 1 || cols < 1 || rows > k_max_side || cols > k_max_side) {
    fail(file, "implausible image size " + std::to_string(rows) + "x" + std::to_string(cols));
  }
  const long images = items_to_read(file, count, limit);
  const std::size_t pixels_per_image = std::size_t{rows} * cols;
  const std::size_t wanted = pixels_per_image * static_cast<std::size_t>(images);
  std::vector<std::uint8_t> bytes;
  const std::size_t got = stream.read(bytes, wanted);
  if (got != wanted) {
    fail(file, "truncated: the header announces " + std::to_string(count) + " images of " +
                   std::to_string(rows) + "x" + std::to_string(cols) + " but the data ends after " +
                   std::to_string(got / pixels_per_image) + " of the " + std::to_string(images) +
                   " read");
  }

  idx_images result;
  result.count = count;
  result.rows = static_cast<int>(rows);
  result.cols = static_cast<int>(cols);
  using byte_matrix = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Map<const byte_matrix> raw(bytes.data(), static_cast<Eigen::Index>(pixels_per_image),
                                          images);
  result.pixels = raw.cast<float>() * (1.0f / 255.0f);
  return result;
}

idx_labels read_idx_labels(const std::filesystem::path& file, int classes,
                           std::optional<long> limit) {
  idx_stream stream(file);
  const std::uint32_t magic = stream.read_u32("magic number");
  if (magic != k_labels_magic) {
    fail(file, "bad magic number " + hex(magic) + ", expected " + hex(k_labels_magic) +
                   " (IDX label file of unsigned bytes)");
  }
  const std::uint32_t count = stream.read_u32("label count");
  const long wanted = items_to_read(file, count, limit);
  std::vector<std::uint8_t> bytes;
  const std::size_t got = stream.read(bytes, static_cast<std::size_t>(wanted));
  if (got != static_cast<std::size_t>(wanted)) {
    fail(file, "truncated: the header announces " + std::to_string(count) +
                   " labels but the data ends after " + std::to_string(got));
  }
  idx_labels result;
  result.count = count;
  result.labels.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] >= classes) {
      fail(file, "label " + std::to_string(bytes[i]) + " at index " + std::to_string(i) +
                     " is not below the " + std::to_string(classes) + " classes");
    }
    result.labels.push_back(bytes[i]);
  }
  return result;
}

}  // namespace pgc::core
