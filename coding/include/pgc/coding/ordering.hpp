#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pgc/coding/assignment.hpp"
#include "pgc/core/name_table.hpp"

namespace pgc::coding {

// Q_max(lists, ell) of DESIGN.md section 1: 1 + the largest number of processed chunks over all
// states in which some chunk still has fewer than ell copies, i.e. the worst-case amount of work
// after which exact decoding is guaranteed. With r_i(j) = |L_i| - position of j in L_i,
//   Q_max = 1 + sum_i |L_i| - min_j (sum of the |H_j| - ell + 1 smallest r_i(j)).
// Throws core::input_error if ell is out of range for the assignment.
std::int64_t q_max(const assignment& tasks, int ell);

// Q_max of a regular assignment (N workers, load delta) ordered so that every chunk sits at every
// position exactly once: 1 + N delta - (delta - ell + 1)(delta - ell + 2) / 2. For ell = 1 and
// ell = delta no order does better (for ell = 1 the v_j sum to N delta (delta + 1) / 2, so
// their minimum is at most this order's). For 1 < ell < delta other orders can: N = 6,
// delta = 6, ell = 3 has an order with Q_max = 26 < 27 (see tests/coding/test_ordering.cpp).
// Throws core::input_error unless 1 <= ell <= load <= workers.
std::int64_t q_max_balanced_order(int workers, int load, int ell);

// Every list shuffled independently.
assignment order_random(const assignment& tasks, std::uint64_t seed);

// For a regular assignment: split the worker-chunk graph into `load` perfect matchings
// (Hopcroft-Karp; ordering.cpp says why not Boost.Graph's matching) and put the chunks of
// matching k at position k, so every chunk sits at every position exactly once. Throws
// core::input_error if the assignment is not regular.
assignment order_regular_optimal(const assignment& tasks);

// Local search for any assignment: swaps of two positions in one list, kept only when they
// strictly improve the order (never a larger Q_max; ties broken toward fewer and less badly
// placed bottleneck chunks, see ordering.cpp), plus a few restarts from random orders, within a
// fixed budget of swap evaluations (under a second for N = 2000, load 10). Never returns a
// worse Q_max than its input; deterministic for a given seed. Throws core::input_error if ell is
// out of range for the assignment.
assignment order_local_search(const assignment& tasks, int ell, std::uint64_t seed);

enum class order_kind { keep, random, optimal, heuristic };

// "keep", "random", "optimal", "heuristic": the one name table of order_kind.
core::name_table<order_kind> order_kind_names() noexcept;
// Throws core::input_error listing the names for anything else.
order_kind parse_order_kind(std::string_view text);
std::string_view to_string(order_kind kind) noexcept;

struct ordered {
  assignment tasks;
  std::string method;  // what was done: "keep", "random", "matchings", "local search"
};

// optimal: matchings on regular assignments (followed by local search when 1 < ell < delta, where
// the balanced order is not always optimal), local search otherwise. Validates ell for every
// kind (throws core::input_error), even those that do not use it.
ordered apply_order(const assignment& tasks, order_kind kind, int ell, std::uint64_t seed);

}  // namespace pgc::coding
