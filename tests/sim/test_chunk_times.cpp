#include <vector>

#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/sim/chunk_times.hpp"

using pgc::sim::chunk_times;

TEST_CASE("finish times are prefix sums and the state at a deadline counts them") {
  const std::vector<int> loads{3, 0, 2};
  chunk_times t(loads);
  CHECK(t.workers() == 3);
  CHECK(t.load(1) == 0);
  const std::vector<double> w0{0.5, 1.0, 2.0};
  std::copy(w0.begin(), w0.end(), t.row(0).begin());
  t.row(2)[0] = 4.0;
  t.row(2)[1] = pgc::sim::k_never;
  t.update_finish();
  CHECK(t.finish(0)[0] == 0.5);
  CHECK(t.finish(0)[1] == 1.5);
  CHECK(t.finish(0)[2] == 3.5);
  CHECK(t.list_finish(0) == 3.5);
  CHECK(t.list_finish(1) == 0.0);
  CHECK(t.list_finish(2) == pgc::sim::k_never);
  CHECK(t.first_chunk(2) == 4.0);
  // A chunk finished exactly at the deadline counts.
  CHECK(t.state_at(1.5) == pgc::coding::state_vector{2, 0, 0});
  CHECK(t.state_at(4.0) == pgc::coding::state_vector{3, 0, 1});
  CHECK(t.state_at(1e300) == pgc::coding::state_vector{3, 0, 1});
}

TEST_CASE("chunk times must have the shape of the assignment") {
  const pgc::coding::assignment tasks(3, {{0, 1}, {2}});
  const std::vector<int> wrong{2, 2};
  CHECK_THROWS_AS(chunk_times(wrong).check_shape(tasks), pgc::core::input_error);
  CHECK_NOTHROW(chunk_times(tasks).check_shape(tasks));
}
