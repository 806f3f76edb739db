#include <algorithm>
#include <set>

#include <doctest/doctest.h>

#include "pgc/coding/assignment.hpp"
#include "pgc/core/error.hpp"

using namespace pgc::coding;
using pgc::core::input_error;

TEST_CASE("the cyclic assignment gives worker i the chunks i to i plus delta minus 1") {
  const auto a = cyclic(5, 3);
  CHECK(a.workers() == 5);
  CHECK(a.chunks() == 5);
  CHECK(a.lists()[0] == std::vector<int>{0, 1, 2});
  CHECK(a.lists()[3] == std::vector<int>{3, 4, 0});
  CHECK(a.lists()[4] == std::vector<int>{4, 0, 1});
  CHECK(a.is_regular());
  CHECK(a.min_replication() == 3);
  CHECK(a.total_load() == 15);
  // Holders of chunk 0 are workers 0, 3, 4 at positions 0, 2, 1.
  const auto h = a.holders(0);
  REQUIRE(h.size() == 3);
  CHECK(h[0].worker == 0);
  CHECK(h[0].position == 0);
  CHECK(h[1].worker == 3);
  CHECK(h[1].position == 2);
  CHECK(h[2].worker == 4);
  CHECK(h[2].position == 1);
}

TEST_CASE("a cyclic assignment with more chunks than workers spreads the start points") {
  const auto a = cyclic(4, 3, 8);
  CHECK(a.lists()[1] == std::vector<int>{2, 3, 4});
  CHECK(a.lists()[3] == std::vector<int>{6, 7, 0});
  CHECK_FALSE(a.is_regular());
  CHECK(a.min_replication() == 1);
  CHECK_THROWS_WITH_AS(cyclic(4, 1, 8), doctest::Contains("held by no worker"), input_error);
}

TEST_CASE("fractional repetition gives each group of delta workers the same delta chunks") {
  const auto a = fractional_repetition(6, 3);
  CHECK(a.lists()[0] == std::vector<int>{0, 1, 2});
  CHECK(a.lists()[2] == std::vector<int>{0, 1, 2});
  CHECK(a.lists()[3] == std::vector<int>{3, 4, 5});
  CHECK(a.is_regular());
  CHECK_THROWS_WITH_AS(fractional_repetition(7, 3), doctest::Contains("divide"), input_error);
}

TEST_CASE("random regular assignments are regular and simple and depend on the seed") {
  for (int n : {1, 2, 5, 17, 60, 200}) {
    for (int delta : {1, 2, 3, 8}) {
      if (delta > n) continue;
      const auto a = random_regular(n, delta, 7);
      CAPTURE(n);
      CAPTURE(delta);
      CHECK(a.is_regular());
      CHECK(a.min_replication() == delta);
      for (const auto& l : a.lists()) {
        CHECK(std::set<int>(l.begin(), l.end()).size() == static_cast<std::size_t>(delta));
      }
    }
  }
  CHECK(random_regular(40, 4, 1) == random_regular(40, 4, 1));
  CHECK_FALSE(random_regular(40, 4, 1) == random_regular(40, 4, 2));
}

TEST_CASE("the text format round trips and skips comments and blank lines") {
  const auto a = parse_assignment("# two workers\n2 0 1\n\n  1\t2 # trailing\n-\n", 0);
  CHECK(a.workers() == 3);
  CHECK(a.chunks() == 3);
  CHECK(a.lists()[0] == std::vector<int>{2, 0, 1});
  CHECK(a.lists()[1] == std::vector<int>{1, 2});
  CHECK(a.lists()[2].empty());
  CHECK(parse_assignment(format_assignment(a)) == a);
  CHECK(parse_assignment("0 1\n1 0\n", 2).chunks() == 2);
}

TEST_CASE("every validation error names the problem") {
  CHECK_THROWS_WITH_AS(assignment(3, {{0, 1}, {2, 3}}),
                       doctest::Contains("worker 1, position 1: chunk id 3 is out of range [0, 3)"),
                       input_error);
  CHECK_THROWS_WITH_AS(assignment(3, {{0, -1}, {2}}),
                       doctest::Contains("chunk id -1 is out of range"), input_error);
  CHECK_THROWS_WITH_AS(assignment(3, {{0, 1, 0}, {2}}),
                       doctest::Contains("worker 0 holds chunk 0 twice"), input_error);
  CHECK_THROWS_WITH_AS(assignment(4, {{0, 1}, {2}}),
                       doctest::Contains("chunk 3 is held by no worker"), input_error);
  CHECK_THROWS_WITH_AS(assignment(1, {}), doctest::Contains("at least one worker"), input_error);
  CHECK_THROWS_WITH_AS(
      cyclic(4, 2).check_ell(3),
      doctest::Contains("ell = 3 is larger than the replication of chunk 0 (held by 2 workers)"),
      input_error);
  CHECK_THROWS_WITH_AS(cyclic(4, 2).check_ell(0), doctest::Contains("ell must be at least 1"),
                       input_error);
  CHECK_NOTHROW(cyclic(4, 2).check_ell(2));
  CHECK_THROWS_WITH_AS(parse_assignment("0 1\n1 x\n"),
                       doctest::Contains("assignment line 2: 'x' is not a chunk id"), input_error);
  CHECK_THROWS_WITH_AS(parse_assignment("0 -\n"), doctest::Contains("line 1: '-'"), input_error);
  CHECK_THROWS_WITH_AS(parse_assignment("# nothing\n"), doctest::Contains("no workers"),
                       input_error);
  CHECK_THROWS_WITH_AS(parse_assignment("0 1\n1 7\n", 4), doctest::Contains("out of range [0, 4)"),
                       input_error);
  CHECK_THROWS_WITH_AS(cyclic(3, 4), doctest::Contains("--load"), input_error);
  CHECK_THROWS_WITH_AS(random_regular(3, 0, 1), doctest::Contains("--load"), input_error);
  CHECK_THROWS_WITH_AS(cyclic(3, 2).reordered({{1, 0}, {1, 2}, {2, 1}}),
                       doctest::Contains("worker 2 is not a permutation"), input_error);
  CHECK(cyclic(3, 2).reordered({{1, 0}, {2, 1}, {0, 2}}).lists()[0] == std::vector<int>{1, 0});
}
