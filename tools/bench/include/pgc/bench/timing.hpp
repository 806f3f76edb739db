#pragma once

#include <chrono>
#include <functional>
#include <utility>

namespace pgc::bench {

// Seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Seconds per call of `fn`: each of `repeats` runs calls it until at least `min_seconds` have
// passed; the best run counts. One untimed call warms caches and allocations first.
double best_seconds(const std::function<void()>& fn, int repeats, double min_seconds);

// The same for an operation and its baseline, run alternately so both see the same machine.
// Returns {seconds per call of a, seconds per call of b}.
std::pair<double, double> best_pair(const std::function<void()>& a, const std::function<void()>& b,
                                    int repeats, double min_seconds);

}  // namespace pgc::bench
