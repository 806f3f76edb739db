#include "pgc/sim/straggler_model.hpp"

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "pgc/core/error.hpp"

namespace pgc::sim {

using core::input_error;

delay_distribution parse_delay_distribution(std::string_view text) {
  if (text == "shifted-exp") return delay_distribution::shifted_exponential;
  if (text == "pareto") return delay_distribution::pareto;
  throw input_error("unknown delay distribution '" + std::string(text) + "' (shifted-exp, pareto)");
}

std::string_view to_string(delay_distribution d) noexcept {
  return d == delay_distribution::pareto ? "pareto" : "shifted-exp";
}

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw input_error(what);
}

bool finite(double x) {
  return std::isfinite(x);
}

}  // namespace

void straggler_model::validate() const {
  require(finite(shift) && shift >= 0.0, "--shift must be a finite number >= 0");
  require(finite(rate) && rate > 0.0, "--rate must be a finite number > 0");
  require(finite(pareto_scale) && pareto_scale > 0.0, "--pareto-scale must be a finite number > 0");
  require(finite(pareto_alpha) && pareto_alpha > 0.0, "--pareto-alpha must be a finite number > 0");
  require(finite(slow_fraction) && slow_fraction >= 0.0 && slow_fraction <= 1.0,
          "--slow-fraction must be in [0, 1]");
  require(finite(slow_factor) && slow_factor > 0.0, "--slow-factor must be a finite number > 0");
  require(finite(fail_fraction) && fail_fraction >= 0.0 && fail_fraction <= 1.0,
          "--fail-fraction must be in [0, 1]");
  require(slow_fraction + fail_fraction <= 1.0,
          "--slow-fraction plus --fail-fraction must not exceed 1");
}

void straggler_model::sample(std::mt19937_64& rng, chunk_times& out) const {
  const int n = out.workers();
  if (distribution == delay_distribution::shifted_exponential) {
    std::exponential_distribution<double> tail(rate);
    for (int w = 0; w < n; ++w) {
      for (double& t : out.row(w))
        t = shift + tail(rng);
    }
  } else {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double inv_alpha = 1.0 / pareto_alpha;
    for (int w = 0; w < n; ++w) {
      // 1 - U lies in (0, 1], so the power is finite.
      for (double& t : out.row(w))
        t = pareto_scale * std::pow(1.0 - unit(rng), -inv_alpha);
    }
  }

  const auto slow = static_cast<int>(std::lround(slow_fraction * n));
  const auto failed = static_cast<int>(std::lround(fail_fraction * n));
  if (slow + failed > 0) {
    // A partial Fisher-Yates shuffle picks the slow workers first, then the failed ones.
    std::vector<int> pick(static_cast<std::size_t>(n));
    std::iota(pick.begin(), pick.end(), 0);
    const int chosen = std::min(n, slow + failed);
    for (int k = 0; k < chosen; ++k) {
      std::uniform_int_distribution<int> at(k, n - 1);
      std::swap(pick[static_cast<std::size_t>(k)], pick[static_cast<std::size_t>(at(rng))]);
    }
    for (int k = 0; k < chosen; ++k) {
      auto row = out.row(pick[static_cast<std::size_t>(k)]);
      if (k < slow) {
        for (double& t : row)
          t *= slow_factor;
      } else if (!row.empty()) {
        std::uniform_int_distribution<std::size_t> at(0, row.size() - 1);
        for (std::size_t p = at(rng); p < row.size(); ++p)
          row[p] = k_never;
      }
    }
  }
  out.update_finish();
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) noexcept {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace pgc::sim
