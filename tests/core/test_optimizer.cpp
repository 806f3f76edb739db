#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/core/learning_rate_schedule.hpp"
#include "pgc/core/optimizer.hpp"

using pgc::core::input_error;
using pgc::core::learning_rate_schedule;
using pgc::core::optimizer;
using schedule_kind = learning_rate_schedule::kind;

namespace {

Eigen::VectorXd vec(double a, double b) {
  Eigen::VectorXd v(2);
  v << a, b;
  return v;
}

}  // namespace

TEST_CASE("momentum follows the hand computed recurrence over two steps") {
  // lr 0.1, mu 0.9, scale 0.5: g1 = (1, -2) after scaling, v1 = g1, p1 = (1, 1) - 0.1 v1;
  // g2 = (2, 1), v2 = 0.9 v1 + g2 = (2.9, -0.8), p2 = p1 - 0.1 v2.
  optimizer sgd({.schedule = {.rate = 0.1}, .momentum = 0.9}, 2);
  Eigen::VectorXd p = vec(1, 1);
  sgd.step(p, vec(2, -4), 0.5);
  CHECK(p(0) == doctest::Approx(0.9).epsilon(1e-15));
  CHECK(p(1) == doctest::Approx(1.2).epsilon(1e-15));
  sgd.step(p, vec(4, 2), 0.5);
  CHECK(sgd.velocity()(0) == doctest::Approx(2.9).epsilon(1e-15));
  CHECK(sgd.velocity()(1) == doctest::Approx(-0.8).epsilon(1e-15));
  CHECK(p(0) == doctest::Approx(0.61).epsilon(1e-15));
  CHECK(p(1) == doctest::Approx(1.28).epsilon(1e-15));
  CHECK(sgd.steps_taken() == 2);
}

TEST_CASE("nesterov momentum looks one velocity step ahead") {
  // Update g + mu v: step 1 (1.9, -3.8) -> p1 = (0.81, 1.38); step 2 (4.61, 0.28) -> p2.
  optimizer sgd({.schedule = {.rate = 0.1}, .momentum = 0.9, .nesterov = true}, 2);
  Eigen::VectorXd p = vec(1, 1);
  sgd.step(p, vec(2, -4), 0.5);
  CHECK(p(0) == doctest::Approx(0.81).epsilon(1e-15));
  CHECK(p(1) == doctest::Approx(1.38).epsilon(1e-15));
  sgd.step(p, vec(4, 2), 0.5);
  CHECK(p(0) == doctest::Approx(0.349).epsilon(1e-14));
  CHECK(p(1) == doctest::Approx(1.352).epsilon(1e-14));
}

