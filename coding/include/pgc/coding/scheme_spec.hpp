#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <Eigen/Core>

#include "pgc/coding/baselines.hpp"
#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// What both ends need to build the same scheme: the fields of Welcome (and of the PS config).
struct scheme_spec {
  scheme_kind kind = scheme_kind::proposed;
  int workers = 0;  // N
  int load = 1;     // delta: the classic schemes' construction; ignore tolerates load - ell
  int ell = 1;
  std::uint64_t seed = 0;
  // Proposed only: the ordered lists (cyclic(workers, load) when empty), m = chunks (0: from the
  // lists) and R (make_r(ell, workers, seed) when empty; the PS sends its R in Welcome).
  std::vector<std::vector<int>> lists;
  int chunks = 0;
  std::optional<Eigen::MatrixXd> r;
};

// The scheme of spec.kind, built by its entry in the scheme table (baselines.cpp). Throws
// core::input_error for a combination the scheme rejects (e.g. frc with ell > 1).
std::shared_ptr<const scheme> make_scheme(const scheme_spec& spec);

}  // namespace pgc::coding
