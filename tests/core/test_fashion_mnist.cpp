#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "idx_files.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/fashion_mnist.hpp"
#include "pgc/core/optimizer.hpp"
#include "pgc/core/softmax_regression.hpp"

using pgc::core::fashion_mnist;
using pgc::core::input_error;
namespace test = pgc::core::test;

namespace {

bool debian_data_present() {
  return std::filesystem::is_directory(pgc::core::k_fashion_mnist_directory);
}

constexpr const char* k_skip_message =
    "skipped: /usr/share/datasets/fashion-mnist is absent (install the Debian package "
    "dataset-fashion-mnist to run this test)";

std::string error_of(const pgc::core::fashion_mnist_options& options) {
  try {
    fashion_mnist::load(options);
  } catch (const input_error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A directory shaped like the Debian one, with `train_images` and `train_labels` training items
// and two test items.
void write_fake_fashion_mnist(const std::filesystem::path& dir, std::uint32_t train_images,
                              std::uint32_t train_labels) {
  test::write_gzip(dir / "train-images-idx3-ubyte.gz",
                   test::image_file_bytes(train_images, 28, 28,
                                          std::vector<std::uint8_t>(784 * train_images, 128)));
  test::write_gzip(
      dir / "train-labels-idx1-ubyte.gz",
      test::label_file_bytes(train_labels, std::vector<std::uint8_t>(train_labels, 1)));
  test::write_gzip(dir / "t10k-images-idx3-ubyte.gz",
                   test::image_file_bytes(2, 28, 28, std::vector<std::uint8_t>(784 * 2, 0)));
  test::write_gzip(dir / "t10k-labels-idx1-ubyte.gz", test::label_file_bytes(2, {0, 9}));
}

}  // namespace

TEST_CASE("a missing fashion mnist directory names the debian package") {
  test::scratch_directory dir;
  const std::string missing_dir = error_of({.directory = dir.path() / "nowhere"});
  CHECK(contains(missing_dir, (dir.path() / "nowhere").string()));
  CHECK(contains(missing_dir, "install the Debian package dataset-fashion-mnist"));

  const std::string missing_file = error_of({.directory = dir.path()});
  CHECK(contains(missing_file, "train-images-idx3-ubyte.gz is missing"));
  CHECK(contains(missing_file, "install the Debian package dataset-fashion-mnist"));
}

TEST_CASE("fashion mnist files in any directory load with limits") {
  test::scratch_directory dir;
  write_fake_fashion_mnist(dir.path(), 5, 5);
  const auto data = fashion_mnist::load({.directory = dir.path(), .train_limit = 3});
  CHECK(data.train.samples() == 3);
  CHECK(data.train.feature_count() == 784);
  CHECK(data.train.classes == 10);
  CHECK(data.train.features(100, 2) == doctest::Approx(128.0f / 255.0f));
  CHECK(data.test.samples() == 2);
  CHECK(data.test.labels == std::vector<int>{0, 9});
}

TEST_CASE("fashion mnist rejects image and label files of different lengths") {
  test::scratch_directory dir;
  write_fake_fashion_mnist(dir.path(), 3, 2);
  const std::string message = error_of({.directory = dir.path()});
  CHECK(contains(message, "train-labels-idx1-ubyte.gz has 2 labels but"));
  CHECK(contains(message, "train-images-idx3-ubyte.gz has 3 images"));
  // The mismatch is in the headers, so a limit does not hide it.
  CHECK(contains(error_of({.directory = dir.path(), .train_limit = 1}), "has 2 labels but"));
}

TEST_CASE("the debian fashion mnist files have the published shape") {
  if (!debian_data_present()) {
    MESSAGE(k_skip_message);
    return;
  }
  const auto data = fashion_mnist::load();
  CHECK(data.train.samples() == 60000);
  CHECK(data.test.samples() == 10000);
  CHECK(data.train.feature_count() == 28 * 28);
  CHECK(data.train.features.minCoeff() == 0.0f);
  CHECK(data.train.features.maxCoeff() == 1.0f);
  // Fashion-MNIST is balanced: 6000 training and 1000 test images of every class.
  std::vector<int> train_counts(10, 0);
  std::vector<int> test_counts(10, 0);
  for (int label : data.train.labels)
    ++train_counts[static_cast<std::size_t>(label)];
  for (int label : data.test.labels)
    ++test_counts[static_cast<std::size_t>(label)];
  CHECK(train_counts == std::vector<int>(10, 6000));
  CHECK(test_counts == std::vector<int>(10, 1000));
}

TEST_CASE("softmax regression learns fashion mnist with full batch momentum steps") {
  if (!debian_data_present()) {
    MESSAGE(k_skip_message);
    return;
  }
  constexpr int k_steps = 300;
  const auto data = fashion_mnist::load({.train_limit = 2000, .test_limit = 1000});
  const auto train = std::make_shared<const pgc::core::dataset>(data.train);
  const pgc::core::softmax_regression model(train, {.chunks = 8, .l2 = 1e-3});
  pgc::core::optimizer sgd({.schedule = {.rate = 0.5}, .momentum = 0.9}, model.dimension());

  const auto start = std::chrono::steady_clock::now();
  Eigen::VectorXd parameters = model.initial_parameters();
  const double initial_accuracy = model.evaluate(parameters, data.test).accuracy;
  for (int step = 0; step < k_steps; ++step) {
    sgd.step(parameters, full_gradient(model, parameters), 1.0 / model.samples());
  }
  const auto result = model.evaluate(parameters, data.test);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("softmax regression on 2000 samples: test accuracy "
          << result.accuracy << " after " << k_steps << " steps in " << seconds
          << " s (mean test loss " << result.mean_loss << ")");
  CHECK(initial_accuracy < 0.2);
  CHECK(result.accuracy > 0.70);
  CHECK(result.mean_loss < 0.8);
}
