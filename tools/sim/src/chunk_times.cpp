#include "pgc/sim/chunk_times.hpp"

#include <algorithm>
#include <string>

#include "pgc/core/error.hpp"

namespace pgc::sim {

chunk_times::chunk_times(const coding::assignment& tasks) {
  std::vector<int> loads;
  for (int w = 0; w < tasks.workers(); ++w)
    loads.push_back(tasks.load(w));
  reshape(loads);
}

void chunk_times::reshape(std::span<const int> loads) {
  offsets_.assign(1, 0);
  offsets_.reserve(loads.size() + 1);
  for (int l : loads)
    offsets_.push_back(offsets_.back() + l);
  times_.assign(static_cast<std::size_t>(offsets_.back()), 0.0);
  finish_.assign(static_cast<std::size_t>(offsets_.back()), 0.0);
}

void chunk_times::update_finish() {
  for (std::size_t w = 0; w + 1 < offsets_.size(); ++w) {
    double t = 0.0;
    for (auto i = offsets_[w]; i < offsets_[w + 1]; ++i) {
      t += times_[static_cast<std::size_t>(i)];
      finish_[static_cast<std::size_t>(i)] = t;
    }
  }
}

void chunk_times::check_shape(const coding::assignment& tasks) const {
  if (workers() != tasks.workers()) {
    throw core::input_error("delays for " + std::to_string(workers()) +
                            " workers but the assignment has " + std::to_string(tasks.workers()));
  }
  for (int w = 0; w < workers(); ++w) {
    if (load(w) != tasks.load(w)) {
      throw core::input_error("worker " + std::to_string(w) + " has " + std::to_string(load(w)) +
                              " chunk times but holds " + std::to_string(tasks.load(w)) +
                              " chunks");
    }
  }
}

coding::state_vector chunk_times::state_at(double deadline) const {
  coding::state_vector s;
  state_at(deadline, s);
  return s;
}

void chunk_times::state_at(double deadline, coding::state_vector& out) const {
  out.resize(static_cast<std::size_t>(workers()));
  for (int w = 0; w < workers(); ++w) {
    const auto f = finish(w);
    out[static_cast<std::size_t>(w)] =
        static_cast<int>(std::upper_bound(f.begin(), f.end(), deadline) - f.begin());
  }
}

}  // namespace pgc::sim
