#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "pgc/coding/baselines.hpp"
#include "pgc/coding/cyclic_repetition.hpp"
#include "pgc/coding/fractional_repetition_code.hpp"
#include "pgc/coding/ignore_stragglers.hpp"
#include "pgc/coding/polynomial_code.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/uncoded.hpp"
#include "pgc/core/error.hpp"
#include "round_trip.hpp"

using namespace pgc::coding;

namespace {

using test::random_gradients;
using test::relative_error;
using test::round_trip;

// |g_hat - g|^2 / (m d): the quantity expected_error predicts.
double normalized_squared_error(const scheme& code, const state_vector& s,
                                const std::vector<int>& from, const Eigen::MatrixXd& g) {
  const Eigen::VectorXd sum = g.rowwise().sum();
  return (round_trip(code, s, from, g) - sum).squaredNorm() /
         (static_cast<double>(code.chunks()) * static_cast<double>(g.rows()));
}

// The workers of `mask` have finished; every other worker stopped somewhere before the end.
state_vector finished_exactly(const scheme& code, unsigned mask, std::mt19937_64& rng) {
  state_vector s(static_cast<std::size_t>(code.workers()));
  for (int w = 0; w < code.workers(); ++w) {
    const int load = code.tasks().load(w);
    s[static_cast<std::size_t>(w)] =
        (mask >> w & 1U) != 0 ? load : static_cast<int>(rng() % static_cast<unsigned>(load));
  }
  return s;
}

std::vector<int> members(unsigned mask, int workers) {
  std::vector<int> out;
  for (int w = 0; w < workers; ++w) {
    if ((mask >> w & 1U) != 0) out.push_back(w);
  }
  return out;
}

// A uniformly random subset of `size` workers, as a bit mask.
unsigned random_subset(std::mt19937_64& rng, int workers, int size) {
  std::vector<int> ids(static_cast<std::size_t>(workers));
  for (int w = 0; w < workers; ++w)
    ids[static_cast<std::size_t>(w)] = w;
  std::shuffle(ids.begin(), ids.end(), rng);
  unsigned mask = 0;
  for (int k = 0; k < size; ++k)
    mask |= 1U << ids[static_cast<std::size_t>(k)];
  return mask;
}

}  // namespace

TEST_CASE("cyclic repetition decodes exactly from every set of N minus s finishers") {
  std::mt19937_64 rng(17);
  int subsets = 0;
  double worst = 0.0;
  for (int n = 1; n <= 8; ++n) {
    for (int s = 0; s < n; ++s) {
      const cyclic_repetition code(n, s, rng());
      progress_tracker tracker(code.tasks(), 1);
      for (unsigned mask = 0; mask < (1U << n); ++mask) {
        if (std::popcount(mask) != n - s) continue;
        ++subsets;
        const state_vector state = finished_exactly(code, mask, rng);
        tracker.set_state(state);
        const auto from = members(mask, n);
        CAPTURE(n);
        CAPTURE(s);
        CAPTURE(mask);
        REQUIRE(code.ready(tracker));
        REQUIRE(code.senders(state) == from);
        const Eigen::MatrixXd g = random_gradients(rng, n, 5);
        const double rel = relative_error(code, state, from, g);
        worst = std::max(worst, rel);
        REQUIRE(rel < 1e-9);
        CHECK(expected_error(code, state, from, 5) < 1e-18);
        const Eigen::MatrixXd dec = code.decoding(state, from);
        REQUIRE(dec.rows() == 1);
        REQUIRE(dec.cols() == static_cast<Eigen::Index>(from.size()));
        CHECK((dec - least_squares_decoding(code, state, from)).norm() <= 1e-10 * dec.norm());
      }
    }
  }
  MESSAGE("subsets: " << subsets << ", worst relative error " << worst);
  CHECK(subsets == 502);  // sum over n = 1..8 of 2^n - 1 (s = 0..n-1)
}

TEST_CASE(
    "cyclic repetition rows sit on the cyclic lists and span a space of dimension N minus s") {
  for (int n = 2; n <= 9; ++n) {
    for (int s = 0; s < n; ++s) {
      const cyclic_repetition code(n, s, 100 + static_cast<std::uint64_t>(n * 10 + s));
      CHECK(code.tasks() == cyclic(n, s + 1));
      const Eigen::MatrixXd& b = code.b();
      for (int i = 0; i < n; ++i) {
        CHECK(b(i, i) == 1.0);
        const auto list = code.tasks().list(i);
        for (int j = 0; j < n; ++j) {
          if (std::find(list.begin(), list.end(), j) == list.end()) CHECK(b(i, j) == 0.0);
        }
      }
      // Every row is in the (N - s)-dimensional null(H); any N - s of them span it.
      Eigen::FullPivLU<Eigen::MatrixXd> lu(b);
      lu.setThreshold(1e-10);
      CAPTURE(n);
      CAPTURE(s);
      CHECK(lu.rank() == n - s);
    }
  }
}

