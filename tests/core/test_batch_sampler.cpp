#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/batch_sampler.hpp"
#include "pgc/core/error.hpp"

using pgc::core::batch_sampler;
using pgc::core::input_error;

TEST_CASE("batch shares are proportional to the chunk sizes and add up to the batch size") {
  const batch_sampler even({100, 100, 100, 100}, 64, 1);
  for (int j = 0; j < 4; ++j)
    CHECK(even.share(j) == 16);
  CHECK(even.steps_per_epoch() == 6);  // floor(100 / 16)

  // Uneven chunks: 1000 * 64 / 1750 = 36.57, 500 * 64 / 1750 = 18.29, 250 * 64 / 1750 = 9.14;
  // the floors give 63, the largest remainder (chunk 0) the last one.
  const batch_sampler uneven({1000, 500, 250}, 64, 1);
  CHECK(uneven.share(0) == 37);
  CHECK(uneven.share(1) == 18);
  CHECK(uneven.share(2) == 9);
  CHECK(uneven.steps_per_epoch() == 27);  // min(1000 / 37, 500 / 18, 250 / 9) = min(27, 27, 27)

  // From 7 = 1750 / 250 on every chunk has a share.
  for (long b : {7L, 8L, 100L, 999L, 1750L}) {
    const batch_sampler s({1000, 500, 250}, b, 9);
    long total = 0;
    for (int j = 0; j < s.chunks(); ++j) {
      CHECK(s.share(j) >= 1);
      CHECK(s.share(j) <= s.chunk_size(j));
      total += s.share(j);
    }
    CHECK(total == s.batch_size());
  }
}

TEST_CASE("every holder of a chunk draws the same samples for a step") {
  // Two samplers built apart (two processes) and repeated calls agree, sample for sample.
  const batch_sampler a({75, 75, 74, 74}, 40, 17);
  const batch_sampler b({75, 75, 74, 74}, 40, 17);
  for (std::uint64_t step = 0; step < 20; ++step) {
    for (int j = 0; j < 4; ++j) {
      const auto first = a.samples(j, step);
      CHECK(first == b.samples(j, step));
      CHECK(first == a.samples(j, step));
      CHECK(static_cast<long>(first.size()) == a.share(j));
      CHECK(std::is_sorted(first.begin(), first.end()));
      CHECK(std::adjacent_find(first.begin(), first.end()) == first.end());
      CHECK(first.front() >= 0);
      CHECK(first.back() < a.chunk_size(j));
    }
  }
  // The seed is part of the key.
  const batch_sampler other({75, 75, 74, 74}, 40, 18);
  CHECK(other.samples(0, 0) != a.samples(0, 0));
}

TEST_CASE("every sample of a chunk is used exactly once per epoch") {
  // 96 samples in 4 chunks of 24, a batch of 32: shares of 8, 3 steps per epoch, nothing left.
  const batch_sampler s({24, 24, 24, 24}, 32, 5);
  REQUIRE(s.steps_per_epoch() == 3);
  for (std::uint64_t epoch = 0; epoch < 4; ++epoch) {
    for (int j = 0; j < 4; ++j) {
      std::vector<long> seen;
      for (std::uint64_t k = 0; k < 3; ++k) {
        const auto part = s.samples(j, epoch * 3 + k);
        seen.insert(seen.end(), part.begin(), part.end());
      }
      std::sort(seen.begin(), seen.end());
      std::vector<long> all(24);
      std::iota(all.begin(), all.end(), 0L);
      CHECK(seen == all);
    }
  }
}

TEST_CASE("uneven chunk sizes use each sample at most once per epoch and drop fewer than a share") {
  // Chunk sizes that do not divide: 103, 61 and 7 samples, a batch of 20.
  const batch_sampler s({103, 61, 7}, 20, 3);
  const std::uint64_t steps = s.steps_per_epoch();
  REQUIRE(steps >= 1);
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    for (int j = 0; j < s.chunks(); ++j) {
      std::vector<long> seen;
      for (std::uint64_t k = 0; k < steps; ++k) {
        const auto part = s.samples(j, epoch * steps + k);
        seen.insert(seen.end(), part.begin(), part.end());
      }
      const std::set<long> distinct(seen.begin(), seen.end());
      CHECK(distinct.size() == seen.size());
      CHECK(static_cast<long>(seen.size()) == static_cast<long>(steps) * s.share(j));
      CHECK(*distinct.rbegin() < s.chunk_size(j));
    }
  }
  // The chunk that sets the epoch length leaves out fewer than its share.
  bool tight = false;
  for (int j = 0; j < s.chunks(); ++j) {
    if (s.chunk_size(j) - static_cast<long>(steps) * s.share(j) < s.share(j)) tight = true;
  }
  CHECK(tight);
}

TEST_CASE("each epoch reshuffles the samples of every chunk") {
  const batch_sampler s({50, 50}, 20, 11);
  REQUIRE(s.steps_per_epoch() == 5);
  for (int j = 0; j < 2; ++j) {
    // The first batch of consecutive epochs differ (a fixed order would repeat them).
    CHECK(s.samples(j, 0) != s.samples(j, 5));
    CHECK(s.samples(j, 5) != s.samples(j, 10));
    // Within an epoch the batches differ too.
    CHECK(s.samples(j, 0) != s.samples(j, 1));
  }
  // Chunks are drawn independently.
  CHECK(s.samples(0, 0) != s.samples(1, 0));
}

TEST_CASE("a batch of every sample is the whole data set at every step") {
  const batch_sampler s({10, 9, 9}, 28, 4);
  CHECK(s.steps_per_epoch() == 1);
  for (const std::uint64_t step : std::initializer_list<std::uint64_t>{0, 1, 7}) {
    for (int j = 0; j < 3; ++j) {
      std::vector<long> all(static_cast<std::size_t>(s.chunk_size(j)));
      std::iota(all.begin(), all.end(), 0L);
      CHECK(s.samples(j, step) == all);
    }
  }
}

TEST_CASE("the batch sampler refuses batch sizes outside the data set and chunks without a share") {
  CHECK_THROWS_AS(batch_sampler({10, 10}, 0, 1), input_error);
  CHECK_THROWS_AS(batch_sampler({10, 10}, 21, 1), input_error);
  CHECK_THROWS_AS(batch_sampler({}, 1, 1), input_error);
  CHECK_THROWS_AS(batch_sampler({10, 0}, 1, 1), input_error);
  // Chunks of 20, 20 and 2 samples and a batch of 3: 1.43, 1.43 and 0.14 round to 2, 1 and 0.
  CHECK_THROWS_WITH_AS(batch_sampler({20, 20, 2}, 3, 1),
                       "a batch of 3 gives chunk 2 (2 samples) no share; a batch of at least 21 "
                       "gives every chunk one",
                       input_error);
  CHECK_NOTHROW(batch_sampler({20, 20, 2}, 21, 1));
  const batch_sampler s({20, 20, 2}, 21, 1);
  CHECK_THROWS_AS((void)s.samples(3, 0), input_error);
}
