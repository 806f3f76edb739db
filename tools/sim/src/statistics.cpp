#include "pgc/sim/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pgc/core/error.hpp"

namespace pgc::sim {

double quantile(std::span<const double> sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  if (frac == 0.0) return sorted[lo];
  // inf - inf would be NaN: an interpolation that touches infinity is infinite.
  if (std::isinf(sorted[hi]) || std::isinf(sorted[lo]))
    return std::numeric_limits<double>::infinity();
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

summary summarize(std::vector<double> values) {
  if (values.empty()) throw core::input_error("no values to summarize");
  summary s;
  s.count = values.size();
  double sum = 0.0;
  for (double v : values) {
    if (std::isnan(v)) throw core::input_error("cannot summarize NaN");
    if (std::isinf(v)) ++s.infinite;
    sum += v;
  }
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  s.median = quantile(values, 0.5);
  s.q05 = quantile(values, 0.05);
  s.q95 = quantile(values, 0.95);
  if (s.infinite > 0) {
    s.mean = s.stddev = std::numeric_limits<double>::infinity();
    return s;
  }
  s.mean = sum / static_cast<double>(s.count);
  double sq = 0.0;
  for (double v : values)
    sq += (v - s.mean) * (v - s.mean);
  s.stddev = s.count > 1 ? std::sqrt(sq / static_cast<double>(s.count - 1)) : 0.0;
  return s;
}

}  // namespace pgc::sim
