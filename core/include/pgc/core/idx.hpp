#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include <Eigen/Core>

namespace pgc::core {

// Contents of an IDX image file (magic 0x00000803: unsigned bytes, 3 dimensions).
struct idx_images {
  long count = 0;  // images announced by the header (may exceed pixels.cols() under a limit)
  int rows = 0;
  int cols = 0;
  Eigen::MatrixXf pixels;  // rows*cols x images read, row-major pixels per column, in [0, 1]
};

// Contents of an IDX label file (magic 0x00000801: unsigned bytes, 1 dimension).
struct idx_labels {
  long count = 0;  // labels announced by the header
  std::vector<int> labels;
};

// Readers for the IDX format of (Fashion-)MNIST, gzip'd or plain (zlib reads both). They read
// at most `limit` items (all when empty) and stop there, so a small limit is cheap. Every
// problem — missing file, bad magic, absurd dimensions, truncated data, a label >= classes —
// throws input_error whose message names the file and the problem.
idx_images read_idx_images(const std::filesystem::path& file, std::optional<long> limit = {});
idx_labels read_idx_labels(const std::filesystem::path& file, int classes,
                           std::optional<long> limit = {});

}  // namespace pgc::core
