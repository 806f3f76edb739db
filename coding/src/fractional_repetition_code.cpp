#include "pgc/coding/fractional_repetition_code.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::coding {

fractional_repetition_code::fractional_repetition_code(int workers, int load)
    : scheme(fractional_repetition(workers, load), 1), load_(load) {}

int fractional_repetition_code::used(int worker, const state_vector& s) const {
  const int load = tasks().load(worker);
  return s.at(static_cast<std::size_t>(worker)) == load ? load : 0;
}

Eigen::MatrixXd fractional_repetition_code::encoding(int worker, const state_vector& s) const {
  return Eigen::MatrixXd::Ones(used(worker, s), 1);
}

Eigen::MatrixXd fractional_repetition_code::decoding(const state_vector& s,
                                                     std::span<const int> from) const {
  // Replies of one group are the same vector; splitting the group's weight 1 equally among them
  // is the minimum-norm choice. A reply from an unfinished worker carries nothing: weight 0.
  std::vector<int> replies(static_cast<std::size_t>(workers() / load_), 0);
  for (int w : from) {
    if (used(w, s) > 0) ++replies[static_cast<std::size_t>(w / load_)];
  }
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(1, static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    if (used(from[t], s) > 0) {
      d(0, static_cast<Eigen::Index>(t)) = 1.0 / replies[static_cast<std::size_t>(from[t] / load_)];
    }
  }
  return d;
}

}  // namespace pgc::coding
