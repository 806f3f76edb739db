#pragma once

#include "pgc/core/name_table.hpp"

namespace pgc::tools {

// The assignment the proposed scheme runs on in a cluster (--kind of ps, launch and rank).
enum class assignment_kind { cyclic, regular };

// "cyclic", "regular".
core::name_table<assignment_kind> assignment_kind_names() noexcept;

}  // namespace pgc::tools
