#include <cstdio>
#include <filesystem>

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include "run_pgc.hpp"

using pgc::test::run_pgc;
using pgc::test::slurp;

TEST_CASE("pgc launch trains softmax regression on Fashion-MNIST past 78 percent test accuracy") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: install the Debian package dataset-fashion-mnist (tools/setup does)");
    return;
  }
  // A shortened run: 6,000 training and 2,000 test samples, 40 full-batch steps, with a slow
  // worker; exact mode reproduces full-batch gradient descent, checked step by step (--verify).
  const std::string path = std::string(PGC_BINARY_DIR) + "/tests/train-fashion.json";
  std::remove(path.c_str());
  const auto r = run_pgc(
      "launch --workload fashion-mnist --workers 4 --load 2 --ell 1 --iterations 40 --lr 0.2 "
      "--momentum 0.9 --train-limit 6000 --test-limit 2000 --slow 1 --slowdown 2 --verify "
      "--summary " +
      path);
  INFO(r.out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto s = boost::json::parse(slurp(path)).as_object();
  CHECK(s.at("iterations").as_int64() == 40);
  CHECK(s.at("max_rel_error").as_double() < 1e-9);
  CHECK(s.at("test_accuracy").as_double() >= 0.78);
  CHECK(s.at("final_loss").as_double() < 0.7);
}
