#pragma once

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/scheme.hpp"

namespace pgc::sim {

// Errors of the approximate schemes at a state s, as the normalized expected squared error
// E|g - decode|^2 / E|g|^2 of coding::expected_error with i.i.d. unit-variance gradient entries
// and ell dividing d (the error then does not depend on d).

// The proposed scheme in closed form: chunk j decodes through the projection onto the column
// space of R[:, S_j], of rank min(c_j, ell) almost surely for a Gaussian R (ell = 1: R = ones),
// so the error is sum_j (ell - min(c_j, ell)) / (m ell) with c_j the processed copies of j.
// O(sum of loads) instead of a pseudo-inverse per chunk.
double proposed_error(const coding::assignment& tasks, int ell, const coding::state_vector& s);

// Any scheme with the optimal (minimum-error) linear decoding of the replies of its senders at
// s: |D E - J|_F^2 / (m ell) with D = coding::least_squares_decoding. 1 when nobody sends. A
// dense least-squares solve of size senders x (m ell): keep N moderate (tens to a hundred).
double least_squares_error(const coding::scheme& code, const coding::state_vector& s);

}  // namespace pgc::sim