TEST_CASE("learning rate schedules give the documented rates at given steps") {
  const learning_rate_schedule constant{.rate = 0.3};
  CHECK(constant.at(0) == 0.3);
  CHECK(constant.at(1000) == 0.3);

  const learning_rate_schedule step{
      .shape = schedule_kind::step_decay, .rate = 0.5, .gamma = 0.1, .period = 10};
  CHECK(step.at(0) == doctest::Approx(0.5));
  CHECK(step.at(9) == doctest::Approx(0.5));
  CHECK(step.at(10) == doctest::Approx(0.05));
  CHECK(step.at(25) == doctest::Approx(0.005));

  const learning_rate_schedule cosine{
      .shape = schedule_kind::cosine, .rate = 1.0, .period = 100, .final_rate = 0.1};
  CHECK(cosine.at(0) == doctest::Approx(1.0));
  CHECK(cosine.at(50) == doctest::Approx(0.55));
  CHECK(cosine.at(100) == doctest::Approx(0.1));
  CHECK(cosine.at(250) == doctest::Approx(0.1));

  const learning_rate_schedule inverse{
      .shape = schedule_kind::inverse_time, .rate = 1.0, .gamma = 0.5};
  CHECK(inverse.at(4) == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("optimizer applies the schedule step by step") {
  optimizer sgd(
      {.schedule = {.shape = schedule_kind::step_decay, .rate = 1.0, .gamma = 0.5, .period = 1},
       .momentum = 0},
      1);
  Eigen::VectorXd p = Eigen::VectorXd::Zero(1);
  const Eigen::VectorXd g = Eigen::VectorXd::Ones(1);
  CHECK(sgd.learning_rate() == 1.0);
  sgd.step(p, g);
  sgd.step(p, g);
  sgd.step(p, g);
  // 1 + 0.5 + 0.25
  CHECK(p(0) == doctest::Approx(-1.75).epsilon(1e-15));
  CHECK(sgd.learning_rate() == doctest::Approx(0.125));
}

TEST_CASE("optimizer state round trips through a flat vector") {
  const pgc::core::optimizer_config config{
      .schedule = {.shape = schedule_kind::cosine, .rate = 0.2, .period = 10}, .momentum = 0.8};
  optimizer original(config, 2);
  Eigen::VectorXd p = vec(1, -1);
  original.step(p, vec(1, 2));
  original.step(p, vec(-3, 0.5));
  original.step(p, vec(0.25, 1));
  const Eigen::VectorXd saved = original.state();
  CHECK(saved.size() == 3);
  CHECK(saved(0) == 3);

  optimizer restored(config, 2);
  restored.restore(saved);
  CHECK(restored.steps_taken() == 3);
  Eigen::VectorXd q = p;
  original.step(p, vec(2, 2));
  restored.step(q, vec(2, 2));
  CHECK(p == q);
  CHECK(restored.state() == original.state());
}

TEST_CASE("optimizer rejects bad configurations and bad state") {
  CHECK_THROWS_AS(optimizer({.schedule = {.rate = 0}}, 2), input_error);
  CHECK_THROWS_AS(optimizer({.momentum = 1.0}, 2), input_error);
  CHECK_THROWS_AS(optimizer({.schedule = {.shape = schedule_kind::step_decay, .period = 0}}, 2),
                  input_error);
  optimizer sgd({}, 2);
  CHECK_THROWS_AS(sgd.restore(Eigen::VectorXd::Zero(2)), input_error);
  Eigen::VectorXd fractional = Eigen::VectorXd::Zero(3);
  fractional(0) = 1.5;
  CHECK_THROWS_AS(sgd.restore(fractional), input_error);
  fractional(0) = -1;
  CHECK_THROWS_AS(sgd.restore(fractional), input_error);
  Eigen::VectorXd p = Eigen::VectorXd::Zero(3);
  CHECK_THROWS_AS(sgd.step(p, Eigen::VectorXd::Zero(3)), input_error);
}

TEST_CASE("learning rate schedules parse from their command line form") {
  using kind = pgc::core::learning_rate_schedule::kind;
  const auto c = pgc::core::parse_learning_rate_schedule("constant", 0.2);
  CHECK(c.shape == kind::constant);
  CHECK(c.at(1000) == 0.2);
  const auto s = pgc::core::parse_learning_rate_schedule("step:10:0.5", 0.2);
  CHECK(s.shape == kind::step_decay);
  CHECK(s.at(9) == 0.2);
  CHECK(s.at(10) == doctest::Approx(0.1));
  const auto cos = pgc::core::parse_learning_rate_schedule("cosine:40:0.01", 0.2);
  CHECK(cos.at(40) == doctest::Approx(0.01));
  CHECK(pgc::core::parse_learning_rate_schedule("cosine:40", 0.2).at(40) == doctest::Approx(0.0));
  CHECK(pgc::core::parse_learning_rate_schedule("inverse:0.5", 0.2).at(2) == doctest::Approx(0.1));
  for (const char* bad : {"", "linear", "step:10", "step:x:0.5", "step:0:0.5", "step:2.5:0.5",
                          "step:10:2", "cosine:40:1", "inverse:-1", "constant:1", "step:10:0.5:"}) {
    CHECK_THROWS_WITH_AS(pgc::core::parse_learning_rate_schedule(bad, 0.2),
                         doctest::Contains("learning-rate schedule"), pgc::core::input_error);
  }
}