TEST_CASE("with fewer finishers the cyclic repetition error model matches the measured error") {
  std::mt19937_64 rng(23);
  double measured = 0.0;
  double model = 0.0;
  int cases = 0;
  constexpr int d = 4000;
  for (int round = 0; round < 40; ++round) {
    const int n = 6 + static_cast<int>(rng() % 5);
    const int s = 2 + static_cast<int>(rng() % 3);
    const cyclic_repetition code(n, s, rng());
    const int finishers = 1 + static_cast<int>(rng() % static_cast<unsigned>(n - s - 1));
    const unsigned mask = random_subset(rng, n, finishers);
    const state_vector state = finished_exactly(code, mask, rng);
    progress_tracker tracker(code.tasks(), 1);
    tracker.set_state(state);
    CHECK_FALSE(code.ready(tracker));
    const auto from = members(mask, n);
    const double m = expected_error(code, state, from, d);
    CAPTURE(round);
    REQUIRE(m > 1e-6);  // N - s - 1 rows never span the ones vector
    CHECK((code.decoding(state, from) - least_squares_decoding(code, state, from)).norm() <=
          1e-10 * code.decoding(state, from).norm());
    // A single draw with d = 4000 deviates by a few percent; the sum over 40 by well under 1%.
    const double one = normalized_squared_error(code, state, from, random_gradients(rng, n, d));
    CHECK(one == doctest::Approx(m).epsilon(0.15));
    measured += one;
    model += m;
    ++cases;
  }
  MESSAGE("cases: " << cases << ", measured / model = " << measured / model);
  CHECK(measured / model == doctest::Approx(1.0).epsilon(0.03));
}

TEST_CASE(
    "cyclic repetition is ready from N minus s finished workers and uses only finished ones") {
  const cyclic_repetition code(5, 2, 7);  // L_i = i, i+1, i+2
  progress_tracker tracker(code.tasks(), 1);
  tracker.set_state({3, 3, 2, 0, 1});
  CHECK_FALSE(code.ready(tracker));
  CHECK(code.used(0, tracker.state()) == 3);
  CHECK(code.used(2, tracker.state()) == 0);
  CHECK(code.encoding(2, tracker.state()).rows() == 0);
  CHECK(code.senders(tracker.state()) == std::vector<int>{0, 1});
  tracker.report(4, 3);
  CHECK(code.ready(tracker));
  const Eigen::MatrixXd c = code.encoding(4, tracker.state());
  REQUIRE(c.rows() == 3);
  REQUIRE(c.cols() == 1);
  CHECK(c(0, 0) == 1.0);  // B[4, 4]
  CHECK(c(1, 0) == code.b()(4, 0));
  CHECK(c(2, 0) == code.b()(4, 1));
  CHECK(code.stragglers() == 2);
  CHECK(code.name() == "original-cyclic-repetition");
}

TEST_CASE("fractional repetition decodes exactly once every group has a reply") {
  std::mt19937_64 rng(31);
  const fractional_repetition_code code(12, 3);  // groups {0,1,2} {3,4,5} {6,7,8} {9,10,11}
  CHECK(code.tasks() == fractional_repetition(12, 3));
  CHECK(code.group_size() == 3);
  CHECK(code.name() == "fractional-repetition");
  progress_tracker tracker(code.tasks(), 1);
  int exact = 0;
  int partial = 0;
  for (unsigned mask = 1; mask < (1U << 12); mask += 7) {
    const state_vector state = finished_exactly(code, mask, rng);
    tracker.set_state(state);
    const auto from = members(mask, 12);
    int groups_heard = 0;
    for (int group = 0; group < 4; ++group) {
      if ((mask >> (3 * group) & 7U) != 0) ++groups_heard;
    }
    CAPTURE(mask);
    CHECK(code.ready(tracker) == (groups_heard == 4));
    const Eigen::MatrixXd dec = code.decoding(state, from);
    for (std::size_t t = 0; t < from.size(); ++t) {
      const int group = from[t] / 3;
      CHECK(dec(0, static_cast<Eigen::Index>(t)) ==
            doctest::Approx(1.0 / std::popcount(mask >> (3 * group) & 7U)));
    }
    CHECK((dec - least_squares_decoding(code, state, from)).norm() < 1e-12);
    // A missing group loses its three chunks: E|err|^2 / (m d) = 3 * missing / 12.
    const double closed_form = 3.0 * (4 - groups_heard) / 12.0;
    CHECK(expected_error(code, state, from, 6) == doctest::Approx(closed_form));
    const Eigen::MatrixXd g = random_gradients(rng, 12, 6);
    const Eigen::VectorXd sum = g.rowwise().sum();
    Eigen::VectorXd heard_sum = Eigen::VectorXd::Zero(6);
    for (int group = 0; group < 4; ++group) {
      if ((mask >> (3 * group) & 7U) != 0) heard_sum += g.middleCols(3 * group, 3).rowwise().sum();
    }
    CHECK((round_trip(code, state, from, g) - heard_sum).norm() < 1e-12 * (1.0 + sum.norm()));
    (groups_heard == 4 ? exact : partial) += 1;
  }
  MESSAGE("exact cases: " << exact << ", partial cases: " << partial);
  CHECK(exact > 100);
  CHECK(partial > 50);
}

