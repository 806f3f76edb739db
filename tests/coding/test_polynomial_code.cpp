#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <random>
#include <sstream>
#include <vector>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "pgc/coding/polynomial_code.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/core/error.hpp"
#include "round_trip.hpp"

using namespace pgc::coding;

namespace {

using test::random_gradients;
using test::relative_error;
using test::round_trip;

// The workers of `from` have finished; every other worker stopped before its last chunk.
state_vector finished_exactly(const scheme& code, const std::vector<int>& from,
                              std::mt19937_64& rng) {
  state_vector s(static_cast<std::size_t>(code.workers()));
  for (int w = 0; w < code.workers(); ++w) {
    const int load = code.tasks().load(w);
    s[static_cast<std::size_t>(w)] = static_cast<int>(rng() % static_cast<unsigned>(load));
  }
  for (int w : from)
    s[static_cast<std::size_t>(w)] = code.tasks().load(w);
  return s;
}

std::vector<int> members(unsigned mask, int workers) {
  std::vector<int> out;
  for (int w = 0; w < workers; ++w) {
    if ((mask >> w & 1U) != 0) out.push_back(w);
  }
  return out;
}

// Worst relative decoding error over a few K-subsets of finishers (the first K workers, the
// last K, and random ones), s = load - ell.
double worst_exact_error(const polynomial_code& code, std::mt19937_64& rng, int d) {
  const int n = code.workers();
  const int k = code.needed();
  std::vector<int> ids(static_cast<std::size_t>(n));
  for (int w = 0; w < n; ++w)
    ids[static_cast<std::size_t>(w)] = w;
  double worst = 0.0;
  for (int trial = 0; trial < 5; ++trial) {
    if (trial == 1) std::reverse(ids.begin(), ids.end());
    if (trial >= 2) std::shuffle(ids.begin(), ids.end(), rng);
    std::vector<int> from(ids.begin(), ids.begin() + k);
    std::sort(from.begin(), from.end());
    const state_vector s = finished_exactly(code, from, rng);
    worst = std::max(worst, relative_error(code, s, from, random_gradients(rng, n, d)));
  }
  return worst;
}

}  // namespace

TEST_CASE("the polynomial code decodes exactly from every set of K finishers") {
  std::mt19937_64 rng(7);
  int subsets = 0;
  double worst = 0.0;
  for (int n = 1; n <= 9; ++n) {
    for (int load = 1; load <= n; ++load) {
      for (int ell = 1; ell <= load; ++ell) {
        const polynomial_code code(n, load, ell);
        const int k = code.needed();
        REQUIRE(k == n - (load - ell));
        progress_tracker tracker(code.tasks(), ell);
        // d not a multiple of ell, so the zero padding of the last block is exercised.
        const int d = 3 * ell + (ell > 1 ? 1 : 0);
        for (unsigned mask = 0; mask < (1U << n); ++mask) {
          if (std::popcount(mask) != k) continue;
          ++subsets;
          const auto from = members(mask, n);
          const state_vector s = finished_exactly(code, from, rng);
          tracker.set_state(s);
          CAPTURE(n);
          CAPTURE(load);
          CAPTURE(ell);
          CAPTURE(mask);
          REQUIRE(code.ready(tracker));
          REQUIRE(code.senders(s) == from);
          const double rel = relative_error(code, s, from, random_gradients(rng, n, d));
          worst = std::max(worst, rel);
          REQUIRE(rel < 1e-9);
          CHECK(expected_error(code, s, from, d) < 1e-18);
        }
      }
    }
  }
  MESSAGE("subsets: " << subsets << ", worst relative error " << worst);
  CHECK(subsets > 3000);
}

TEST_CASE(
    "the polynomial code zeroes the chunks a worker does not hold and ignores extra replies") {
  const polynomial_code code(7, 4, 2);  // s = 2, K = 5
  CHECK(code.stragglers() == 2);
  CHECK(code.needed() == 5);
  CHECK(code.tasks() == cyclic(7, 4));
  const auto& a = code.points();
  REQUIRE(a.size() == 7);
  CHECK(a.front() == -1.0);
  CHECK(a.back() == 1.0);
  CHECK(a[3] == doctest::Approx(0.0));
  const state_vector all(7, 4);
  for (int w = 0; w < 7; ++w) {
    const Eigen::MatrixXd c = code.encoding(w, all);
    CHECK(c.rows() == 4);
    CHECK(c.cols() == 2);
  }
  // All seven replies: the first five decode, the last two get weight 0, and the result equals
  // the decode from those five alone.
  const std::vector<int> seven{0, 1, 2, 3, 4, 5, 6};
  const std::vector<int> five{0, 1, 2, 3, 4};
  const Eigen::MatrixXd d7 = code.decoding(all, seven);
  const Eigen::MatrixXd d5 = code.decoding(all, five);
  REQUIRE(d7.rows() == 2);
  REQUIRE(d7.cols() == 7);
  CHECK(d7.rightCols(2).norm() == 0.0);
  CHECK(d7.leftCols(5) == d5);
  // A reply from a worker that has not finished carries nothing and is skipped.
  state_vector late = all;
  late[1] = 3;
  const std::vector<int> six{0, 1, 2, 3, 4, 5};
  const Eigen::MatrixXd d6 = code.decoding(late, six);
  CHECK(d6.col(1).norm() == 0.0);
  CHECK(d6.col(5).norm() > 0.0);
  CHECK(expected_error(code, late, six, 10) < 1e-18);
}

