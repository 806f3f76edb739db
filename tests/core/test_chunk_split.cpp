#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/chunk_split.hpp"
#include "pgc/core/error.hpp"

using pgc::core::chunk_range;
using pgc::core::input_error;
using pgc::core::split_chunks;

TEST_CASE("chunk split gives the remainder to the first chunks") {
  const std::vector<chunk_range> expected{{0, 4}, {4, 3}, {7, 3}};
  CHECK(split_chunks(10, 3) == expected);
  CHECK(split_chunks(5, 5) == std::vector<chunk_range>{{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}});
  CHECK(split_chunks(7, 1) == std::vector<chunk_range>{{0, 7}});
}

TEST_CASE("chunk split covers every sample exactly once with sizes differing by at most one") {
  for (long samples : {1L, 2L, 7L, 64L, 100L, 999L, 60000L}) {
    for (int chunks : {1, 2, 3, 7, 8, 10, 33}) {
      if (chunks > samples) continue;
      CAPTURE(samples);
      CAPTURE(chunks);
      const auto ranges = split_chunks(samples, chunks);
      REQUIRE(ranges.size() == static_cast<std::size_t>(chunks));
      std::vector<int> seen(static_cast<std::size_t>(samples), 0);
      long smallest = samples;
      long largest = 0;
      for (const chunk_range& r : ranges) {
        CHECK(r.count >= 1);
        smallest = std::min(smallest, r.count);
        largest = std::max(largest, r.count);
        for (long i = r.begin; i < r.end(); ++i)
          ++seen[static_cast<std::size_t>(i)];
      }
      CHECK(largest - smallest <= 1);
      CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
      CHECK(ranges.back().end() == samples);
    }
  }
}

TEST_CASE("chunk split rejects more chunks than samples and empty inputs") {
  CHECK_THROWS_AS(split_chunks(3, 4), input_error);
  CHECK_THROWS_WITH(split_chunks(3, 4), "cannot cut 3 samples into 4 non-empty chunks");
  CHECK_THROWS_AS(split_chunks(10, 0), input_error);
  CHECK_THROWS_AS(split_chunks(0, 1), input_error);
}
