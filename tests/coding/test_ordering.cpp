#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/coding/ordering.hpp"
#include "pgc/core/error.hpp"

using namespace pgc::coding;
using pgc::core::input_error;

namespace {

// Q_max straight from its definition: the largest number of processed chunks over every state
// s (s_i = 0..|L_i|, a prefix of each list) in which some chunk has fewer than ell copies,
// plus 1. Exponential; only for a handful of workers with short lists.
std::int64_t brute_force_q_max(const assignment& a, int ell) {
  const int n = a.workers();
  std::vector<int> s(static_cast<std::size_t>(n), 0);
  std::vector<int> copies(static_cast<std::size_t>(a.chunks()));
  std::int64_t best = -1;
  while (true) {
    std::fill(copies.begin(), copies.end(), 0);
    std::int64_t done = 0;
    for (int w = 0; w < n; ++w) {
      const auto list = a.list(w);
      for (int p = 0; p < s[static_cast<std::size_t>(w)]; ++p) {
        ++copies[static_cast<std::size_t>(list[static_cast<std::size_t>(p)])];
      }
      done += s[static_cast<std::size_t>(w)];
    }
    if (std::any_of(copies.begin(), copies.end(), [&](int c) { return c < ell; })) {
      best = std::max(best, done);
    }
    // Next state in mixed radix (digit w runs over 0..|L_w|).
    int w = 0;
    while (w < n && s[static_cast<std::size_t>(w)] == a.load(w))
      s[static_cast<std::size_t>(w++)] = 0;
    if (w == n) break;
    ++s[static_cast<std::size_t>(w)];
  }
  return best + 1;
}

// A random assignment: each worker gets a random subset of at most max_load chunks in random
// order (possibly none); chunks nobody drew go to a random worker. Usually not regular.
assignment random_assignment(std::mt19937_64& rng, int max_workers, int max_chunks, int max_load) {
  const int n = std::uniform_int_distribution<int>(1, max_workers)(rng);
  const int m = std::uniform_int_distribution<int>(1, max_chunks)(rng);
  std::vector<int> ids(static_cast<std::size_t>(m));
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<std::vector<int>> lists(static_cast<std::size_t>(n));
  std::vector<bool> held(static_cast<std::size_t>(m), false);
  for (auto& l : lists) {
    const int load = std::uniform_int_distribution<int>(0, std::min(m, max_load))(rng);
    std::shuffle(ids.begin(), ids.end(), rng);
    l.assign(ids.begin(), ids.begin() + load);
    for (const int c : l)
      held[static_cast<std::size_t>(c)] = true;
  }
  for (int c = 0; c < m; ++c) {
    if (held[static_cast<std::size_t>(c)]) continue;
    auto& l = lists[std::uniform_int_distribution<std::size_t>(0, lists.size() - 1)(rng)];
    l.insert(l.begin() + std::uniform_int_distribution<std::ptrdiff_t>(
                             0, static_cast<std::ptrdiff_t>(l.size()))(rng),
             c);
  }
  return assignment(m, std::move(lists));
}

bool same_chunks_per_worker(const assignment& a, const assignment& b) {
  if (a.workers() != b.workers() || a.chunks() != b.chunks()) return false;
  for (int w = 0; w < a.workers(); ++w) {
    auto x = a.lists()[static_cast<std::size_t>(w)];
    auto y = b.lists()[static_cast<std::size_t>(w)];
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    if (x != y) return false;
  }
  return true;
}

// Every list processes its chunks in increasing id order: all workers follow one global order,
// so the chunks late in it are late everywhere.
assignment globally_sorted(const assignment& a) {
  auto lists = a.lists();
  for (auto& l : lists)
    std::sort(l.begin(), l.end());
  return a.reordered(std::move(lists));
}

}  // namespace

TEST_CASE("q_max of the cyclic assignment with three workers matches the hand count") {
  // L0 = 0 1, L1 = 1 2, L2 = 2 0; every chunk is first on one holder (r = 2) and second on the
  // other (r = 1). Total load 6.
  const auto a = cyclic(3, 2);
  // ell = 1: both holders must stop before the chunk: v = 2 + 1 = 3, Q_max = 1 + 6 - 3 = 4
  // (chunk 0 missing: W0 does nothing, W2 does chunk 2, W1 does both, 3 chunks).
  CHECK(q_max(a, 1) == 4);
  // ell = 2: one holder stopping before it is enough: v = 1, Q_max = 1 + 6 - 1 = 6.
  CHECK(q_max(a, 2) == 6);
  CHECK(q_max_balanced_order(3, 2, 1) == 4);
  CHECK(q_max_balanced_order(3, 2, 2) == 6);
  CHECK_THROWS_AS(q_max(a, 0), input_error);
  CHECK_THROWS_WITH_AS(q_max(a, 3), doctest::Contains("larger than the replication"), input_error);
}