TEST_CASE("fractional repetition is ready exactly when every group has a finished worker") {
  const fractional_repetition_code code(6, 2);  // groups {0,1} {2,3} {4,5}
  progress_tracker tracker(code.tasks(), 1);
  tracker.set_state({2, 1, 2, 2, 1, 1});
  CHECK_FALSE(code.ready(tracker));
  CHECK(code.senders(tracker.state()) == std::vector<int>{0, 2, 3});
  CHECK(code.encoding(1, tracker.state()).rows() == 0);
  CHECK(code.encoding(0, tracker.state()) == Eigen::MatrixXd::Ones(2, 1));
  tracker.report(5, 2);
  CHECK(code.ready(tracker));
  tracker.remove(0);
  CHECK_FALSE(code.ready(tracker));
}

TEST_CASE("ignore stragglers rescales the sum and its error matches the closed form") {
  std::mt19937_64 rng(41);
  constexpr int n = 10;
  const ignore_stragglers code(n, 3);
  CHECK(code.tasks() == cyclic(n, 1));
  CHECK(code.name() == "ignore-stragglers");
  progress_tracker tracker(code.tasks(), 1);
  constexpr int d = 5000;
  for (int f = 1; f <= n; ++f) {
    const unsigned mask = random_subset(rng, n, f);
    const state_vector state = finished_exactly(code, mask, rng);
    tracker.set_state(state);
    CHECK(code.ready(tracker) == (f >= n - 3));
    const auto from = members(mask, n);
    const Eigen::MatrixXd dec = code.decoding(state, from);
    for (Eigen::Index t = 0; t < dec.cols(); ++t) {
      CHECK(dec(0, t) == doctest::Approx(static_cast<double>(n) / f));
    }
    const double ratio = static_cast<double>(n) / f;
    const double closed_form = (f * (ratio - 1.0) * (ratio - 1.0) + (n - f)) / n;
    CAPTURE(f);
    CHECK(expected_error(code, state, from, d) == doctest::Approx(closed_form).epsilon(1e-12));
    const Eigen::MatrixXd g = random_gradients(rng, n, d);
    const double measured = normalized_squared_error(code, state, from, g);
    if (f == n) {
      CHECK(measured < 1e-24);
    } else {
      CHECK(measured == doctest::Approx(closed_form).epsilon(0.08));
    }
  }
}

TEST_CASE("uncoded waits for every worker and sums their results") {
  std::mt19937_64 rng(43);
  const uncoded code(5);
  CHECK(code.tasks() == cyclic(5, 1));
  CHECK(code.name() == "uncoded");
  progress_tracker tracker(code.tasks(), 1);
  tracker.set_state({1, 1, 0, 1, 1});
  CHECK_FALSE(code.ready(tracker));
  const state_vector partial = tracker.state();
  const std::vector<int> four{0, 1, 3, 4};
  CHECK(code.decoding(partial, four) == Eigen::MatrixXd::Ones(1, 4));
  // One chunk of five is missing from the sum.
  CHECK(expected_error(code, partial, four, 8) == doctest::Approx(0.2));
  tracker.report(2, 1);
  CHECK(code.ready(tracker));
  const std::vector<int> all{0, 1, 2, 3, 4};
  const Eigen::MatrixXd g = random_gradients(rng, 5, 8);
  CHECK(relative_error(code, tracker.state(), all, g) < 1e-15);
  CHECK(expected_error(code, tracker.state(), all, 8) == 0.0);
}

