#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/sim/statistics.hpp"

using pgc::sim::summarize;

TEST_CASE("summary of a small sample matches hand computation") {
  // 1..5: mean 3, sample variance 10/4, median 3, q05 at position 0.2 -> 1.2, q95 at 3.8 -> 4.8.
  const auto s = summarize({5, 3, 1, 4, 2});
  CHECK(s.count == 5);
  CHECK(s.mean == doctest::Approx(3.0));
  CHECK(s.stddev == doctest::Approx(std::sqrt(2.5)));
  CHECK(s.median == doctest::Approx(3.0));
  CHECK(s.q05 == doctest::Approx(1.2));
  CHECK(s.q95 == doctest::Approx(4.8));
  CHECK(s.min == 1.0);
  CHECK(s.max == 5.0);
  CHECK(s.infinite == 0);
}

TEST_CASE("infinite values make the mean infinite but not the lower quantiles") {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v(19, 1.0);
  v.push_back(inf);  // 20 values, one never completed
  const auto s = summarize(v);
  CHECK(s.infinite == 1);
  CHECK(std::isinf(s.mean));
  CHECK(s.median == 1.0);
  CHECK(s.q05 == 1.0);
  // Position 0.95 * 19 = 18.05 interpolates towards the infinite value.
  CHECK(std::isinf(s.q95));
  CHECK(summarize({2.0}).stddev == 0.0);
}

TEST_CASE("an empty sample or a NaN is rejected") {
  CHECK_THROWS_AS(summarize({}), pgc::core::input_error);
  CHECK_THROWS_AS(summarize({1.0, std::nan("")}), pgc::core::input_error);
}
