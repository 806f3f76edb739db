#include <doctest/doctest.h>

#include "gradient_check.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/least_squares.hpp"

using pgc::core::full_gradient;
using pgc::core::input_error;
using pgc::core::least_squares;
using pgc::core::least_squares_config;
namespace test = pgc::core::test;

TEST_CASE("least squares gradient matches central finite differences") {
  const least_squares source({.samples = 37, .dimension = 6, .chunks = 4, .seed = 7, .noise = 0.1});
  const Eigen::VectorXd w = test::random_vector(6, 1.0, 3);
  CHECK(test::finite_difference_error(source, w) < 1e-6);
}

TEST_CASE("least squares chunk gradients sum to the whole data set gradient") {
  const least_squares_config config{
      .samples = 101, .dimension = 9, .chunks = 7, .seed = 11, .noise = 0.5};
  const least_squares chunked(config);
  least_squares_config whole_config = config;
  whole_config.chunks = 1;
  const least_squares whole(whole_config);
  const Eigen::VectorXd w = test::random_vector(9, 1.0, 5);
  Eigen::VectorXd reference(9);
  whole.gradient(0, w, reference);
  CHECK(test::relative_difference(full_gradient(chunked, w), reference) < 1e-12);
  CHECK(chunked.chunk_samples(0) == 15);
  CHECK(chunked.chunk_samples(6) == 14);
}

TEST_CASE("least squares data is a function of the seed alone") {
  const least_squares a({.samples = 50, .dimension = 5, .chunks = 5, .seed = 42, .noise = 0.1});
  const least_squares b({.samples = 50, .dimension = 5, .chunks = 5, .seed = 42, .noise = 0.1});
  const least_squares c({.samples = 50, .dimension = 5, .chunks = 5, .seed = 43, .noise = 0.1});
  const Eigen::VectorXd w = test::random_vector(5, 1.0, 1);
  Eigen::VectorXd ga(5), gb(5), gc(5);
  a.gradient(3, w, ga);
  b.gradient(3, w, gb);
  c.gradient(3, w, gc);
  CHECK(ga == gb);
  CHECK(ga != gc);
  CHECK(a.true_parameters() == b.true_parameters());
}

TEST_CASE("least squares gradient vanishes at the generating parameters without noise") {
  const least_squares source({.samples = 40, .dimension = 8, .chunks = 3, .seed = 9, .noise = 0});
  const Eigen::VectorXd g = full_gradient(source, source.true_parameters());
  CHECK(g.norm() < 1e-12);
  CHECK(source.loss(source.true_parameters()) < 1e-24);
  CHECK(source.loss(source.initial_parameters()) > 1.0);
}

TEST_CASE("least squares rejects bad configurations and arguments") {
  CHECK_THROWS_AS(least_squares({.samples = 3, .dimension = 2, .chunks = 4}), input_error);
  CHECK_THROWS_AS(least_squares({.samples = 3, .dimension = 0, .chunks = 1}), input_error);
  CHECK_THROWS_AS(least_squares({.samples = 3, .dimension = 2, .chunks = 1, .noise = -1}),
                  input_error);
  const least_squares source({.samples = 10, .dimension = 3, .chunks = 2});
  Eigen::VectorXd out(3);
  CHECK_THROWS_WITH_AS(source.gradient(2, Eigen::VectorXd::Zero(3), out),
                       "chunk 2 is out of range: there are 2 chunks", input_error);
  CHECK_THROWS_AS(source.gradient(0, Eigen::VectorXd::Zero(4), out), input_error);
  Eigen::VectorXd short_out(2);
  CHECK_THROWS_AS(source.gradient(0, Eigen::VectorXd::Zero(3), short_out), input_error);
}
