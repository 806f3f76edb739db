#pragma once

#include <cstdint>
#include <random>
#include <string_view>

#include "pgc/sim/chunk_times.hpp"

namespace pgc::sim {

enum class delay_distribution {
  shifted_exponential,  // shift + Exp(rate): a fixed cost plus a memoryless tail
  pareto,               // scale * U^(-1/alpha): heavy tails, infinite variance for alpha <= 2
};

// "shifted-exp" or "pareto"; throws core::input_error otherwise.
delay_distribution parse_delay_distribution(std::string_view text);
std::string_view to_string(delay_distribution d) noexcept;

// How long every chunk takes. Each chunk time is an independent draw of the base distribution;
// then, in every trial, exactly round(slow_fraction N) workers chosen at random have all their
// times multiplied by slow_factor (partial stragglers), and exactly round(fail_fraction N)
// other workers fail at a uniformly random position of their list (full stragglers).
struct straggler_model {
  delay_distribution distribution = delay_distribution::shifted_exponential;
  double shift = 1.0;
  double rate = 1.0;
  double pareto_scale = 1.0;
  double pareto_alpha = 2.0;
  double slow_fraction = 0.0;
  double slow_factor = 1.0;
  double fail_fraction = 0.0;

  // Throws core::input_error naming the bad parameter.
  void validate() const;

  // Fill every row of `out` (already shaped) and its finish times.
  void sample(std::mt19937_64& rng, chunk_times& out) const;
};

// An independent seed for stream `index` (a trial) of a run seeded with `seed` (splitmix64),
// so the draw of a trial does not depend on what other trials consumed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) noexcept;

}  // namespace pgc::sim