TEST_CASE("with fewer than K finishers the polynomial code falls back to least squares") {
  std::mt19937_64 rng(11);
  const polynomial_code code(8, 4, 2);  // K = 6
  progress_tracker tracker(code.tasks(), 2);
  constexpr int d = 6000;
  double measured = 0.0;
  double model = 0.0;
  for (unsigned mask = 0; mask < (1U << 8); ++mask) {
    const int f = std::popcount(mask);
    if (f == 0 || f >= 6 || mask % 5 != 0) continue;
    const auto from = members(mask, 8);
    const state_vector s = finished_exactly(code, from, rng);
    tracker.set_state(s);
    CAPTURE(mask);
    CHECK_FALSE(code.ready(tracker));
    CHECK((code.decoding(s, from) - least_squares_decoding(code, s, from)).norm() == 0.0);
    const double m = expected_error(code, s, from, d);
    CHECK(m > 1e-6);
    const Eigen::MatrixXd g = random_gradients(rng, 8, d);
    measured += (round_trip(code, s, from, g) - g.rowwise().sum()).squaredNorm() / (8.0 * d);
    model += m;
  }
  MESSAGE("measured / model = " << measured / model);
  CHECK(measured / model == doctest::Approx(1.0).epsilon(0.03));
}

TEST_CASE("polynomial code readiness counts finished workers only") {
  const polynomial_code code(6, 3, 2);  // s = 1, K = 5
  progress_tracker tracker(code.tasks(), 2);
  tracker.set_state({3, 3, 3, 3, 2, 2});
  CHECK_FALSE(code.ready(tracker));
  CHECK(code.used(4, tracker.state()) == 0);
  CHECK(code.encoding(4, tracker.state()).rows() == 0);
  CHECK(code.used(0, tracker.state()) == 3);
  tracker.report(5, 3);
  CHECK(code.ready(tracker));
  CHECK(code.senders(tracker.state()) == std::vector<int>{0, 1, 2, 3, 5});
}

TEST_CASE("chebyshev and custom evaluation points decode exactly") {
  std::mt19937_64 rng(13);
  const polynomial_code cheb(9, 5, 3, evaluation_points::chebyshev);
  for (std::size_t w = 0; w < 9; ++w) {
    CHECK(cheb.points()[w] == doctest::Approx(std::cos((2.0 * w + 1.0) * std::numbers::pi / 18.0)));
  }
  CHECK(worst_exact_error(cheb, rng, 31) < 1e-10);
  const polynomial_code custom(5, 3, 2, std::vector<double>{0.5, -0.25, 2.0, 1.0, -1.5});
  CHECK(custom.points()[2] == 2.0);
  CHECK(worst_exact_error(custom, rng, 12) < 1e-10);
}

// Not a pass/fail property of our code but of the scheme: record how fast the monomial
// Vandermonde decode loses accuracy (DESIGN.md: ~1e-14 at N = 8 to ~1e-4 at N = 30, garbage at
// N = 40, equispaced, s = 2, ell = 2).
TEST_CASE("the polynomial code decoding error grows exponentially with N") {
  std::mt19937_64 rng(2018);
  constexpr int d = 200;
  std::ostringstream table;
  table << "polynomial code, s = 2, ell = 2: worst relative decoding error over 5 K-subsets\n";
  table << "   N  equispaced   chebyshev\n";
  double equi8 = 0.0;
  double equi28 = 0.0;
  double equi40 = 0.0;
  double cheb40 = 0.0;
  for (int n = 8; n <= 40; n += 4) {
    const polynomial_code equi(n, 4, 2);
    const polynomial_code cheb(n, 4, 2, evaluation_points::chebyshev);
    const double e = worst_exact_error(equi, rng, d);
    const double c = worst_exact_error(cheb, rng, d);
    char line[64];
    std::snprintf(line, sizeof line, "  %2d  %10.2e  %10.2e\n", n, e, c);
    table << line;
    if (n == 8) equi8 = e;
    if (n == 28) equi28 = e;
    if (n == 40) {
      equi40 = e;
      cheb40 = c;
    }
  }
  MESSAGE(table.str());
  CHECK(equi8 < 1e-9);
  // Orders of magnitude lost by N = 28 and more by N = 40.
  CHECK(equi28 > 1e3 * equi8);
  CHECK(equi40 > equi28);
  // Chebyshev points are better conditioned but the monomial basis still degrades.
  CHECK(cheb40 < equi40);
}
