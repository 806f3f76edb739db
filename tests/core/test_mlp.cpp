#include <cmath>

#include <doctest/doctest.h>

#include "gradient_check.hpp"
#include "pgc/core/error.hpp"
#include "pgc/core/mlp.hpp"

using pgc::core::activation;
using pgc::core::full_gradient;
using pgc::core::input_error;
using pgc::core::mlp;
namespace test = pgc::core::test;

TEST_CASE("mlp gradient matches central finite differences for tanh and relu") {
  const auto data = test::random_dataset(17, 4, 3, 11);
  for (activation act : {activation::tanh, activation::relu}) {
    for (double l2 : {0.0, 0.2}) {
      CAPTURE(static_cast<int>(act));
      CAPTURE(l2);
      const mlp model(data, {.chunks = 3, .hidden = 5, .hidden_activation = act, .l2 = l2});
      REQUIRE(model.dimension() == 5 * 4 + 5 + 3 * 5 + 3);
      // Random biases too, so ReLU units are neither all on nor all off.
      const Eigen::VectorXd w = test::random_vector(model.dimension(), 0.7, 12);
      CHECK(test::finite_difference_error(model, w) < 1e-6);
    }
  }
}

TEST_CASE("mlp chunk gradients sum to the whole data set gradient") {
  const auto data = test::random_dataset(613, 6, 5, 13);
  const mlp chunked(data, {.chunks = 5, .hidden = 8, .l2 = 0.05, .seed = 3});
  const mlp whole(data, {.chunks = 1, .hidden = 8, .l2 = 0.05, .seed = 3});
  const Eigen::VectorXd w = chunked.initial_parameters();
  Eigen::VectorXd reference(whole.dimension());
  whole.gradient(0, w, reference);
  CHECK(test::relative_difference(full_gradient(chunked, w), reference) < 1e-12);
}

TEST_CASE("mlp initial parameters follow the seed and the documented layout") {
  const auto data = test::random_dataset(10, 20, 3, 14);
  const mlp a(data, {.chunks = 2, .hidden = 50, .seed = 1});
  const mlp b(data, {.chunks = 2, .hidden = 50, .seed = 1});
  const mlp c(data, {.chunks = 2, .hidden = 50, .seed = 2});
  const Eigen::VectorXd wa = a.initial_parameters();
  CHECK(wa == b.initial_parameters());
  CHECK(wa != c.initial_parameters());
  // W1 (50 x 20) is He-scaled: its mean square is near 2 / 20; the biases are zero.
  const double w1_mean_square = wa.head(1000).squaredNorm() / 1000;
  CHECK(w1_mean_square == doctest::Approx(0.1).epsilon(0.15));
  CHECK(wa.segment(1000, 50).isZero(0));
  const double w2_mean_square = wa.segment(1050, 150).squaredNorm() / 150;
  CHECK(w2_mean_square == doctest::Approx(1.0 / 50).epsilon(0.3));
  CHECK(wa.tail(3).isZero(0));
}

TEST_CASE("mlp evaluation reports the mean cross entropy") {
  const auto data = test::random_dataset(64, 5, 3, 15);
  const mlp model(data, {.chunks = 4, .hidden = 6, .l2 = 0.5});
  const Eigen::VectorXd w = model.initial_parameters();
  const auto result = model.evaluate(w, *data);
  const mlp unpenalized(data, {.chunks = 4, .hidden = 6});
  CHECK(result.mean_loss == doctest::Approx(unpenalized.loss(w) / 64).epsilon(1e-12));
  CHECK(model.loss(w) > unpenalized.loss(w));
  CHECK(result.accuracy >= 0.0);
  CHECK(result.accuracy <= 1.0);
}

TEST_CASE("mlp rejects an empty hidden layer and mismatched data sets") {
  const auto data = test::random_dataset(10, 2, 2, 16);
  CHECK_THROWS_AS(mlp(data, {.chunks = 2, .hidden = 0}), input_error);
  const mlp model(data, {.chunks = 2, .hidden = 3});
  const auto other = test::random_dataset(10, 3, 2, 17);
  CHECK_THROWS_WITH_AS(model.evaluate(model.initial_parameters(), *other),
                       "data set has 3 features and 2 classes, the model expects 2 and 2",
                       input_error);
  CHECK_THROWS_AS(model.loss(Eigen::VectorXd::Zero(3)), input_error);
}
