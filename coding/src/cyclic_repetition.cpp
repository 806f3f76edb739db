#include "pgc/coding/cyclic_repetition.hpp"

#include <random>
#include <string>

#include <Eigen/Dense>

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

int checked_stragglers(int workers, int stragglers) {
  if (workers < 1) throw core::input_error("cyclic repetition needs at least one worker");
  if (stragglers < 0 || stragglers >= workers) {
    throw core::input_error("cyclic repetition needs 0 <= stragglers < workers (" +
                            std::to_string(workers) + "), got " + std::to_string(stragglers));
  }
  return stragglers;
}

}  // namespace

cyclic_repetition::cyclic_repetition(int workers, int stragglers, std::uint64_t seed)
    : scheme(cyclic(workers, checked_stragglers(workers, stragglers) + 1), 1),
      stragglers_(stragglers),
      b_(Eigen::MatrixXd::Zero(workers, workers)) {
  const int n = workers;
  const int s = stragglers;
  Eigen::MatrixXd h(s, n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (Eigen::Index c = 0; c + 1 < n; ++c) {
    for (Eigen::Index r = 0; r < s; ++r)
      h(r, c) = normal(rng);
  }
  // H 1 = 0 puts the all-ones vector into null(H), where every row of B lives.
  if (s > 0) h.col(n - 1) = -h.leftCols(n - 1).rowwise().sum();

  std::vector<int> others(static_cast<std::size_t>(s));
  for (int i = 0; i < n; ++i) {
    b_(i, i) = 1.0;
    if (s == 0) continue;
    const auto list = tasks().list(i);  // i, i+1, ..., i+s mod N
    others.assign(list.begin() + 1, list.end());
    // H[:,S] is a generic s x s Gaussian block: a pivoting QR solves it without forming an
    // inverse.
    const Eigen::MatrixXd hs = h(Eigen::all, others);
    const Eigen::VectorXd x = hs.colPivHouseholderQr().solve(-h.col(i));
    for (int k = 0; k < s; ++k)
      b_(i, others[static_cast<std::size_t>(k)]) = x(k);
  }
}

int cyclic_repetition::used(int worker, const state_vector& s) const {
  const int load = tasks().load(worker);
  return s.at(static_cast<std::size_t>(worker)) == load ? load : 0;
}

Eigen::MatrixXd cyclic_repetition::encoding(int worker, const state_vector& s) const {
  const int n = used(worker, s);
  const auto list = tasks().list(worker);
  Eigen::MatrixXd c(n, 1);
  for (int p = 0; p < n; ++p)
    c(p, 0) = b_(worker, list[static_cast<std::size_t>(p)]);
  return c;
}

Eigen::MatrixXd cyclic_repetition::decoding(const state_vector& s,
                                            std::span<const int> from) const {
  if (from.empty()) return Eigen::MatrixXd(1, 0);
  // B_from^T a = 1 over the chunks; a reply from a worker that has not finished carries nothing,
  // so its row is zero (and its weight comes out 0).
  Eigen::MatrixXd bt = Eigen::MatrixXd::Zero(chunks(), static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    if (used(from[t], s) > 0) bt.col(static_cast<Eigen::Index>(t)) = b_.row(from[t]).transpose();
  }
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(bt);
  const Eigen::VectorXd a = cod.solve(Eigen::VectorXd::Ones(chunks()));
  return a.transpose();
}

}  // namespace pgc::coding
