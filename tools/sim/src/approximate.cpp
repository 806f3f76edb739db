#include "pgc/sim/approximate.hpp"

#include <algorithm>
#include <vector>

#include <Eigen/Dense>

namespace pgc::sim {

double proposed_error(const coding::assignment& tasks, int ell, const coding::state_vector& s) {
  std::vector<int> copies(static_cast<std::size_t>(tasks.chunks()), 0);
  for (int w = 0; w < tasks.workers(); ++w) {
    const auto list = tasks.list(w);
    for (int p = 0; p < s.at(static_cast<std::size_t>(w)); ++p) {
      ++copies[static_cast<std::size_t>(list[static_cast<std::size_t>(p)])];
    }
  }
  long long missing = 0;
  for (int c : copies)
    missing += ell - std::min(c, ell);
  return static_cast<double>(missing) / (static_cast<double>(tasks.chunks()) * ell);
}

double least_squares_error(const coding::scheme& code, const coding::state_vector& s) {
  const std::vector<int> from = code.senders(s);
  if (from.empty()) return 1.0;
  const int ell = code.ell();
  const auto cols = static_cast<Eigen::Index>(code.chunks()) * ell;
  const Eigen::MatrixXd e = coding::stacked_encoding(code, s, from);
  Eigen::MatrixXd residual = coding::least_squares_decoding(code, s, from) * e;  // ell x m ell
  for (Eigen::Index j = 0; j < code.chunks(); ++j) {
    residual.middleCols(j * ell, ell) -= Eigen::MatrixXd::Identity(ell, ell);
  }
  return residual.squaredNorm() / static_cast<double>(cols);
}

}  // namespace pgc::sim
