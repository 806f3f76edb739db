#include "pgc/core/fashion_mnist.hpp"

#include <string>
#include <system_error>

#include "pgc/core/error.hpp"
#include "pgc/core/idx.hpp"

namespace pgc::core {
namespace {

constexpr const char* k_install_hint = "install the Debian package dataset-fashion-mnist";

// The gzip'd name as Debian ships it, or the plain one if someone unpacked the files.
std::filesystem::path locate(const std::filesystem::path& directory, const std::string& name) {
  std::error_code ec;
  const std::filesystem::path gz = directory / (name + ".gz");
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  const std::filesystem::path plain = directory / name;
  if (std::filesystem::is_regular_file(plain, ec)) return plain;
  throw input_error("Fashion-MNIST file " + gz.string() + " is missing; " + k_install_hint +
                    " (apt-get install dataset-fashion-mnist) or pass the directory that holds " +
                    "the IDX files");
}

dataset load_split(const std::filesystem::path& directory, const std::string& prefix,
                   std::optional<long> limit) {
  const std::filesystem::path images_file = locate(directory, prefix + "-images-idx3-ubyte");
  const std::filesystem::path labels_file = locate(directory, prefix + "-labels-idx1-ubyte");
  idx_images images = read_idx_images(images_file, limit);
  idx_labels labels = read_idx_labels(labels_file, fashion_mnist::k_classes, limit);
  if (images.count != labels.count) {
    throw input_error(labels_file.string() + " has " + std::to_string(labels.count) +
                      " labels but " + images_file.string() + " has " +
                      std::to_string(images.count) + " images");
  }
  if (images.rows != 28 || images.cols != 28) {
    throw input_error(images_file.string() + " holds " + std::to_string(images.rows) + "x" +
                      std::to_string(images.cols) + " images, Fashion-MNIST has 28x28");
  }
  if (images.count == 0) throw input_error(images_file.string() + " holds no images");
  dataset result;
  result.features = std::move(images.pixels);
  result.labels = std::move(labels.labels);
  result.classes = fashion_mnist::k_classes;
  return result;
}

}  // namespace

fashion_mnist fashion_mnist::load(const fashion_mnist_options& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.directory, ec)) {
    throw input_error("Fashion-MNIST directory " + options.directory.string() +
                      " does not exist; " + k_install_hint +
                      " (apt-get install dataset-fashion-mnist) or pass the directory that " +
                      "holds the IDX files");
  }
  fashion_mnist result;
  result.train = load_split(options.directory, "train", options.train_limit);
  result.test = load_split(options.directory, "t10k", options.test_limit);
  return result;
}

}  // namespace pgc::core
