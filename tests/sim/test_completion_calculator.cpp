#include <cmath>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/coding/baselines.hpp"
#include "pgc/coding/ignore_stragglers.hpp"
#include "pgc/coding/ordering.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/coding/uncoded.hpp"
#include "pgc/core/error.hpp"
#include "pgc/sim/completion_calculator.hpp"
#include "pgc/sim/event_driven.hpp"
#include "pgc/sim/straggler_model.hpp"

using pgc::sim::chunk_times;
using pgc::sim::completion_calculator;
using pgc::sim::k_never;

namespace {

chunk_times fill(const pgc::coding::assignment& tasks,
                 const std::vector<std::vector<double>>& rows) {
  chunk_times t(tasks);
  for (int w = 0; w < tasks.workers(); ++w) {
    for (std::size_t p = 0; p < rows[static_cast<std::size_t>(w)].size(); ++p) {
      t.row(w)[p] = rows[static_cast<std::size_t>(w)][p];
    }
  }
  t.update_finish();
  return t;
}

// Cyclic N = 4, load 3: worker w holds w, w+1, w+2 (mod 4) in that order.
//   w0: times 1 1 1 -> finishes chunks 0, 1, 2 at 1, 2, 3
//   w1: times 2 2 2 -> finishes chunks 1, 2, 3 at 2, 4, 6
//   w2: times 1 3 1 -> finishes chunks 2, 3, 0 at 1, 4, 5
//   w3: times 5 1 1 -> finishes chunks 3, 0, 1 at 5, 6, 7
// Copies of each chunk arrive at: chunk 0 {1, 5, 6}, chunk 1 {2, 2, 7}, chunk 2 {3, 4, 1},
// chunk 3 {6, 4, 5}.
const std::vector<std::vector<double>> k_rows{{1, 1, 1}, {2, 2, 2}, {1, 3, 1}, {5, 1, 1}};

}  // namespace

TEST_CASE("proposed completion is the latest ell-th copy over the chunks") {
  const auto tasks = pgc::coding::cyclic(4, 3);
  const auto times = fill(tasks, k_rows);
  // ell = 1: smallest per chunk {1, 2, 1, 4} -> 4.
  CHECK(completion_calculator(tasks, 1).proposed(times) == 4.0);
  // ell = 2: second smallest per chunk {5, 2, 3, 5} -> 5.
  CHECK(completion_calculator(tasks, 2).proposed(times) == 5.0);
  // ell = 3: largest per chunk {6, 7, 4, 6} -> 7.
  CHECK(completion_calculator(tasks, 3).proposed(times) == 7.0);
}

TEST_CASE("original completion waits for N minus s whole lists") {
  const auto tasks = pgc::coding::cyclic(4, 3);
  const auto times = fill(tasks, k_rows);
  completion_calculator calc(tasks, 1);
  // Whole-list times {3, 6, 5, 7}; s = load - ell.
  CHECK(calc.original(times, 2) == 5.0);  // ell = 1: 2nd smallest
  CHECK(calc.original(times, 1) == 6.0);  // ell = 2: 3rd smallest
  CHECK(calc.original(times, 0) == 7.0);  // ell = 3: all
  // One chunk per worker takes the first chunk's time {1, 2, 1, 5}.
  CHECK(calc.ignore_stragglers(times, 1) == 2.0);
  CHECK(calc.uncoded(times) == 5.0);
  CHECK_THROWS_AS(calc.original(times, 4), pgc::core::input_error);
}

TEST_CASE("a failed worker delays or prevents completion") {
  const auto tasks = pgc::coding::cyclic(4, 3);
  auto rows = k_rows;
  rows[1] = {2, k_never, k_never};  // worker 1 fails after chunk 1 (at time 2)
  const auto times = fill(tasks, rows);
  // ell = 2: chunk 2 copies {3, inf, 1} -> 3; chunk 3 {inf, 4, 5} -> 5; chunk 1 {2, 2, 7} -> 2.
  CHECK(completion_calculator(tasks, 2).proposed(times) == 5.0);
  // ell = 3: chunk 2 never gets its third copy.
  CHECK(completion_calculator(tasks, 3).proposed(times) == k_never);
  // Whole lists {3, inf, 5, 7}: with s = 1 the third finisher is at 7, with s = 0 never.
  completion_calculator calc(tasks, 1);
  CHECK(calc.original(times, 1) == 7.0);
  CHECK(calc.original(times, 0) == k_never);
}

TEST_CASE("closed forms agree exactly with the event-driven simulation on random cases") {
  std::mt19937_64 rng(42);
  int checked = 0;
  for (int round = 0; round < 60; ++round) {
    const int n = std::uniform_int_distribution<int>(4, 11)(rng);
    const int load = std::uniform_int_distribution<int>(1, std::min(n, 4))(rng);
    const int ell = std::uniform_int_distribution<int>(1, load)(rng);
    const bool regular = round % 2 == 1;
    const auto base =
        regular ? pgc::coding::random_regular(n, load, rng()) : pgc::coding::cyclic(n, load);
    const auto tasks = pgc::coding::order_random(base, rng());

    pgc::sim::straggler_model model;
    model.slow_fraction = 0.2;
    model.slow_factor = 4.0;
    model.fail_fraction = round % 3 == 0 ? 0.25 : 0.0;
    chunk_times times(tasks);
    model.sample(rng, times);
    if (round % 4 == 0) {
      // Integer times force ties between workers.
      for (int w = 0; w < n; ++w) {
        for (double& t : times.row(w))
          t = std::isfinite(t) ? std::round(t) : t;
      }
      times.update_finish();
    }

    completion_calculator calc(tasks, ell);
    const pgc::coding::proposed ours(tasks, ell, 7);
    CHECK(calc.proposed(times) == pgc::sim::event_driven_completion(ours, times));

    const int s = load - ell;
    const auto original = pgc::coding::make_original(n, load, ell, 7);
    CHECK(calc.original(times, s) == pgc::sim::event_driven_completion(*original, times));

    // The one-chunk baselines on their own assignment, fed the first chunk of every worker.
    const std::vector<int> ones(static_cast<std::size_t>(n), 1);
    chunk_times single(ones);
    for (int w = 0; w < n; ++w)
      single.row(w)[0] = times.first_chunk(w);
    single.update_finish();
    const pgc::coding::ignore_stragglers ignore(n, s);
    CHECK(calc.ignore_stragglers(times, s) == pgc::sim::event_driven_completion(ignore, single));
    const pgc::coding::uncoded all(n);
    CHECK(calc.uncoded(times) == pgc::sim::event_driven_completion(all, single));
    ++checked;
  }
  CHECK(checked == 60);
}