TEST_CASE("q_max of fractional repetition counts a group that stops before its last chunk") {
  // L0 = L1 = 0 1, L2 = L3 = 2 3. Chunk 0 has r = 2, 2; chunk 1 has r = 1, 1. Total 8.
  const auto a = fractional_repetition(4, 2);
  // ell = 1: v1 = 1 + 1 = 2 is the minimum: W0 and W1 each finish chunk 0 only, W2 and W3 finish
  // everything: 6 chunks with chunk 1 missing. Q_max = 7.
  CHECK(q_max(a, 1) == 7);
  // ell = 2: v = the smallest r = 1 (chunk 1 or 3). Q_max = 1 + 8 - 1 = 8.
  CHECK(q_max(a, 2) == 8);
  // Reversing the order of one worker per group puts each chunk once first and once second:
  // v = 2 + 1 = 3 for every chunk, Q_max = 6, the regular optimum.
  const auto better = a.reordered({{0, 1}, {1, 0}, {2, 3}, {3, 2}});
  CHECK(q_max(better, 1) == 6);
  CHECK(q_max_balanced_order(4, 2, 1) == 6);
}

TEST_CASE("q_max of a non regular assignment from the text format matches the hand count") {
  // W0 = 0 1 2, W1 = 2, W2 = 1 0, W3 = nothing. Total load 6.
  // Chunk 0: W0 pos 0 (r = 3), W2 pos 1 (r = 1). Chunk 1: W0 pos 1 (r = 2), W2 pos 0 (r = 2).
  // Chunk 2: W0 pos 2 (r = 1), W1 pos 0 (r = 1).
  const auto a = parse_assignment("0 1 2\n2\n1 0\n-\n");
  // ell = 1: v = 4, 4, 2; Q_max = 1 + 6 - 2 = 5 (W0 stops before chunk 2, W1 does nothing).
  CHECK(q_max(a, 1) == 5);
  // ell = 2: v = min r = 1, 2, 1; Q_max = 1 + 6 - 1 = 6.
  CHECK(q_max(a, 2) == 6);
  CHECK(brute_force_q_max(a, 1) == 5);
  CHECK(brute_force_q_max(a, 2) == 6);
  CHECK_THROWS_AS(q_max(a, 3), input_error);
}

TEST_CASE("q_max equals a brute force over all states on random small assignments") {
  std::mt19937_64 rng(2024);
  int compared = 0;
  int above_one = 0;
  for (int t = 0; t < 600; ++t) {
    const auto a = random_assignment(rng, 5, 5, 4);
    for (int ell = 1; ell <= a.min_replication(); ++ell) {
      CAPTURE(format_assignment(a));
      CAPTURE(ell);
      CHECK(q_max(a, ell) == brute_force_q_max(a, ell));
      ++compared;
      if (ell > 1) ++above_one;
    }
  }
  // Make sure the generator exercised more than ell = 1 on single copies.
  CHECK(compared > 700);
  CHECK(above_one > 150);
}

TEST_CASE("the balanced order formula validates its arguments") {
  // 1 + N delta - (delta - ell + 1)(delta - ell + 2) / 2.
  CHECK(q_max_balanced_order(6, 3, 2) == 16);
  CHECK(q_max_balanced_order(10, 4, 1) == 31);
  CHECK(q_max_balanced_order(10, 4, 4) == 40);
  CHECK(q_max_balanced_order(100000, 1000, 1) == 1 + 100000000LL - 1000LL * 1001 / 2);
  CHECK_THROWS_AS(q_max_balanced_order(0, 1, 1), input_error);
  CHECK_THROWS_AS(q_max_balanced_order(5, 0, 1), input_error);
  CHECK_THROWS_AS(q_max_balanced_order(5, 6, 1), input_error);
  CHECK_THROWS_AS(q_max_balanced_order(5, 3, 0), input_error);
  CHECK_THROWS_WITH_AS(q_max_balanced_order(5, 3, 4), doctest::Contains("ell"), input_error);
}

TEST_CASE("random orders are permutations of the lists and depend on the seed") {
  const auto a = random_regular(50, 6, 3);
  const auto x = order_random(a, 1);
  CHECK(same_chunks_per_worker(a, x));
  CHECK(x == order_random(a, 1));
  CHECK_FALSE(x == order_random(a, 2));
  CHECK_FALSE(x == a);
}

