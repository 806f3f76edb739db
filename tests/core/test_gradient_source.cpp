#include <cstdint>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "gradient_check.hpp"
#include "pgc/core/batch_sampler.hpp"
#include "pgc/core/error.hpp"
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

namespace {

// Chunk gradients of `batched` (m chunks) over the shares of a few mini-batches against the sum
// of the gradients of exactly those samples, each computed alone by `per_sample` (the same data
// cut into one chunk per sample, so its chunk i is sample i).
void check_batches_against_samples(const core::gradient_source& batched,
                                   const core::gradient_source& per_sample, long batch_size) {
  REQUIRE(per_sample.chunks() == per_sample.samples());
  std::vector<long> sizes;
  for (int c = 0; c < batched.chunks(); ++c)
    sizes.push_back(batched.chunk_samples(c));
  const core::batch_sampler sampler(sizes, batch_size, 7);
  const Eigen::VectorXd w = test::random_vector(batched.dimension(), 0.2, 3);
  Eigen::VectorXd got(batched.dimension());
  Eigen::VectorXd one(batched.dimension());
  for (const std::uint64_t step :
       std::initializer_list<std::uint64_t>{0, 1, sampler.steps_per_epoch() + 2}) {
    Eigen::VectorXd total = Eigen::VectorXd::Zero(batched.dimension());
    long begin = 0;
    for (int c = 0; c < batched.chunks(); ++c) {
      const auto offsets = sampler.samples(c, step);
      batched.batch_gradient(c, offsets, w, got);
      Eigen::VectorXd expected = Eigen::VectorXd::Zero(batched.dimension());
      for (long offset : offsets) {
        per_sample.gradient(static_cast<int>(begin + offset), w, one);
        expected += one;
      }
      CHECK(test::relative_difference(got, expected) < 1e-12);
      total += expected;
      begin += batched.chunk_samples(c);
    }
    CHECK(test::relative_difference(core::full_gradient(batched, w, sampler, step), total) < 1e-12);
  }
}

// A source written before mini-batches: only gradient() of whole chunks.
class whole_chunks_only final : public core::gradient_source {
 public:
  int dimension() const override { return 2; }
  int chunks() const override { return 2; }
  long samples() const override { return 4; }
  long chunk_samples(int) const override { return 2; }
  void gradient(int, const Eigen::VectorXd&, Eigen::Ref<Eigen::VectorXd> out) const override {
    out.setOnes();
  }
  double loss(const Eigen::VectorXd&) const override { return 0; }
  Eigen::VectorXd initial_parameters() const override { return Eigen::VectorXd::Zero(2); }
};

}  // namespace

TEST_CASE("a mini-batch gradient is the sum of the gradients of exactly its samples") {
  // 700 samples in 3 uneven chunks; a batch of 600 gives every chunk a share of more than the
  // models' block of 256 samples, a batch of 30 a small one.
  const auto data = test::random_dataset(700, 5, 4, 41);
  for (long batch : {30L, 600L}) {
    CAPTURE(batch);
    check_batches_against_samples(
        core::least_squares({.samples = 700, .dimension = 5, .chunks = 3, .seed = 2}),
        core::least_squares({.samples = 700, .dimension = 5, .chunks = 700, .seed = 2}), batch);
    // With a penalty: each sample carries 1 / n of it, as a share of the batch does.
    check_batches_against_samples(core::softmax_regression(data, {.chunks = 3, .l2 = 0.3}),
                                  core::softmax_regression(data, {.chunks = 700, .l2 = 0.3}),
                                  batch);
    check_batches_against_samples(core::mlp(data, {.chunks = 3, .hidden = 6, .l2 = 0.2}),
                                  core::mlp(data, {.chunks = 700, .hidden = 6, .l2 = 0.2}), batch);
    check_batches_against_samples(
        core::mlp(data, {.chunks = 3, .hidden = 6, .hidden_activation = core::activation::tanh}),
        core::mlp(data, {.chunks = 700, .hidden = 6, .hidden_activation = core::activation::tanh}),
        batch);
  }
}

TEST_CASE("a batch of every sample of a chunk gives the chunk gradient") {
  const auto data = test::random_dataset(600, 4, 3, 43);
  const core::least_squares ls({.samples = 600, .dimension = 4, .chunks = 2});
  const core::softmax_regression sr(data, {.chunks = 2, .l2 = 0.1});
  const core::mlp net(data, {.chunks = 2, .hidden = 5, .l2 = 0.1});
  for (const core::gradient_source* source :
       std::initializer_list<const core::gradient_source*>{&ls, &sr, &net}) {
    CHECK(source->supports_batches());
    const Eigen::VectorXd w = test::random_vector(source->dimension(), 0.3, 8);
    std::vector<long> all(300);
    std::iota(all.begin(), all.end(), 0L);
    Eigen::VectorXd whole(source->dimension());
    Eigen::VectorXd batch(source->dimension());
    source->gradient(1, w, whole);
    source->batch_gradient(1, all, w, batch);
    CHECK(test::relative_difference(batch, whole) < 1e-14);
    // The batch of all samples at any step is the full-batch gradient.
    const core::batch_sampler sampler({300, 300}, 600, 1);
    CHECK(test::relative_difference(core::full_gradient(*source, w, sampler, 3),
                                    core::full_gradient(*source, w)) < 1e-13);
  }
}

TEST_CASE("batch gradients refuse offsets outside the chunk or out of order") {
  const core::least_squares source({.samples = 20, .dimension = 3, .chunks = 2});
  const Eigen::VectorXd w = Eigen::VectorXd::Zero(3);
  Eigen::VectorXd out(3);
  const std::vector<long> outside{1, 10};
  const std::vector<long> repeated{2, 2};
  const std::vector<long> descending{5, 3};
  const std::vector<long> negative{-1};
  CHECK_THROWS_AS(source.batch_gradient(0, outside, w, out), core::input_error);
  CHECK_THROWS_AS(source.batch_gradient(0, repeated, w, out), core::input_error);
  CHECK_THROWS_AS(source.batch_gradient(0, descending, w, out), core::input_error);
  CHECK_THROWS_AS(source.batch_gradient(0, negative, w, out), core::input_error);
  CHECK_THROWS_AS(source.batch_gradient(2, std::vector<long>{0}, w, out), core::input_error);
  // No offsets: an empty sum.
  source.batch_gradient(1, std::vector<long>{}, w, out);
  CHECK(out == Eigen::VectorXd::Zero(3));
}

TEST_CASE("a gradient source written before mini-batches still builds and says it has none") {
  const whole_chunks_only source;
  CHECK_FALSE(source.supports_batches());
  Eigen::VectorXd out(2);
  CHECK_THROWS_AS(source.batch_gradient(0, std::vector<long>{0}, Eigen::VectorXd::Zero(2), out),
                  core::input_error);
  CHECK(core::full_gradient(source, Eigen::VectorXd::Zero(2)) == Eigen::VectorXd::Constant(2, 2));
}
