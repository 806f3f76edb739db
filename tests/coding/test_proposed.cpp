#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/core/error.hpp"
#include "round_trip.hpp"

using namespace pgc::coding;

namespace {

struct cluster_case {
  assignment tasks;
  int ell;
};

// A random assignment of one of four shapes, every list shuffled, ell <= min replication.
cluster_case random_case(std::mt19937_64& rng, int max_workers, int max_ell) {
  const int n = 2 + static_cast<int>(rng() % static_cast<unsigned>(max_workers - 1));
  const int delta = 1 + static_cast<int>(rng() % static_cast<unsigned>(std::min(n, max_ell + 2)));
  std::vector<std::vector<int>> lists;
  int chunks = n;
  switch (rng() % 4) {
    case 0:
      lists = cyclic(n, delta).lists();
      break;
    case 1:
      lists = random_regular(n, delta, rng()).lists();
      break;
    case 2: {
      const int d = delta;
      const int groups = std::max(1, n / d);
      lists = fractional_repetition(groups * d, d).lists();
      chunks = groups * d;
      break;
    }
    default: {
      // Non-regular: a regular base plus extra random chunks for some workers.
      lists = random_regular(n, delta, rng()).lists();
      for (auto& l : lists) {
        const int extra = static_cast<int>(rng() % 3);
        for (int e = 0; e < extra; ++e) {
          const int c = static_cast<int>(rng() % static_cast<unsigned>(n));
          if (std::find(l.begin(), l.end(), c) == l.end()) l.push_back(c);
        }
      }
    }
  }
  for (auto& l : lists)
    std::shuffle(l.begin(), l.end(), rng);
  assignment tasks(chunks, std::move(lists));
  const int ell =
      1 +
      static_cast<int>(rng() % static_cast<unsigned>(std::min(tasks.min_replication(), max_ell)));
  return {std::move(tasks), ell};
}

// Either a state close to the end (often ready) or a uniformly random one.
state_vector random_state(std::mt19937_64& rng, const assignment& tasks) {
  state_vector s(static_cast<std::size_t>(tasks.workers()));
  const bool late = rng() % 2 == 0;
  for (int w = 0; w < tasks.workers(); ++w) {
    const int load = tasks.load(w);
    const int drop = late ? static_cast<int>(rng() % 3)
                          : static_cast<int>(rng() % static_cast<unsigned>(load + 1));
    s[static_cast<std::size_t>(w)] = std::max(0, load - drop);
  }
  return s;
}

using test::random_gradients;

// Every sender encodes its own chunk gradients; the PS decodes.
Eigen::VectorXd round_trip(const proposed& code, const state_vector& s, const Eigen::MatrixXd& g) {
  return test::round_trip(code, s, code.senders(s), g);
}

}  // namespace

TEST_CASE("with ell equal to 1 each holder sends its chunks divided by their copy counts") {
  const auto a = cyclic(3, 2);  // L0 = 0 1, L1 = 1 2, L2 = 2 0
  const proposed code(a, 1, 5);
  const state_vector s{2, 2, 1};  // chunk 0: W0 only, chunk 1: W0 W1, chunk 2: W1 W2
  const Eigen::MatrixXd c0 = code.encoding(0, s);
  REQUIRE(c0.rows() == 2);
  CHECK(c0(0, 0) == doctest::Approx(1.0));
  CHECK(c0(1, 0) == doctest::Approx(0.5));
  CHECK(code.encoding(1, s)(1, 0) == doctest::Approx(0.5));
  CHECK(code.encoding(2, s)(0, 0) == doctest::Approx(0.5));
  const state_vector s2{2, 0, 1};  // chunk 1 only at W0, chunk 2 only at W2
  CHECK(code.encoding(0, s2)(1, 0) == doctest::Approx(1.0));
  CHECK(code.encoding(2, s2)(0, 0) == doctest::Approx(1.0));
  CHECK(code.senders(s2) == std::vector<int>{0, 2});
}

TEST_CASE("decode of encode equals the sum of chunk gradients whenever the tracker is ready") {
  std::mt19937_64 rng(2024);
  int ready_cases = 0;
  double worst = 0.0;
  for (int round = 0; round < 400; ++round) {
    const auto [tasks, ell] = random_case(rng, round % 10 == 0 ? 200 : 40, 8);
    const proposed code(tasks, ell, rng());
    progress_tracker tracker(code.tasks(), ell);
    const state_vector s = random_state(rng, code.tasks());
    tracker.set_state(s);
    if (!tracker.covered()) continue;
    ++ready_cases;
    const int d = ell * (1 + static_cast<int>(rng() % 4)) +
                  static_cast<int>(rng() % static_cast<unsigned>(ell));
    const Eigen::MatrixXd g = random_gradients(rng, code.chunks(), std::max(d, 1));
    const Eigen::VectorXd sum = g.rowwise().sum();
    const double rel = (round_trip(code, s, g) - sum).norm() / sum.norm();
    worst = std::max(worst, rel);
    CAPTURE(round);
    CAPTURE(ell);
    REQUIRE(rel < 1e-9);
    CHECK(expected_error(code, s, code.senders(s), static_cast<int>(g.rows())) < 1e-18);
  }
  MESSAGE("ready cases: " << ready_cases << ", worst relative error " << worst);
  CHECK(ready_cases >= 100);
}