TEST_CASE("the matching order puts every chunk at every position once and reaches the formula") {
  for (const int n : {1, 2, 5, 17, 60, 200}) {
    for (const int delta : {1, 2, 3, 5, 8}) {
      if (delta > n) continue;
      for (const std::uint64_t seed : {1u, 2u}) {
        CAPTURE(n);
        CAPTURE(delta);
        CAPTURE(seed);
        const auto a = random_regular(n, delta, seed);
        const auto o = order_regular_optimal(a);
        CHECK(same_chunks_per_worker(a, o));
        REQUIRE(o.is_regular());
        for (int p = 0; p < delta; ++p) {
          std::vector<int> column;
          for (const auto& l : o.lists())
            column.push_back(l[static_cast<std::size_t>(p)]);
          std::sort(column.begin(), column.end());
          std::vector<int> all(static_cast<std::size_t>(n));
          std::iota(all.begin(), all.end(), 0);
          CHECK(column == all);
        }
        for (int ell = 1; ell <= delta; ++ell) {
          CAPTURE(ell);
          CHECK(q_max(o, ell) == q_max_balanced_order(n, delta, ell));
        }
      }
    }
  }
}

TEST_CASE("the matching order handles thousands of workers") {
  const auto a = random_regular(5000, 8, 4);
  const auto o = order_regular_optimal(a);
  CHECK(same_chunks_per_worker(a, o));
  for (int ell = 1; ell <= 8; ++ell)
    CHECK(q_max(o, ell) == q_max_balanced_order(5000, 8, ell));
}

TEST_CASE("the matching order fixes the globally sorted cyclic and frc orders") {
  // Sorted, chunk 7 is the last chunk of all four of its holders (W4 to W7): v = 4 * 1 and
  // Q_max = 1 + 32 - 4 = 29. The matching order reaches 1 + 32 - (1 + 2 + 3 + 4) = 23.
  const auto sorted = globally_sorted(cyclic(8, 4));
  CHECK(q_max(sorted, 1) == 29);
  const auto o = order_regular_optimal(sorted);
  CHECK(q_max(o, 1) == 23);
  CHECK(q_max(order_regular_optimal(fractional_repetition(6, 3)), 1) ==
        q_max_balanced_order(6, 3, 1));
}

TEST_CASE("for ell between one and delta another order can beat the matching order") {
  // Found by the local search: six workers that all hold all six chunks, ell = 3. The matching
  // order has v_j = 1 + 2 + 3 + 4 = 10 for every chunk, so Q_max = 1 + 36 - 10 = 27. Here the
  // four smallest r_i(j) of every chunk add up to at least 11, so Q_max = 26; the brute force
  // over all 7^6 states confirms it.
  const auto better = parse_assignment(
      "3 0 4 5 1 2\n2 0 3 5 4 1\n2 0 1 5 4 3\n3 1 4 5 2 0\n3 1 4 5 2 0\n2 1 0 4 5 3\n");
  REQUIRE(better.is_regular());
  const auto matched = order_regular_optimal(better);
  CHECK(q_max(matched, 3) == 27);
  CHECK(q_max_balanced_order(6, 6, 3) == 27);
  CHECK(q_max(better, 3) == 26);
  CHECK(brute_force_q_max(better, 3) == 26);
  // For ell = 1 the matching order stays the best: 1 + 36 - 21 = 16.
  CHECK(q_max(matched, 1) == 16);
  CHECK(q_max(better, 1) >= 16);
}

TEST_CASE("the matching order rejects non regular assignments") {
  CHECK_THROWS_WITH_AS(order_regular_optimal(cyclic(4, 3, 8)), doctest::Contains("regular"),
                       input_error);
  // Right degrees for workers but chunk 0 held twice and chunk 2 once.
  CHECK_THROWS_AS(order_regular_optimal(parse_assignment("0 1\n0 2\n1 0\n", 3)), input_error);
  CHECK_THROWS_AS(order_regular_optimal(parse_assignment("0 1\n1\n")), input_error);
}

TEST_CASE("local search never makes q_max worse on random assignments") {
  std::mt19937_64 rng(7);
  int improved = 0;
  int runs = 0;
  for (int t = 0; t < 300; ++t) {
    const auto a = random_assignment(rng, 12, 12, 5);
    for (int ell = 1; ell <= std::min(a.min_replication(), 3); ++ell) {
      CAPTURE(format_assignment(a));
      CAPTURE(ell);
      const auto o = order_local_search(a, ell, static_cast<std::uint64_t>(t));
      CHECK(same_chunks_per_worker(a, o));
      const auto before = q_max(a, ell);
      const auto after = q_max(o, ell);
      CHECK(after <= before);
      if (after < before) ++improved;
      ++runs;
    }
  }
  // Random orders of random lists are far from optimal; the search must find something.
  CHECK(runs >= 300);
  CHECK(improved > runs / 10);
}

