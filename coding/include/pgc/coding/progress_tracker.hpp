#pragma once

#include <vector>

#include "pgc/coding/assignment.hpp"

namespace pgc::coding {

// s_i = number of chunks worker i has finished within the current iteration: always a prefix
// of its list L_i.
using state_vector = std::vector<int>;

// The PS's view of one iteration's progress: the state vector, how many workers have
// processed every chunk, and whether every chunk has reached ell copies. A report costs
// O(number of newly processed chunks), so a whole iteration costs O(sum of loads).
class progress_tracker {
 public:
  progress_tracker(const assignment& tasks, int ell);

  // Forget all progress (a new iteration).
  void reset();

  // Worker `worker` has finished its first `done` chunks. Reports never go backwards within an
  // iteration; a smaller count than already known is ignored (a reordered or repeated message).
  // Throws core::input_error for a worker id or count out of range.
  void report(int worker, int done);

  // A lost worker: its chunks stop counting and it is out of the state vector (s_i = 0) until
  // it reports again.
  void remove(int worker);

  // Replace the whole state (tests, simulations).
  void set_state(const state_vector& s);

  const state_vector& state() const noexcept { return state_; }
  int copies(int chunk) const { return copies_.at(static_cast<std::size_t>(chunk)); }
  const std::vector<int>& copies() const noexcept { return copies_; }
  int ell() const noexcept { return ell_; }
  const assignment& tasks() const noexcept { return *tasks_; }

  // Every chunk has at least ell processed copies: proposed-protocol exact readiness.
  bool covered() const noexcept { return below_ell_ == 0; }
  // Chunks with fewer than ell copies.
  int chunks_below_ell() const noexcept { return below_ell_; }
  // Workers that have finished their whole list.
  int finished() const noexcept { return finished_; }
  bool is_finished(int worker) const;
  // Chunks that no finished worker holds (0: the finished workers cover every chunk).
  int chunks_without_finisher() const noexcept { return without_finisher_; }
  // Sum of s: chunks processed so far.
  long long processed() const noexcept { return processed_; }

 private:
  void add(int worker, int from, int to);
  void set_finished(int worker, bool finished);

  const assignment* tasks_;
  int ell_;
  state_vector state_;
  std::vector<int> copies_;
  std::vector<int> finisher_copies_;
  int below_ell_ = 0;
  int finished_ = 0;
  int without_finisher_ = 0;
  long long processed_ = 0;
};

}  // namespace pgc::coding
