#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "idx_files.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/idx.hpp"

using pgc::core::input_error;
using pgc::core::read_idx_images;
using pgc::core::read_idx_labels;
namespace test = pgc::core::test;

namespace {

// What the reader threw, so a test can look for several words in one message.
template <typename F>
std::string error_of(F&& read) {
  try {
    read();
  } catch (const input_error& e) {
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("idx images are read from gzip files and scaled to the unit interval") {
  test::scratch_directory dir;
  const auto file = dir.path() / "images.gz";
  // Three 2x3 images; the second is all 255, the third counts up by 51.
  std::vector<std::uint8_t> pixels(18, 0);
  for (int i = 0; i < 6; ++i) {
    pixels[static_cast<std::size_t>(6 + i)] = 255;
    pixels[static_cast<std::size_t>(12 + i)] = static_cast<std::uint8_t>(51 * i);
  }
  test::write_gzip(file, test::image_file_bytes(3, 2, 3, pixels));

  const auto images = read_idx_images(file);
  CHECK(images.count == 3);
  CHECK(images.rows == 2);
  CHECK(images.cols == 3);
  REQUIRE(images.pixels.rows() == 6);
  REQUIRE(images.pixels.cols() == 3);
  CHECK(images.pixels.col(0).isZero(0));
  CHECK(images.pixels.col(1).minCoeff() == 1.0f);
  CHECK(images.pixels(1, 2) == doctest::Approx(0.2f));
  CHECK(images.pixels(5, 2) == doctest::Approx(1.0f));

  const auto first_two = read_idx_images(file, 2);
  CHECK(first_two.count == 3);
  CHECK(first_two.pixels.cols() == 2);
  CHECK(first_two.pixels == images.pixels.leftCols(2));
}

TEST_CASE("idx labels are read from plain and gzip files") {
  test::scratch_directory dir;
  const std::vector<std::uint8_t> labels{3, 0, 9, 7};
  test::write_gzip(dir.path() / "labels.gz", test::label_file_bytes(4, labels));
  test::write_plain(dir.path() / "labels", test::label_file_bytes(4, labels));
  for (const char* name : {"labels.gz", "labels"}) {
    CAPTURE(name);
    const auto read = read_idx_labels(dir.path() / name, 10);
    CHECK(read.count == 4);
    CHECK(read.labels == std::vector<int>{3, 0, 9, 7});
  }
  CHECK(read_idx_labels(dir.path() / "labels.gz", 10, 1).labels == std::vector<int>{3});
}

TEST_CASE("idx reader rejects a bad magic number and names the file") {
  test::scratch_directory dir;
  const auto file = dir.path() / "swapped.gz";
  test::write_gzip(file, test::label_file_bytes(2, {1, 2}));
  const std::string message = error_of([&] { read_idx_images(file); });
  CHECK(contains(message, file.string()));
  CHECK(contains(message, "bad magic number 0x00000801, expected 0x00000803"));
  CHECK_NOTHROW(read_idx_labels(file, 10));
}

TEST_CASE("idx reader rejects truncated data and truncated headers") {
  test::scratch_directory dir;
  const auto images = dir.path() / "short-images.gz";
  test::write_gzip(images, test::image_file_bytes(3, 2, 2, std::vector<std::uint8_t>(9, 1)));
  const std::string message = error_of([&] { read_idx_images(images); });
  CHECK(contains(message, images.string()));
  CHECK(contains(message, "truncated: the header announces 3 images of 2x2"));
  // Under a limit only the images asked for must be present.
  CHECK(read_idx_images(images, 2).pixels.cols() == 2);

  const auto labels = dir.path() / "short-labels.gz";
  test::write_gzip(labels, test::label_file_bytes(5, {1, 2, 3}));
  CHECK(contains(error_of([&] { read_idx_labels(labels, 10); }),
                 "truncated: the header announces 5 labels but the data ends after 3"));

  const auto header = dir.path() / "header.gz";
  test::write_gzip(header, {0, 0, 8, 3, 0, 0});
  CHECK(contains(error_of([&] { read_idx_images(header); }), "truncated header: no image count"));

  const auto empty = dir.path() / "empty.gz";
  test::write_gzip(empty, {});
  CHECK(
      contains(error_of([&] { read_idx_labels(empty, 10); }), "truncated header: no magic number"));
}

TEST_CASE("idx reader rejects a corrupt gzip stream") {
  test::scratch_directory dir;
  const auto good = dir.path() / "good.gz";
  test::write_gzip(good, test::label_file_bytes(1000, std::vector<std::uint8_t>(1000, 4)));
  std::vector<std::uint8_t> bytes(std::filesystem::file_size(good));
  {
    std::ifstream in(good, std::ios::binary);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  bytes.resize(bytes.size() / 2);
  const auto cut = dir.path() / "cut.gz";
  test::write_plain(cut, bytes);
  const std::string message = error_of([&] { read_idx_labels(cut, 10); });
  CHECK(contains(message, cut.string()));
  CHECK((contains(message, "truncated") || contains(message, "corrupt gzip data")));
}

TEST_CASE("idx reader rejects labels outside the classes and absurd image sizes") {
  test::scratch_directory dir;
  const auto labels = dir.path() / "labels.gz";
  test::write_gzip(labels, test::label_file_bytes(3, {9, 10, 2}));
  const std::string message = error_of([&] { read_idx_labels(labels, 10); });
  CHECK(contains(message, labels.string()));
  CHECK(contains(message, "label 10 at index 1 is not below the 10 classes"));

  const auto images = dir.path() / "images.gz";
  test::write_gzip(images, test::image_file_bytes(1, 0, 28, {}));
  CHECK(contains(error_of([&] { read_idx_images(images); }), "implausible image size 0x28"));

  CHECK(contains(error_of([&] { read_idx_images(dir.path() / "absent.gz"); }), "no such file"));
}
