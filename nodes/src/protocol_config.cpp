#include "pgc/nodes/protocol_config.hpp"

#include <array>
#include <string>
#include <utility>

#include "pgc/core/error.hpp"

namespace pgc::nodes {

namespace {

constexpr std::array<std::pair<std::string_view, signal_mode>, 2> k_modes{{
    {"exact", signal_mode::exact},
    {"approx", signal_mode::approximate},
}};
constexpr std::array<std::pair<std::string_view, wire_precision>, 2> k_precisions{{
    {"f64", wire_precision::f64},
    {"f32", wire_precision::f32},
}};
constexpr std::array<std::pair<std::string_view, shortfall_policy>, 3> k_shortfall{{
    {"wait", shortfall_policy::wait},
    {"approx", shortfall_policy::approximate},
    {"stop", shortfall_policy::stop},
}};

}  // namespace

core::name_table<signal_mode> signal_mode_names() noexcept { return k_modes; }
core::name_table<wire_precision> wire_precision_names() noexcept { return k_precisions; }
core::name_table<shortfall_policy> shortfall_policy_names() noexcept { return k_shortfall; }

void protocol_config::validate() const {
  if (dimension <= 0) throw core::input_error("dimension must be positive");
  if (heartbeat.count() <= 0) throw core::input_error("heartbeat interval must be positive");
  if (heartbeat_misses < 1) throw core::input_error("heartbeat misses must be at least 1");
  if (mode == signal_mode::approximate && deadline.count() <= 0)
    throw core::input_error("approximate mode needs a positive deadline");
  if (deadline.count() < 0) throw core::input_error("deadline must not be negative");
}

}  // namespace pgc::nodes
