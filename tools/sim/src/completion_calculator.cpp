#include "pgc/sim/completion_calculator.hpp"

#include <algorithm>
#include <string>

#include "pgc/core/error.hpp"

namespace pgc::sim {

completion_calculator::completion_calculator(const coding::assignment& tasks, int ell)
    : tasks_(&tasks), ell_(ell) {
  tasks.check_ell(ell);
}

double completion_calculator::kth_smallest(int k) {
  const auto nth = scratch_.begin() + (k - 1);
  std::nth_element(scratch_.begin(), nth, scratch_.end());
  return *nth;
}

double completion_calculator::proposed(const chunk_times& times) {
  double done = 0.0;
  for (int j = 0; j < tasks_->chunks(); ++j) {
    const auto holders = tasks_->holders(j);
    double t = 0.0;
    if (ell_ == 1) {
      t = k_never;
      for (const auto& h : holders) {
        t = std::min(t, times.finish(h.worker)[static_cast<std::size_t>(h.position)]);
      }
    } else {
      scratch_.clear();
      for (const auto& h : holders) {
        scratch_.push_back(times.finish(h.worker)[static_cast<std::size_t>(h.position)]);
      }
      t = kth_smallest(ell_);
    }
    done = std::max(done, t);
  }
  return done;
}

namespace {

void check_stragglers(int workers, int stragglers) {
  if (stragglers < 0 || stragglers >= workers) {
    throw core::input_error("stragglers s = " + std::to_string(stragglers) + " must be in [0, " +
                            std::to_string(workers) + ")");
  }
}

}  // namespace

double completion_calculator::original(const chunk_times& times, int stragglers) {
  check_stragglers(times.workers(), stragglers);
  scratch_.clear();
  for (int w = 0; w < times.workers(); ++w)
    scratch_.push_back(times.list_finish(w));
  return kth_smallest(times.workers() - stragglers);
}

double completion_calculator::ignore_stragglers(const chunk_times& times, int stragglers) {
  check_stragglers(times.workers(), stragglers);
  scratch_.clear();
  for (int w = 0; w < times.workers(); ++w)
    scratch_.push_back(times.first_chunk(w));
  return kth_smallest(times.workers() - stragglers);
}

double completion_calculator::uncoded(const chunk_times& times) {
  double t = 0.0;
  for (int w = 0; w < times.workers(); ++w)
    t = std::max(t, times.first_chunk(w));
  return t;
}

completion completion_calculator::all(const chunk_times& times, int stragglers) {
  return {proposed(times), original(times, stragglers), ignore_stragglers(times, stragglers),
          uncoded(times)};
}

}  // namespace pgc::sim