TEST_CASE("bad arguments to the baseline schemes throw input errors") {
  using pgc::core::input_error;
  CHECK_THROWS_WITH_AS(cyclic_repetition(4, 4, 1), doctest::Contains("0 <= stragglers < workers"),
                       input_error);
  CHECK_THROWS_AS(cyclic_repetition(4, -1, 1), input_error);
  CHECK_THROWS_AS(cyclic_repetition(0, 0, 1), input_error);
  CHECK_THROWS_WITH_AS(polynomial_code(6, 3, 4), doctest::Contains("ell <= load"), input_error);
  CHECK_THROWS_AS(polynomial_code(6, 3, 0), input_error);
  CHECK_THROWS_WITH_AS(polynomial_code(6, 7, 2), doctest::Contains("load <= workers"), input_error);
  CHECK_THROWS_AS(polynomial_code(0, 1, 1), input_error);
  CHECK_THROWS_WITH_AS(polynomial_code(3, 2, 2, std::vector<double>{0.0, 1.0}),
                       doctest::Contains("one evaluation point per worker"), input_error);
  CHECK_THROWS_WITH_AS(polynomial_code(3, 2, 2, std::vector<double>{0.0, 1.0, 0.0}),
                       doctest::Contains("share the evaluation point"), input_error);
  CHECK_THROWS_AS(polynomial_code(3, 2, 2, std::vector<double>{0.0, 1.0, std::nan("")}),
                  input_error);
  CHECK_THROWS_WITH_AS(fractional_repetition_code(10, 3), doctest::Contains("divide"), input_error);
  CHECK_THROWS_AS(fractional_repetition_code(4, 0), input_error);
  CHECK_THROWS_WITH_AS(ignore_stragglers(5, 5), doctest::Contains("0 <= stragglers < workers"),
                       input_error);
  CHECK_THROWS_AS(ignore_stragglers(5, -1), input_error);
  CHECK_THROWS_AS(uncoded(0), input_error);
  CHECK_THROWS_WITH_AS(make_original(6, 1, 2, 0), doctest::Contains("load >= ell"), input_error);
  CHECK_THROWS_WITH_AS(make_original(6, 7, 1, 0), doctest::Contains("load <= workers"),
                       input_error);
  CHECK_THROWS_AS(make_original(6, 2, 0, 0), input_error);
  // A tracker for a larger ell than the code's replication is refused too.
  const uncoded code(3);
  CHECK_THROWS_AS(progress_tracker(code.tasks(), 2), input_error);
}

TEST_CASE("scheme kinds parse from their names and print back to them") {
  for (const auto kind :
       {scheme_kind::proposed, scheme_kind::original, scheme_kind::fractional_repetition,
        scheme_kind::ignore_stragglers, scheme_kind::uncoded}) {
    CHECK(parse_scheme_kind(to_string(kind)) == kind);
  }
  CHECK(parse_scheme_kind("frc") == scheme_kind::fractional_repetition);
  CHECK(parse_scheme_kind("ignore") == scheme_kind::ignore_stragglers);
  CHECK(to_string(scheme_kind::original) == "original");
  CHECK_THROWS_WITH_AS(parse_scheme_kind("Original"),
                       doctest::Contains("proposed, original, frc, ignore, uncoded"),
                       pgc::core::input_error);
  CHECK_THROWS_AS(parse_scheme_kind(""), pgc::core::input_error);
}

TEST_CASE("make original builds cyclic repetition for ell 1 and the polynomial code otherwise") {
  const auto one = make_original(7, 3, 1, 5);
  REQUIRE(dynamic_cast<const cyclic_repetition*>(one.get()) != nullptr);
  CHECK(one->name() == "original-cyclic-repetition");
  CHECK(one->ell() == 1);
  CHECK(one->tasks() == cyclic(7, 3));
  CHECK(dynamic_cast<const cyclic_repetition&>(*one).stragglers() == 2);
  // The seed decides H, so two builds with one seed agree.
  CHECK(dynamic_cast<const cyclic_repetition&>(*one).b() ==
        dynamic_cast<const cyclic_repetition&>(*make_original(7, 3, 1, 5)).b());

  const auto two = make_original(7, 3, 2, 5);
  REQUIRE(dynamic_cast<const polynomial_code*>(two.get()) != nullptr);
  CHECK(two->name() == "original-polynomial");
  CHECK(two->ell() == 2);
  CHECK(two->tasks() == cyclic(7, 3));
  CHECK(dynamic_cast<const polynomial_code&>(*two).stragglers() == 1);
  CHECK(dynamic_cast<const polynomial_code&>(*two).needed() == 6);
}
