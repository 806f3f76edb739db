#pragma once

#include "pgc/coding/scheme.hpp"
#include "pgc/sim/chunk_times.hpp"

namespace pgc::sim {

// The reference simulation the closed forms of completion_calculator are checked against: a
// priority queue of chunk completions feeds a progress_tracker on the scheme's own assignment,
// and the first moment scheme.ready() holds is the completion time (k_never if it never holds).
// Ties are processed one event at a time, so the answer is one of the finish times exactly.
// O(sum of loads * log N) plus whatever ready() costs per event.
double event_driven_completion(const coding::scheme& code, const chunk_times& times);

}  // namespace pgc::sim
