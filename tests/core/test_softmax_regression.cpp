#include <cmath>
#include <memory>

#include <doctest/doctest.h>

#include "gradient_check.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/softmax_regression.hpp"

using pgc::core::dataset;
using pgc::core::full_gradient;
using pgc::core::input_error;
using pgc::core::softmax_regression;
namespace test = pgc::core::test;

TEST_CASE("softmax regression gradient matches central finite differences") {
  const auto data = test::random_dataset(23, 5, 3, 1);
  for (double l2 : {0.0, 0.3}) {
    CAPTURE(l2);
    const softmax_regression model(data, {.chunks = 4, .l2 = l2});
    REQUIRE(model.dimension() == 3 * 5 + 3);
    const Eigen::VectorXd w = test::random_vector(model.dimension(), 0.5, 2);
    CHECK(test::finite_difference_error(model, w) < 1e-6);
  }
}

TEST_CASE("softmax regression chunk gradients sum to the whole data set gradient") {
  // More samples than one block so the blocked loop is exercised across chunk boundaries.
  const auto data = test::random_dataset(701, 7, 4, 3);
  const softmax_regression chunked(data, {.chunks = 6, .l2 = 0.1});
  const softmax_regression whole(data, {.chunks = 1, .l2 = 0.1});
  const Eigen::VectorXd w = test::random_vector(chunked.dimension(), 0.5, 4);
  Eigen::VectorXd reference(whole.dimension());
  whole.gradient(0, w, reference);
  CHECK(test::relative_difference(full_gradient(chunked, w), reference) < 1e-12);
}

TEST_CASE("softmax regression at zero parameters has loss n log k and chance accuracy") {
  const auto data = test::random_dataset(40, 3, 4, 5);
  const softmax_regression model(data, {.chunks = 2});
  const Eigen::VectorXd zero = model.initial_parameters();
  CHECK(model.loss(zero) == doctest::Approx(40 * std::log(4.0)).epsilon(1e-12));
  const auto result = model.evaluate(zero, *data);
  CHECK(result.mean_loss == doctest::Approx(std::log(4.0)).epsilon(1e-12));
  CHECK(result.samples == 40);
}

TEST_CASE("softmax regression stays finite with huge logits") {
  const auto data = test::random_dataset(30, 4, 3, 6);
  const softmax_regression model(data, {.chunks = 3});
  const Eigen::VectorXd w = test::random_vector(model.dimension(), 1e4, 7);
  const Eigen::VectorXd g = full_gradient(model, w);
  CHECK(g.allFinite());
  CHECK(std::isfinite(model.loss(w)));
  CHECK(model.loss(w) > 1e3);  // confident and mostly wrong: the loss is large, not inf
}

TEST_CASE("softmax regression evaluation counts correct predictions") {
  // Two classes separated by the sign of the only feature; a weight that follows the sign gets
  // every sample right, the opposite weight gets every sample wrong.
  auto data = std::make_shared<dataset>();
  data->features.resize(1, 4);
  data->features << -2, -1, 1, 2;
  data->labels = {0, 0, 1, 1};
  data->classes = 2;
  const softmax_regression model(data, {.chunks = 2});
  Eigen::VectorXd w(4);
  w << -1, 1, 0, 0;
  CHECK(model.evaluate(w, *data).accuracy == 1.0);
  CHECK(model.evaluate(-w, *data).accuracy == 0.0);
  const auto mixed = data->slice(1, 2);
  CHECK(model.evaluate(w, mixed).accuracy == 1.0);
  CHECK(model.evaluate(w, mixed).samples == 2);
}

TEST_CASE("softmax regression rejects mismatched data sets") {
  const auto data = test::random_dataset(20, 3, 4, 8);
  const softmax_regression model(data, {.chunks = 2});
  const auto other = test::random_dataset(5, 4, 4, 9);
  CHECK_THROWS_AS(model.evaluate(model.initial_parameters(), *other), input_error);
  auto bad = std::make_shared<dataset>(*data);
  bad->labels[3] = 4;
  CHECK_THROWS_WITH_AS(softmax_regression(bad, {.chunks = 2}),
                       "label 4 of sample 3 is outside [0, 4)", input_error);
  CHECK_THROWS_AS(softmax_regression(data, {.chunks = 21}), input_error);
}
