#include <random>

#include <doctest/doctest.h>

#include "pgc/coding/cyclic_repetition.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/coding/polynomial_code.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/sim/approximate.hpp"

using pgc::coding::state_vector;

TEST_CASE("proposed error at a hand-made state") {
  // Cyclic N = 4, load 3 (worker w holds w, w+1, w+2). State (3, 1, 1, 0): worker 0 did chunks
  // 0, 1, 2, worker 1 chunk 1, worker 2 chunk 2 -> copies (1, 2, 2, 0).
  const auto tasks = pgc::coding::cyclic(4, 3);
  const state_vector s{3, 1, 1, 0};
  // ell = 1: only chunk 3 is missing -> 1 / 4.
  CHECK(pgc::sim::proposed_error(tasks, 1, s) == doctest::Approx(0.25));
  // ell = 2: chunk 0 lacks one copy, chunk 3 two -> (1 + 2) / (4 * 2).
  CHECK(pgc::sim::proposed_error(tasks, 2, s) == doctest::Approx(0.375));
  CHECK(pgc::sim::proposed_error(tasks, 2, {0, 0, 0, 0}) == 1.0);
  CHECK(pgc::sim::proposed_error(tasks, 3, {3, 3, 3, 3}) == 0.0);
}

TEST_CASE("the closed-form proposed error equals coding expected_error on random states") {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 30; ++round) {
    const int n = std::uniform_int_distribution<int>(4, 9)(rng);
    const int load = std::uniform_int_distribution<int>(1, std::min(n, 4))(rng);
    const int ell = std::uniform_int_distribution<int>(1, load)(rng);
    const auto tasks =
        pgc::coding::order_random(pgc::coding::random_regular(n, load, rng()), rng());
    const pgc::coding::proposed code(tasks, ell, rng());
    state_vector s(static_cast<std::size_t>(n));
    for (auto& v : s)
      v = std::uniform_int_distribution<int>(0, load)(rng);
    const auto from = code.senders(s);
    const int d = 3 * ell;  // ell divides d
    CHECK(pgc::sim::proposed_error(tasks, ell, s) ==
          doctest::Approx(pgc::coding::expected_error(code, s, from, d)).epsilon(1e-9));
  }
}

TEST_CASE(
    "least squares error of the original code matches expected_error and vanishes with N minus s "
    "finishers") {
  // Cyclic repetition decodes by least squares, so both must agree.
  const pgc::coding::cyclic_repetition code(8, 2, 3);
  state_vector s(8, 0);
  CHECK(pgc::sim::least_squares_error(code, s) == 1.0);  // nobody sent anything
  s[0] = s[3] = s[5] = 3;
  const double err = pgc::sim::least_squares_error(code, s);
  CHECK(err > 0.0);
  CHECK(err < 1.0);
  CHECK(err ==
        doctest::Approx(pgc::coding::expected_error(code, s, code.senders(s), 1)).epsilon(1e-9));
  for (int w : {1, 2, 4, 6})
    s[static_cast<std::size_t>(w)] = 3;  // 7 = N - s finishers
  CHECK(pgc::sim::least_squares_error(code, s) == doctest::Approx(0.0).epsilon(1e-9));
  // The polynomial code at N = 20 (the default of error-vs-deadline) is still exact by least
  // squares from N - s finishers.
  const pgc::coding::polynomial_code poly(20, 4, 2);
  state_vector p(20, 4);
  p[3] = p[11] = 0;
  CHECK(pgc::sim::least_squares_error(poly, p) < 1e-8);
}
