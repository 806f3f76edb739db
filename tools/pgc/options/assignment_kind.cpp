#include "options/assignment_kind.hpp"

#include <array>

namespace pgc::tools {

namespace {

constexpr std::array<std::pair<std::string_view, assignment_kind>, 2> k_names{{
    {"cyclic", assignment_kind::cyclic},
    {"regular", assignment_kind::regular},
}};

}  // namespace

core::name_table<assignment_kind> assignment_kind_names() noexcept {
  return k_names;
}

}  // namespace pgc::tools
