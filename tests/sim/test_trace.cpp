#include <string>

#include <doctest/doctest.h>

#include "pgc/coding/assignment.hpp"
#include "pgc/core/error.hpp"
#include "pgc/sim/completion_calculator.hpp"
#include "pgc/sim/trace.hpp"

using pgc::sim::parse_trace;

namespace {

std::string error_of(const std::string& text, const pgc::coding::assignment& tasks) {
  try {
    parse_trace(text, tasks);
  } catch (const pgc::core::input_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a trace replays to the hand-computed completion times") {
  // Cyclic N = 4, load 2: worker w holds w, w+1. Finish times:
  //   w0: chunks 0, 1 at 1, 2     w1: chunks 1, 2 at 1, 6
  //   w2: chunks 2, 3 at 2, 4     w3: chunk 3 at 1, fails before chunk 0
  const auto tasks = pgc::coding::cyclic(4, 2);
  const auto times =
      parse_trace("# a comment line\n1 1\n1 5   # slow second chunk\n\n2\t2\n1 inf\n", tasks);
  pgc::sim::completion_calculator calc(tasks, 1);
  // First copies: chunk 0 at 1, chunk 1 at 1, chunk 2 at 2, chunk 3 at 1 -> 2.
  CHECK(calc.proposed(times) == 2.0);
  // Whole lists {2, 6, 4, inf}, s = 1: the third finisher at 6.
  CHECK(calc.original(times, 1) == 6.0);
  // ell = 2 needs both copies of chunk 0, and worker 3 never processes it.
  CHECK(pgc::sim::completion_calculator(tasks, 2).proposed(times) == pgc::sim::k_never);
}

TEST_CASE("a failed worker's line may stop at inf") {
  const auto tasks = pgc::coding::cyclic(3, 3);
  const auto times = parse_trace("1 1 1\n2 inf\n1 2 3\n", tasks);
  CHECK(times.row(1)[2] == pgc::sim::k_never);
  CHECK(times.finish(2)[2] == 6.0);
}

TEST_CASE("bad trace lines are rejected with the line number") {
  const auto tasks = pgc::coding::cyclic(2, 2);
  CHECK(error_of("1 1\n1 x\n", tasks) == "trace line 2: 'x' is not a time in seconds");
  CHECK(error_of("1 1\n1 -2\n", tasks) == "trace line 2: negative time -2");
  CHECK(error_of("1 1\n1 nan\n", tasks) == "trace line 2: 'nan' is not a time in seconds");
  CHECK(error_of("inf 1\n1 1\n", tasks).find("trace line 1: finite time 1 after inf") == 0);
  CHECK(error_of("1 1 1\n1 1\n", tasks) == "trace line 1: 3 times but worker 0 holds 2 chunks");
  CHECK(error_of("1 1\n\n1\n", tasks).find("trace line 3: 1 times but worker 1 holds 2 chunks") ==
        0);
  CHECK(error_of("1 1\n1 1\n1 1\n", tasks).find("trace line 3: more lines than") == 0);
  CHECK(error_of("1 1\n", tasks) == "trace has 1 worker lines, the assignment has 2 workers");
}
