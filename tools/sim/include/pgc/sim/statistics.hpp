#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace pgc::sim {

// Summary of a sample that may contain +inf (a scheme that never completed in a trial).
// Quantiles use linear interpolation between order statistics (numpy's default, "type 7") and
// are +inf when they reach into the infinite values; mean and std are +inf if any value is.
struct summary {
  std::size_t count = 0;
  std::size_t infinite = 0;
  double mean = 0.0;
  double stddev = 0.0;  // sample standard deviation (n - 1); 0 for one value
  double median = 0.0;
  double q05 = 0.0;
  double q95 = 0.0;
  double min = 0.0;
  double max = 0.0;
};

// Throws core::input_error for an empty sample or a NaN.
summary summarize(std::vector<double> values);

// q-quantile, 0 <= q <= 1, of values sorted in increasing order (not empty).
double quantile(std::span<const double> sorted, double q);

}  // namespace pgc::sim
