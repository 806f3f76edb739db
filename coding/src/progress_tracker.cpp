#include "pgc/coding/progress_tracker.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::coding {

progress_tracker::progress_tracker(const assignment& tasks, int ell) : tasks_(&tasks), ell_(ell) {
  tasks.check_ell(ell);
  reset();
}

void progress_tracker::reset() {
  state_.assign(static_cast<std::size_t>(tasks_->workers()), 0);
  copies_.assign(static_cast<std::size_t>(tasks_->chunks()), 0);
  finisher_copies_.assign(static_cast<std::size_t>(tasks_->chunks()), 0);
  below_ell_ = tasks_->chunks();
  without_finisher_ = tasks_->chunks();
  finished_ = 0;
  processed_ = 0;
  // A worker with an empty list has finished from the start.
  for (int w = 0; w < tasks_->workers(); ++w) {
    if (tasks_->load(w) == 0) ++finished_;
  }
}

bool progress_tracker::is_finished(int worker) const {
  return state_.at(static_cast<std::size_t>(worker)) == tasks_->load(worker);
}

void progress_tracker::report(int worker, int done) {
  if (worker < 0 || worker >= tasks_->workers()) {
    throw core::input_error("progress from unknown worker " + std::to_string(worker));
  }
  if (done < 0 || done > tasks_->load(worker)) {
    throw core::input_error("worker " + std::to_string(worker) + " reports " +
                            std::to_string(done) + " chunks done but holds " +
                            std::to_string(tasks_->load(worker)));
  }
  const int before = state_[static_cast<std::size_t>(worker)];
  if (done <= before) return;
  add(worker, before, done);
}

void progress_tracker::add(int worker, int from, int to) {
  const auto list = tasks_->list(worker);
  for (int p = from; p < to; ++p) {
    if (++copies_[static_cast<std::size_t>(list[static_cast<std::size_t>(p)])] == ell_)
      --below_ell_;
  }
  state_[static_cast<std::size_t>(worker)] = to;
  processed_ += to - from;
  if (to == tasks_->load(worker) && to > 0) set_finished(worker, true);
}

void progress_tracker::set_finished(int worker, bool finished) {
  for (int c : tasks_->list(worker)) {
    auto& n = finisher_copies_[static_cast<std::size_t>(c)];
    if (finished) {
      if (n++ == 0) --without_finisher_;
    } else {
      if (--n == 0) ++without_finisher_;
    }
  }
  finished_ += finished ? 1 : -1;
}

void progress_tracker::remove(int worker) {
  if (worker < 0 || worker >= tasks_->workers()) {
    throw core::input_error("unknown worker " + std::to_string(worker));
  }
  const int done = state_[static_cast<std::size_t>(worker)];
  if (done == 0) return;
  if (done == tasks_->load(worker)) set_finished(worker, false);
  const auto list = tasks_->list(worker);
  for (int p = 0; p < done; ++p) {
    if (copies_[static_cast<std::size_t>(list[static_cast<std::size_t>(p)])]-- == ell_)
      ++below_ell_;
  }
  state_[static_cast<std::size_t>(worker)] = 0;
  processed_ -= done;
}

void progress_tracker::set_state(const state_vector& s) {
  if (s.size() != state_.size()) {
    throw core::input_error("state vector has " + std::to_string(s.size()) + " entries, expected " +
                            std::to_string(state_.size()));
  }
  reset();
  for (std::size_t w = 0; w < s.size(); ++w)
    report(static_cast<int>(w), s[w]);
}

}  // namespace pgc::coding
