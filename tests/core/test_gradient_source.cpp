#include <memory>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "gradient_check.hpp"
#include "pgc/core/gradient_source.hpp"
#include "pgc/core/least_squares.hpp"
#include "pgc/core/mlp.hpp"
#include "pgc/core/softmax_regression.hpp"

namespace core = pgc::core;
namespace test = pgc::core::test;

namespace {

// Every chunk gradient computed by several threads at once, as a worker's pool does, must equal
// the one computed alone: the sources keep no mutable state.
void check_concurrent_gradients(const core::gradient_source& source) {
  const Eigen::VectorXd w = test::random_vector(source.dimension(), 0.3, 21);
  std::vector<Eigen::VectorXd> expected;
  for (int c = 0; c < source.chunks(); ++c) {
    expected.emplace_back(source.dimension());
    source.gradient(c, w, expected.back());
  }
  constexpr int k_threads = 4;
  std::vector<int> mismatches(k_threads, 0);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        Eigen::VectorXd out(source.dimension());
        for (int round = 0; round < 5; ++round) {
          for (int c = 0; c < source.chunks(); ++c) {
            const int chunk = (c + t) % source.chunks();
            source.gradient(chunk, w, out);
            if (out != expected[static_cast<std::size_t>(chunk)]) {
              ++mismatches[static_cast<std::size_t>(t)];
            }
          }
        }
      });
    }
  }
  CHECK(mismatches == std::vector<int>(k_threads, 0));
}

}  // namespace

TEST_CASE("gradient sources give identical chunk gradients when called from several threads") {
  const auto data = test::random_dataset(300, 6, 3, 31);
  check_concurrent_gradients(core::least_squares({.samples = 300, .dimension = 6, .chunks = 6}));
  check_concurrent_gradients(core::softmax_regression(data, {.chunks = 6, .l2 = 0.1}));
  check_concurrent_gradients(core::mlp(data, {.chunks = 6, .hidden = 7}));
}

TEST_CASE("a chunk gradient can be written into a segment of a larger buffer") {
  const core::least_squares source({.samples = 20, .dimension = 3, .chunks = 2, .seed = 5});
  const Eigen::VectorXd w = test::random_vector(3, 1.0, 6);
  Eigen::VectorXd buffer = Eigen::VectorXd::Constant(8, -7.0);
  source.gradient(1, w, buffer.segment(2, 3));
  Eigen::VectorXd alone(3);
  source.gradient(1, w, alone);
  CHECK(buffer.segment(2, 3) == alone);
  CHECK(buffer(1) == -7.0);
  CHECK(buffer(5) == -7.0);
}
