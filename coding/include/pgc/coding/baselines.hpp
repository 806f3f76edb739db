#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "pgc/coding/scheme.hpp"
#include "pgc/core/name_table.hpp"

namespace pgc::coding {

// The protocols `pgc sim` and the nodes can run side by side (DESIGN.md section 1).
enum class scheme_kind { proposed, original, fractional_repetition, ignore_stragglers, uncoded };

// "proposed", "original", "frc", "ignore", "uncoded": the one name table of scheme_kind.
core::name_table<scheme_kind> scheme_kind_names() noexcept;
// Anything else throws core::input_error listing these names.
scheme_kind parse_scheme_kind(std::string_view text);
// The name parse_scheme_kind accepts.
std::string_view to_string(scheme_kind kind) noexcept;

// The original gradient code on the cyclic assignment with `load` chunks per worker, tolerating
// load - ell stragglers: cyclic_repetition for ell = 1 (H drawn from `seed`), polynomial_code
// (default points) for ell > 1. Throws core::input_error for bad arguments.
std::unique_ptr<scheme> make_original(int workers, int load, int ell, std::uint64_t seed);

}  // namespace pgc::coding
