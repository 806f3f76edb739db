#include "pgc/coding/ignore_stragglers.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

assignment checked_tasks(int workers, int stragglers) {
  if (workers < 1) throw core::input_error("ignore-stragglers needs at least one worker");
  if (stragglers < 0 || stragglers >= workers) {
    throw core::input_error("ignore-stragglers needs 0 <= stragglers < workers (" +
                            std::to_string(workers) + "), got " + std::to_string(stragglers));
  }
  return cyclic(workers, 1);
}

}  // namespace

ignore_stragglers::ignore_stragglers(int workers, int stragglers)
    : scheme(checked_tasks(workers, stragglers), 1), stragglers_(stragglers) {}

int ignore_stragglers::used(int worker, const state_vector& s) const {
  return s.at(static_cast<std::size_t>(worker)) == 1 ? 1 : 0;
}

Eigen::MatrixXd ignore_stragglers::encoding(int worker, const state_vector& s) const {
  return Eigen::MatrixXd::Ones(used(worker, s), 1);
}

Eigen::MatrixXd ignore_stragglers::decoding(const state_vector& s,
                                            std::span<const int> from) const {
  int replies = 0;
  for (int w : from)
    replies += used(w, s);
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(1, static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    if (used(from[t], s) > 0) {
      d(0, static_cast<Eigen::Index>(t)) = static_cast<double>(workers()) / replies;
    }
  }
  return d;
}

}  // namespace pgc::coding
