#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

#include "pgc/core/checkpoint.hpp"
#include "pgc/core/error.hpp"

using namespace pgc;
namespace fs = std::filesystem;

namespace {

fs::path temp_path(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("pgc_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

core::checkpoint sample() {
  core::checkpoint c;
  c.iteration = 17;
  c.model = Eigen::VectorXd::LinSpaced(1000, -1.0, 2.0);
  c.optimizer_state = Eigen::VectorXd::LinSpaced(1001, 3.0, 4.0);
  c.fingerprint = "workload=synthetic d=1000 scheme=proposed";
  return c;
}

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<char>& b) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(b.data(), static_cast<std::streamsize>(b.size()));
}

}  // namespace

TEST_CASE("a checkpoint round-trips bit for bit and leaves no temporary file") {
  const auto path = temp_path("roundtrip.ckpt");
  const auto c = sample();
  core::write_checkpoint(path.string(), c);
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));
  const auto r = core::read_checkpoint(path.string());
  CHECK(r.iteration == 17);
  CHECK(r.fingerprint == c.fingerprint);
  CHECK(r.model == c.model);
  CHECK(r.optimizer_state == c.optimizer_state);

  // Overwriting replaces the whole content.
  auto d = c;
  d.iteration = 18;
  d.model.setZero();
  core::write_checkpoint(path.string(), d);
  CHECK(core::read_checkpoint(path.string()).iteration == 18);
  CHECK(core::read_checkpoint(path.string()).model.isZero());
}

TEST_CASE("every truncation and a flipped bit of a checkpoint are refused with the path") {
  const auto path = temp_path("damaged.ckpt");
  core::write_checkpoint(path.string(), sample());
  const auto good = bytes_of(path);
  const auto bad = temp_path("bad.ckpt");
  int refused = 0;
  for (std::size_t n = 0; n < good.size(); n += 97) {
    write_bytes(bad, std::vector<char>(good.begin(), good.begin() + static_cast<long>(n)));
    try {
      core::read_checkpoint(bad.string());
    } catch (const core::input_error& e) {
      ++refused;
      CHECK(std::string(e.what()).find(bad.string()) != std::string::npos);
    }
  }
  CHECK(refused == static_cast<int>((good.size() + 96) / 97));
  for (std::size_t at : {std::size_t{3}, std::size_t{20}, good.size() / 2, good.size() - 1}) {
    auto flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
    write_bytes(bad, flipped);
    CHECK_THROWS_AS(core::read_checkpoint(bad.string()), core::input_error);
  }
}

TEST_CASE("a missing checkpoint names the file") {
  try {
    core::read_checkpoint("/nonexistent/pgc.ckpt");
    FAIL("no error");
  } catch (const core::input_error& e) {
    CHECK(std::string(e.what()).find("/nonexistent/pgc.ckpt") != std::string::npos);
  }
  CHECK_THROWS_AS(core::write_checkpoint("/nonexistent/dir/pgc.ckpt", sample()),
                  core::input_error);
}
