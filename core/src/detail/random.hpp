#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace pgc::core::detail {

// A portable generator: splitmix64 for the bits and Box-Muller for normals.
// std::normal_distribution is implementation-defined, and the PS and its workers (possibly built
// with different standard libraries) must derive bit-identical synthetic data and initial models
// from one seed.
class portable_random {
 public:
  explicit portable_random(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in (0, 1]: never 0, so log() below stays finite.
  double uniform() { return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; }

  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(uniform()));
    const double angle = 2.0 * std::numbers::pi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace pgc::core::detail