TEST_CASE("when not ready the measured error matches the error model within a few percent") {
  std::mt19937_64 rng(99);
  int cases = 0;
  for (int round = 0; cases < 40 && round < 400; ++round) {
    const auto [tasks, ell] = random_case(rng, 24, 8);
    const proposed code(tasks, ell, rng());
    progress_tracker tracker(code.tasks(), ell);
    const state_vector s = random_state(rng, code.tasks());
    tracker.set_state(s);
    if (tracker.covered()) continue;
    ++cases;
    // The error is a chi-square with about model * m * d degrees of freedom: pick d so that its
    // relative spread is about 1%.
    const double unit_model = expected_error(code, s, code.senders(s), 1000 * ell);
    REQUIRE(unit_model > 0.0);
    const int d = std::min(400000, static_cast<int>(20000.0 / (unit_model * code.chunks())) + ell);
    const double model = expected_error(code, s, code.senders(s), d);
    const Eigen::MatrixXd g = random_gradients(rng, code.chunks(), d);
    const Eigen::VectorXd sum = g.rowwise().sum();
    // E|g - decode|^2 / E|g|^2 with E|g|^2 = m d.
    const double measured =
        (round_trip(code, s, g) - sum).squaredNorm() / (static_cast<double>(code.chunks()) * d);
    CAPTURE(round);
    CAPTURE(ell);
    CAPTURE(model);
    CHECK(measured == doctest::Approx(model).epsilon(0.04));
  }
  CHECK(cases == 40);
}

TEST_CASE("the error model counts missing rank per chunk") {
  // ell = 1: the error is the fraction of chunks nobody has processed.
  const auto a = cyclic(6, 2);
  const proposed one(a, 1, 3);
  const state_vector s{1, 0, 0, 1, 0, 0};  // chunks 0 and 3 processed, 4 of 6 missing
  CHECK(expected_error(one, s, one.senders(s), 10) == doctest::Approx(4.0 / 6.0));
  // ell = 2, d = 4: a chunk with one copy loses one of its two blocks.
  const proposed two(a, 2, 3);
  const state_vector t{2, 2, 2, 2, 2, 1};  // chunk 0 has one copy (W0; W5 stopped before it)
  CHECK(expected_error(two, t, two.senders(t), 4) == doctest::Approx(1.0 / 12.0));
  CHECK(expected_error(two, state_vector(6, 0), {}, 4) == doctest::Approx(1.0));
}

TEST_CASE("only chunks within the state vector count even when the worker has done more") {
  std::mt19937_64 rng(5);
  const auto a = random_regular(10, 4, 9);
  const proposed code(a, 2, 17);
  const state_vector s{2, 3, 1, 4, 0, 2, 2, 3, 1, 4};
  const Eigen::MatrixXd all = random_gradients(rng, 4, 7);  // worker 0's four chunk gradients
  Eigen::MatrixXd changed = all;
  changed.rightCols(2).setConstant(1e6);  // chunks past s_0 = 2
  CHECK((encode(code, 0, s, all) - encode(code, 0, s, changed)).norm() == 0.0);
  CHECK((encode(code, 0, s, all) - encode(code, 0, s, all.leftCols(2))).norm() == 0.0);
  CHECK_THROWS_AS(encode(code, 0, s, all.leftCols(1)), pgc::core::input_error);
}

TEST_CASE("workers compute their coefficients alone and agree with the decoder") {
  // Each holder of a chunk uses its own row of pinv(R[:, S_j]); stacked, the rows make a right
  // inverse of R[:, S_j] once |S_j| >= ell.
  const auto a = random_regular(12, 5, 4);
  const proposed code(a, 3, 8);
  const state_vector s{5, 4, 3, 5, 2, 5, 5, 1, 4, 5, 3, 5};
  for (int c = 0; c < a.chunks(); ++c) {
    std::vector<int> cols;
    Eigen::MatrixXd b(0, 3);
    for (const holder& h : a.holders(c)) {
      if (h.position >= s[static_cast<std::size_t>(h.worker)]) continue;
      cols.push_back(h.worker);
      b.conservativeResize(b.rows() + 1, Eigen::NoChange);
      b.row(b.rows() - 1) = code.encoding(h.worker, s).row(h.position);
    }
    if (cols.size() < 3) continue;
    const Eigen::MatrixXd product = code.r()(Eigen::all, cols) * b;
    CHECK((product - Eigen::MatrixXd::Identity(3, 3)).norm() < 1e-10);
  }
}

TEST_CASE("the proposed scheme rejects a malformed R and bad states") {
  const auto a = cyclic(4, 2);
  CHECK_THROWS_WITH_AS(proposed(a, Eigen::MatrixXd::Ones(2, 3)),
                       doctest::Contains("R has 3 columns"), pgc::core::input_error);
  Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(1, 4);
  nan(0, 1) = std::nan("");
  CHECK_THROWS_AS(proposed(a, nan), pgc::core::input_error);
  CHECK_THROWS_AS(proposed(a, 3, 1), pgc::core::input_error);
  const proposed code(a, 2, 1);
  const Eigen::MatrixXd g = Eigen::MatrixXd::Ones(4, 2);
  CHECK_THROWS_WITH_AS(encode(code, 0, {3, 0, 0, 0}, g), doctest::Contains("outside [0, 2]"),
                       pgc::core::input_error);
  CHECK_THROWS_AS(encode(code, 0, {1, 0, 0}, g), pgc::core::input_error);
  const std::vector<int> twice{0, 0};
  CHECK_THROWS_WITH_AS(decode(code, {1, 0, 0, 0}, twice, Eigen::MatrixXd::Ones(2, 2), 4),
                       doctest::Contains("two replies from worker 0"), pgc::core::input_error);
  const std::vector<int> one{0};
  CHECK_THROWS_WITH_AS(decode(code, {1, 0, 0, 0}, one, Eigen::MatrixXd::Ones(3, 1), 4),
                       doctest::Contains("coded vectors of length 2"), pgc::core::input_error);
}
