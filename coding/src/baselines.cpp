#include "pgc/coding/baselines.hpp"

#include <array>
#include <string>
#include <utility>

#include "pgc/coding/cyclic_repetition.hpp"
#include "pgc/coding/polynomial_code.hpp"
#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

constexpr std::array<std::pair<std::string_view, scheme_kind>, 5> k_names{{
    {"proposed", scheme_kind::proposed},
    {"original", scheme_kind::original},
    {"frc", scheme_kind::fractional_repetition},
    {"ignore", scheme_kind::ignore_stragglers},
    {"uncoded", scheme_kind::uncoded},
}};

}  // namespace

core::name_table<scheme_kind> scheme_kind_names() noexcept { return k_names; }

scheme_kind parse_scheme_kind(std::string_view text) {
  return core::parse_name(scheme_kind_names(), text, "scheme");
}

std::string_view to_string(scheme_kind kind) noexcept {
  return core::name_of(scheme_kind_names(), kind);
}

std::unique_ptr<scheme> make_original(int workers, int load, int ell, std::uint64_t seed) {
  if (ell < 1) throw core::input_error("ell must be at least 1, got " + std::to_string(ell));
  if (load > workers) {
    throw core::input_error("the original code needs load <= workers (" + std::to_string(workers) +
                            "), got load " + std::to_string(load));
  }
  if (load < ell) {
    throw core::input_error("the original code needs load >= ell (" + std::to_string(ell) +
                            "), got load " + std::to_string(load));
  }
  // Tandon et al. for ell = 1: s = load - 1 stragglers.
  if (ell == 1) return std::make_unique<cyclic_repetition>(workers, load - 1, seed);
  return std::make_unique<polynomial_code>(workers, load, ell);
}

}  // namespace pgc::coding
