#pragma once

#include <filesystem>
#include <optional>

#include "pgc/core/dataset.hpp"

namespace pgc::core {

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* k_fashion_mnist_directory = "/usr/share/datasets/fashion-mnist";

struct fashion_mnist_options {
  std::filesystem::path directory = k_fashion_mnist_directory;
  std::optional<long> train_limit{};  // first N training samples; all 60000 when empty
  std::optional<long> test_limit{};   // first N test samples; all 10000 when empty
};

// Fashion-MNIST: 28x28 grey images of 10 kinds of clothing, pixels scaled to [0, 1], 784
// features per sample. Read from train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same names without .gz).
struct fashion_mnist {
  static constexpr int k_classes = 10;

  dataset train;
  dataset test;

  // Throws input_error naming the file and the problem; when the directory or a file is missing
  // the message says to install the Debian package dataset-fashion-mnist.
  static fashion_mnist load(const fashion_mnist_options& options = {});
};

}  // namespace pgc::core
