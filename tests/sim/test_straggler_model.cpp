#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/coding/assignment.hpp"
#include "pgc/core/error.hpp"
#include "pgc/sim/straggler_model.hpp"

using pgc::sim::chunk_times;
using pgc::sim::straggler_model;

namespace {

chunk_times draw(const straggler_model& m, std::uint64_t seed, int workers = 50, int load = 4) {
  chunk_times t(pgc::coding::cyclic(workers, load));
  std::mt19937_64 rng(seed);
  m.sample(rng, t);
  return t;
}

bool same(const chunk_times& a, const chunk_times& b) {
  for (int w = 0; w < a.workers(); ++w) {
    for (int p = 0; p < a.load(w); ++p) {
      if (a.row(w)[static_cast<std::size_t>(p)] != b.row(w)[static_cast<std::size_t>(p)])
        return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("a fixed seed gives the same draw and another seed a different one") {
  straggler_model m;
  m.slow_fraction = 0.2;
  m.slow_factor = 3.0;
  m.fail_fraction = 0.1;
  CHECK(same(draw(m, 5), draw(m, 5)));
  CHECK_FALSE(same(draw(m, 5), draw(m, 6)));
  CHECK(pgc::sim::derive_seed(1, 0) != pgc::sim::derive_seed(1, 1));
  CHECK(pgc::sim::derive_seed(1, 0) == pgc::sim::derive_seed(1, 0));
}

TEST_CASE("shifted exponential times exceed the shift and average shift plus one over rate") {
  straggler_model m;
  m.shift = 2.0;
  m.rate = 4.0;
  const auto t = draw(m, 1, 2000, 5);
  double sum = 0.0;
  double smallest = 1e9;
  for (int w = 0; w < t.workers(); ++w) {
    for (double x : t.row(w)) {
      sum += x;
      smallest = std::min(smallest, x);
    }
  }
  CHECK(smallest >= 2.0);
  // 10,000 draws of mean 2.25 and std 0.25: the sample mean is within 0.01 with high probability.
  CHECK(sum / 10000.0 == doctest::Approx(2.25).epsilon(0.005));
}

TEST_CASE("exactly the given fractions of workers are slow or fail") {
  straggler_model m;
  m.shift = 1.0;
  m.rate = 1e9;  // times are 1 up to 1e-9
  m.slow_fraction = 0.2;
  m.slow_factor = 10.0;
  m.fail_fraction = 0.1;
  const auto t = draw(m, 3, 50, 4);
  int slow = 0;
  int failed = 0;
  for (int w = 0; w < t.workers(); ++w) {
    if (std::isinf(t.list_finish(w))) {
      ++failed;
      // Once failed, never back.
      bool seen_inf = false;
      for (double x : t.row(w)) {
        if (std::isinf(x)) seen_inf = true;
        CHECK((std::isinf(x) || !seen_inf));
      }
    } else if (t.row(w)[0] > 5.0) {
      ++slow;
    }
  }
  CHECK(slow == 10);
  CHECK(failed == 5);
}

TEST_CASE("pareto times are at least the scale") {
  straggler_model m;
  m.distribution = pgc::sim::delay_distribution::pareto;
  m.pareto_scale = 0.5;
  m.pareto_alpha = 1.5;
  const auto t = draw(m, 9);
  for (int w = 0; w < t.workers(); ++w) {
    for (double x : t.row(w))
      CHECK(x >= 0.5);
  }
}

TEST_CASE("bad model parameters are rejected") {
  straggler_model m;
  m.rate = 0.0;
  CHECK_THROWS_AS(m.validate(), pgc::core::input_error);
  m = {};
  m.slow_fraction = 0.7;
  m.fail_fraction = 0.5;
  CHECK_THROWS_AS(m.validate(), pgc::core::input_error);
  m = {};
  m.shift = std::nan("");
  CHECK_THROWS_AS(m.validate(), pgc::core::input_error);
  CHECK_THROWS_AS(pgc::sim::parse_delay_distribution("normal"), pgc::core::input_error);
  CHECK(pgc::sim::parse_delay_distribution("pareto") == pgc::sim::delay_distribution::pareto);
}
