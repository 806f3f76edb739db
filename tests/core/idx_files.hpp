#pragma once

// Writes small IDX files (gzip'd with zlib, or plain) into a scratch directory for the reader
// tests.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>
#include <zlib.h>

#include <doctest/doctest.h>

namespace pgc::core::test {

// A fresh directory removed with everything in it when the test ends.
class scratch_directory {
 public:
  scratch_directory() {
    std::random_device seed;
    path_ = std::filesystem::temp_directory_path() /
            ("pgc-core-test-" + std::to_string(seed()) + "-" + std::to_string(seed()));
    std::filesystem::create_directories(path_);
  }
  ~scratch_directory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  scratch_directory(const scratch_directory&) = delete;
  scratch_directory& operator=(const scratch_directory&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void append_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back((value >> shift) & 0xff);
}

inline std::vector<std::uint8_t> image_file_bytes(std::uint32_t count, std::uint32_t rows,
                                                  std::uint32_t cols,
                                                  const std::vector<std::uint8_t>& pixels,
                                                  std::uint32_t magic = 0x803) {
  std::vector<std::uint8_t> out;
  append_u32(out, magic);
  append_u32(out, count);
  append_u32(out, rows);
  append_u32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

inline std::vector<std::uint8_t> label_file_bytes(std::uint32_t count,
                                                  const std::vector<std::uint8_t>& labels,
                                                  std::uint32_t magic = 0x801) {
  std::vector<std::uint8_t> out;
  append_u32(out, magic);
  append_u32(out, count);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

inline void write_gzip(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  gzFile out = gzopen(file.c_str(), "wb");
  REQUIRE(out != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(out) == Z_OK);
}

inline void write_plain(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace pgc::core::test