TEST_CASE("local search improves a globally sorted cyclic order") {
  for (const int ell : {1, 2, 3}) {
    CAPTURE(ell);
    const auto sorted = globally_sorted(cyclic(8, 4));
    const auto o = order_local_search(sorted, ell, 5);
    CHECK(same_chunks_per_worker(sorted, o));
    CHECK(q_max(o, ell) < q_max(sorted, ell));
    // For ell = 1 nothing beats the every-chunk-at-every-position order (the v_j sum to a
    // constant); for larger ell the formula is not a lower bound (see the test below).
    if (ell == 1) CHECK(q_max(o, ell) >= q_max_balanced_order(8, 4, ell));
  }
  // Same seed, same result.
  const auto sorted = globally_sorted(cyclic(8, 4));
  CHECK(order_local_search(sorted, 1, 9) == order_local_search(sorted, 1, 9));
  CHECK_THROWS_AS(order_local_search(sorted, 5, 1), input_error);
}

TEST_CASE("local search improves a larger non regular assignment quickly") {
  // 300 workers and 400 chunks, loads 6: replication 4 or 5, so not regular. In the globally
  // sorted order the chunks that wrap around (0 to 4) come first on workers that hold them last
  // in cyclic order, and the chunks just before them come last everywhere.
  const auto sorted = globally_sorted(cyclic(300, 6, 400));
  REQUIRE_FALSE(sorted.is_regular());
  for (const int ell : {1, 2}) {
    CAPTURE(ell);
    const auto o = order_local_search(sorted, ell, 1);
    CHECK(same_chunks_per_worker(sorted, o));
    CHECK(q_max(o, ell) < q_max(sorted, ell));
  }
}

TEST_CASE("order kinds parse from their names and reject anything else") {
  for (const auto kind :
       {order_kind::keep, order_kind::random, order_kind::optimal, order_kind::heuristic}) {
    CHECK(parse_order_kind(to_string(kind)) == kind);
  }
  CHECK(to_string(order_kind::heuristic) == "heuristic");
  CHECK(parse_order_kind("optimal") == order_kind::optimal);
  CHECK_THROWS_WITH_AS(parse_order_kind("best"),
                       doctest::Contains("'best', expected one of: keep, random, optimal, heuristic"),
                       input_error);
  CHECK_THROWS_AS(parse_order_kind(""), input_error);
  CHECK_THROWS_AS(parse_order_kind("Keep"), input_error);
}

TEST_CASE("apply_order dispatches on the kind and names the method it used") {
  const auto regular = globally_sorted(random_regular(30, 4, 11));
  // Every chunk has three holders but the loads are 4, 3, 2, 3.
  const auto irregular = parse_assignment("0 1 2 3\n3 2 1\n0 3\n1 2 0\n");

  const auto keep = apply_order(irregular, order_kind::keep, 1, 1);
  CHECK(keep.method == "keep");
  CHECK(keep.tasks == irregular);

  const auto random = apply_order(regular, order_kind::random, 2, 1);
  CHECK(random.method == "random");
  CHECK(random.tasks == order_random(regular, 1));

  const auto optimal = apply_order(regular, order_kind::optimal, 1, 1);
  CHECK(optimal.method == "matchings");
  CHECK(q_max(optimal.tasks, 1) == q_max_balanced_order(30, 4, 1));
  // 1 < ell < delta: the balanced order polished by local search, never worse than balanced.
  const auto polished = apply_order(regular, order_kind::optimal, 2, 1);
  CHECK(polished.method == "matchings + local search");
  CHECK(q_max(polished.tasks, 2) <= q_max_balanced_order(30, 4, 2));

  const auto fallback = apply_order(irregular, order_kind::optimal, 2, 3);
  CHECK(fallback.method == "local search");
  CHECK(fallback.tasks == order_local_search(irregular, 2, 3));
  CHECK(q_max(fallback.tasks, 2) <= q_max(irregular, 2));

  const auto heuristic = apply_order(regular, order_kind::heuristic, 1, 4);
  CHECK(heuristic.method == "local search");
  CHECK(q_max(heuristic.tasks, 1) < q_max(regular, 1));

  CHECK_THROWS_AS(apply_order(irregular, order_kind::keep, 4, 1), input_error);
  CHECK_THROWS_AS(apply_order(regular, order_kind::optimal, 0, 1), input_error);
}
