#include <random>

#include <doctest/doctest.h>

#include "pgc/coding/progress_tracker.hpp"
#include "pgc/core/error.hpp"

using namespace pgc::coding;

namespace {

// The tracker's counters recomputed from scratch.
void check_against_recount(const progress_tracker& t) {
  const auto& a = t.tasks();
  const auto& s = t.state();
  int below = 0;
  int without_finisher = 0;
  for (int c = 0; c < a.chunks(); ++c) {
    int copies = 0;
    int finishers = 0;
    for (const holder& h : a.holders(c)) {
      if (h.position < s[static_cast<std::size_t>(h.worker)]) ++copies;
      if (s[static_cast<std::size_t>(h.worker)] == a.load(h.worker)) ++finishers;
    }
    REQUIRE(t.copies(c) == copies);
    if (copies < t.ell()) ++below;
    if (finishers == 0) ++without_finisher;
  }
  int finished = 0;
  long long processed = 0;
  for (int w = 0; w < a.workers(); ++w) {
    if (s[static_cast<std::size_t>(w)] == a.load(w)) ++finished;
    processed += s[static_cast<std::size_t>(w)];
  }
  CHECK(t.chunks_below_ell() == below);
  CHECK(t.covered() == (below == 0));
  CHECK(t.finished() == finished);
  CHECK(t.chunks_without_finisher() == without_finisher);
  CHECK(t.processed() == processed);
}

}  // namespace

TEST_CASE("the tracker becomes covered exactly when every chunk has ell copies") {
  const auto a = cyclic(3, 2);  // L0 = 0 1, L1 = 1 2, L2 = 2 0
  progress_tracker t(a, 1);
  CHECK_FALSE(t.covered());
  t.report(0, 1);  // chunk 0
  t.report(1, 1);  // chunk 1
  CHECK(t.chunks_below_ell() == 1);
  CHECK_FALSE(t.covered());
  t.report(2, 1);  // chunk 2
  CHECK(t.covered());
  CHECK(t.finished() == 0);

  progress_tracker t2(a, 2);
  t2.set_state({2, 2, 0});  // chunk 0: 1 copy, chunk 1: 2, chunk 2: 1
  CHECK(t2.chunks_below_ell() == 2);
  CHECK(t2.finished() == 2);
  CHECK(t2.chunks_without_finisher() == 0);
  t2.report(2, 2);
  CHECK(t2.covered());
}

TEST_CASE("reports never go backwards and removing a worker takes its copies away") {
  const auto a = cyclic(4, 2);
  progress_tracker t(a, 2);
  t.report(0, 2);
  t.report(0, 1);  // stale: ignored
  CHECK(t.state()[0] == 2);
  t.report(3, 2);  // chunks 3 0
  t.report(1, 2);  // chunks 1 2
  t.report(2, 2);  // chunks 2 3
  CHECK(t.covered());
  t.remove(1);
  CHECK(t.state()[1] == 0);
  CHECK_FALSE(t.covered());
  CHECK(t.chunks_below_ell() == 2);
  CHECK(t.finished() == 3);
  check_against_recount(t);
  t.report(1, 1);
  check_against_recount(t);
}

TEST_CASE("bad reports are rejected with a message") {
  const auto a = cyclic(4, 2);
  progress_tracker t(a, 1);
  CHECK_THROWS_WITH_AS(t.report(4, 1), doctest::Contains("unknown worker 4"),
                       pgc::core::input_error);
  CHECK_THROWS_WITH_AS(t.report(0, 3), doctest::Contains("reports 3 chunks done but holds 2"),
                       pgc::core::input_error);
  CHECK_THROWS_AS(t.report(0, -1), pgc::core::input_error);
  CHECK_THROWS_AS(t.set_state({1, 1}), pgc::core::input_error);
  CHECK_THROWS_AS(progress_tracker(a, 3), pgc::core::input_error);
}

TEST_CASE("the incremental counters agree with a recount over random report sequences") {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + static_cast<int>(rng() % 30);
    const int delta = 1 + static_cast<int>(rng() % static_cast<unsigned>(std::min(n, 6)));
    const auto a = random_regular(n, delta, rng());
    const int ell = 1 + static_cast<int>(rng() % static_cast<unsigned>(delta));
    progress_tracker t(a, ell);
    for (int step = 0; step < 4 * n; ++step) {
      const int w = static_cast<int>(rng() % static_cast<unsigned>(n));
      if (rng() % 10 == 0) {
        t.remove(w);
      } else {
        t.report(w, static_cast<int>(rng() % static_cast<unsigned>(delta + 1)));
      }
      check_against_recount(t);
    }
    t.reset();
    check_against_recount(t);
  }
}
