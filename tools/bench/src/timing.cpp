#include "pgc/bench/timing.hpp"

#include <algorithm>
#include <limits>

namespace pgc::bench {
namespace {

// One timed run: calls fn until min_seconds have passed, returns seconds per call.
double timed_run(const std::function<void()>& fn, double min_seconds) {
  const auto start = std::chrono::steady_clock::now();
  long long calls = 0;
  double elapsed = 0;
  do {
    fn();
    ++calls;
    elapsed = seconds_since(start);
  } while (elapsed < min_seconds);
  return elapsed / static_cast<double>(calls);
}

}  // namespace

double best_seconds(const std::function<void()>& fn, int repeats, double min_seconds) {
  fn();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r)
    best = std::min(best, timed_run(fn, min_seconds));
  return best;
}

std::pair<double, double> best_pair(const std::function<void()>& a, const std::function<void()>& b,
                                    int repeats, double min_seconds) {
  a();
  b();
  double best_a = std::numeric_limits<double>::infinity();
  double best_b = best_a;
  for (int r = 0; r < repeats; ++r) {
    best_a = std::min(best_a, timed_run(a, min_seconds));
    best_b = std::min(best_b, timed_run(b, min_seconds));
  }
  return {best_a, best_b};
}

}  // namespace pgc::bench
