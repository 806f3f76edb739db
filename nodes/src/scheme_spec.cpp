#include "pgc/nodes/scheme_spec.hpp"

#include <algorithm>
#include <string>

#include "pgc/coding/fractional_repetition_code.hpp"
#include "pgc/coding/ignore_stragglers.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/coding/uncoded.hpp"
#include "pgc/core/error.hpp"

namespace pgc::nodes {

namespace {

void require_ell_one(const scheme_spec& spec) {
  if (spec.ell != 1) {
    throw core::input_error(std::string(coding::to_string(spec.kind)) + " needs ell = 1, got " +
                            std::to_string(spec.ell));
  }
}

}  // namespace

std::shared_ptr<const coding::scheme> make_scheme(const scheme_spec& spec) {
  using coding::scheme_kind;
  switch (spec.kind) {
    case scheme_kind::proposed: {
      int chunks = spec.chunks;
      if (chunks <= 0) {
        for (const auto& list : spec.lists) {
          for (int c : list)
            chunks = std::max(chunks, c + 1);
        }
      }
      coding::assignment tasks = spec.lists.empty() ? coding::cyclic(spec.workers, spec.load)
                                                    : coding::assignment(chunks, spec.lists);
      if (spec.r) return std::make_shared<coding::proposed>(std::move(tasks), *spec.r);
      return std::make_shared<coding::proposed>(std::move(tasks), spec.ell, spec.seed);
    }
    case scheme_kind::original:
      return coding::make_original(spec.workers, spec.load, spec.ell, spec.seed);
    case scheme_kind::fractional_repetition:
      require_ell_one(spec);
      return std::make_shared<coding::fractional_repetition_code>(spec.workers, spec.load);
    case scheme_kind::ignore_stragglers:
      require_ell_one(spec);
      return std::make_shared<coding::ignore_stragglers>(spec.workers, spec.load - spec.ell);
    case scheme_kind::uncoded:
      require_ell_one(spec);
      return std::make_shared<coding::uncoded>(spec.workers);
  }
  throw core::input_error("unknown scheme kind");
}

}  // namespace pgc::nodes
