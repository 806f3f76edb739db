#pragma once

#include <vector>

#include "pgc/coding/assignment.hpp"
#include "pgc/sim/chunk_times.hpp"

namespace pgc::sim {

// Completion times of the exact schemes for one delay draw, communication taken as
// instantaneous; k_never when a scheme never completes.
struct completion {
  double proposed = k_never;           // every chunk has ell processed copies
  double original = k_never;           // N - s workers have finished their whole lists
  double ignore_stragglers = k_never;  // N - s workers have finished their single chunk
  double uncoded = k_never;            // every worker has finished its single chunk
};

// The closed forms of the completion times: with instantaneous communication nothing needs an
// event queue. Worker i finishes its p-th chunk at t_i(p) (chunk_times::finish), so
//   proposed = max over chunks j of the ell-th smallest t_i(position of j in L_i) over the
//              holders i of j;
//   original = the (N - s)-th smallest t_i(|L_i|), s = load - ell (cyclic assignment with the
//              same loads: only the whole-list times matter, whatever the chunks are);
//   ignore stragglers = the (N - s)-th smallest single-chunk time, uncoded = the largest, where a
//              worker holding one chunk (m = N, same data) takes its first chunk's time.
// O(sum of loads) per draw. Keeps scratch space, so one calculator per thread.
class completion_calculator {
 public:
  // tasks: the proposed scheme's (ordered) assignment. Throws core::input_error if ell is out of
  // range for it.
  completion_calculator(const coding::assignment& tasks, int ell);

  int ell() const noexcept { return ell_; }

  double proposed(const chunk_times& times);
  // stragglers: s of the classic codes, 0 <= s < N.
  double original(const chunk_times& times, int stragglers);
  double ignore_stragglers(const chunk_times& times, int stragglers);
  double uncoded(const chunk_times& times);

  // All four; stragglers = s for original and ignore stragglers.
  completion all(const chunk_times& times, int stragglers);

 private:
  double kth_smallest(int k);  // of scratch_, 1-based

  const coding::assignment* tasks_;
  int ell_;
  std::vector<double> scratch_;
};

}  // namespace pgc::sim
