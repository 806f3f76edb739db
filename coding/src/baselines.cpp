#include "pgc/coding/baselines.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "pgc/coding/cyclic_repetition.hpp"
#include "pgc/coding/fractional_repetition_code.hpp"
#include "pgc/coding/ignore_stragglers.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/coding/scheme_spec.hpp"
#include "pgc/coding/uncoded.hpp"
#include "pgc/coding/polynomial_code.hpp"
#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

void require_ell_one(const scheme_spec& spec) {
  if (spec.ell != 1) {
    throw core::input_error(std::string(to_string(spec.kind)) + " needs ell = 1, got " +
                            std::to_string(spec.ell));
  }
}

std::shared_ptr<const scheme> build_proposed(const scheme_spec& spec) {
  int chunks = spec.chunks;
  if (chunks <= 0) {
    for (const auto& list : spec.lists) {
      for (int c : list)
        chunks = std::max(chunks, c + 1);
    }
  }
  assignment tasks =
      spec.lists.empty() ? cyclic(spec.workers, spec.load) : assignment(chunks, spec.lists);
  if (spec.r) return std::make_shared<proposed>(std::move(tasks), *spec.r);
  return std::make_shared<proposed>(std::move(tasks), spec.ell, spec.seed);
}

// The scheme table: one row per scheme_kind, its one spelling and how a spec becomes the
// scheme. Adding a scheme is its class, its enumerator and a row here.
struct scheme_entry {
  std::string_view name;
  scheme_kind kind;
  std::shared_ptr<const scheme> (*build)(const scheme_spec& spec);
};

constexpr std::array<scheme_entry, 5> k_schemes{{
    {"proposed", scheme_kind::proposed, build_proposed},
    {"original", scheme_kind::original,
     [](const scheme_spec& s) -> std::shared_ptr<const scheme> {
       return make_original(s.workers, s.load, s.ell, s.seed);
     }},
    {"frc", scheme_kind::fractional_repetition,
     [](const scheme_spec& s) -> std::shared_ptr<const scheme> {
       require_ell_one(s);
       return std::make_shared<fractional_repetition_code>(s.workers, s.load);
     }},
    {"ignore", scheme_kind::ignore_stragglers,
     [](const scheme_spec& s) -> std::shared_ptr<const scheme> {
       require_ell_one(s);
       return std::make_shared<ignore_stragglers>(s.workers, s.load - s.ell);
     }},
    {"uncoded", scheme_kind::uncoded,
     [](const scheme_spec& s) -> std::shared_ptr<const scheme> {
       require_ell_one(s);
       return std::make_shared<uncoded>(s.workers);
     }},
}};

constexpr auto k_names = [] {
  std::array<std::pair<std::string_view, scheme_kind>, k_schemes.size()> names{};
  for (std::size_t k = 0; k < k_schemes.size(); ++k)
    names[k] = {k_schemes[k].name, k_schemes[k].kind};
  return names;
}();

}  // namespace

std::shared_ptr<const scheme> make_scheme(const scheme_spec& spec) {
  for (const auto& entry : k_schemes) {
    if (entry.kind == spec.kind) return entry.build(spec);
  }
  throw core::input_error("unknown scheme kind");
}

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
