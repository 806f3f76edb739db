#pragma once

// The scheme a cluster runs, as nodes name it: coding's spec and factory (coding/scheme_spec.hpp).

#include "pgc/coding/scheme_spec.hpp"

namespace pgc::nodes {

using coding::make_scheme;
using coding::scheme_spec;

}  // namespace pgc::nodes
