#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/progress_tracker.hpp"

namespace pgc::sim {

inline constexpr double k_never = std::numeric_limits<double>::infinity();

// One delay draw: the processing time of every chunk of every worker, indexed by worker and by
// position in the worker's list (not by chunk id), so one draw can be replayed on any
// assignment with the same loads; this is what makes comparisons between schemes and orders
// paired. A failed worker has time k_never from the chunk where it fails on.
// Stored flat (one offset per worker) because a draw is refilled for every trial.
class chunk_times {
 public:
  chunk_times() = default;
  // All times zero, one row per worker with loads[w] entries.
  explicit chunk_times(std::span<const int> loads) { reshape(loads); }
  explicit chunk_times(const coding::assignment& tasks);

  void reshape(std::span<const int> loads);

  int workers() const noexcept { return static_cast<int>(offsets_.size()) - 1; }
  int load(int worker) const noexcept {
    return static_cast<int>(offsets_[static_cast<std::size_t>(worker) + 1] -
                            offsets_[static_cast<std::size_t>(worker)]);
  }
  std::span<double> row(int worker) noexcept {
    return {times_.data() + offsets_[static_cast<std::size_t>(worker)],
            static_cast<std::size_t>(load(worker))};
  }
  std::span<const double> row(int worker) const noexcept {
    return {times_.data() + offsets_[static_cast<std::size_t>(worker)],
            static_cast<std::size_t>(load(worker))};
  }
  // finish(w)[p]: the moment worker w has finished its first p + 1 chunks (prefix sums of the
  // row, k_never after a failure). Valid after update_finish().
  std::span<const double> finish(int worker) const noexcept {
    return {finish_.data() + offsets_[static_cast<std::size_t>(worker)],
            static_cast<std::size_t>(load(worker))};
  }
  // The moment worker w has finished its whole list (0 for an empty list).
  double list_finish(int worker) const noexcept {
    const auto f = finish(worker);
    return f.empty() ? 0.0 : f.back();
  }
  // The time of the worker's first chunk: what a worker holding a single chunk would take.
  double first_chunk(int worker) const noexcept {
    const auto r = row(worker);
    return r.empty() ? 0.0 : r.front();
  }

  // Recompute the prefix sums after the rows changed.
  void update_finish();

  // Throws core::input_error unless the loads match the assignment's lists.
  void check_shape(const coding::assignment& tasks) const;

  // s(T): chunks every worker has finished by time T (inclusive).
  coding::state_vector state_at(double deadline) const;
  void state_at(double deadline, coding::state_vector& out) const;

 private:
  std::vector<std::int64_t> offsets_{0};
  std::vector<double> times_;
  std::vector<double> finish_;
};

}  // namespace pgc::sim
