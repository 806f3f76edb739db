#include "pgc/coding/proposed.hpp"

#include <random>
#include <string>

#include <Eigen/Dense>

#include "pgc/core/error.hpp"

namespace pgc::coding {

Eigen::MatrixXd make_r(int ell, int workers, std::uint64_t seed) {
  if (ell < 1 || workers < 1) throw core::input_error("R needs ell >= 1 and at least one worker");
  if (ell == 1) return Eigen::MatrixXd::Ones(1, workers);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd r(ell, workers);
  // Column by column, so the first columns do not depend on N.
  for (Eigen::Index c = 0; c < r.cols(); ++c) {
    for (Eigen::Index k = 0; k < r.rows(); ++k)
      r(k, c) = normal(rng);
  }
  return r;
}

proposed::proposed(assignment tasks, int ell, std::uint64_t seed)
    : scheme(std::move(tasks), ell), r_(make_r(ell, workers(), seed)) {}

proposed::proposed(assignment tasks, Eigen::MatrixXd r)
    : scheme(std::move(tasks), static_cast<int>(r.rows())), r_(std::move(r)) {
  if (r_.cols() != workers()) {
    throw core::input_error("R has " + std::to_string(r_.cols()) +
                            " columns, expected one per worker (" + std::to_string(workers()) +
                            ")");
  }
  if (!r_.allFinite()) throw core::input_error("R has a non-finite entry");
}

int proposed::used(int worker, const state_vector& s) const {
  return s.at(static_cast<std::size_t>(worker));
}

Eigen::MatrixXd proposed::encoding(int worker, const state_vector& s) const {
  const int n = used(worker, s);
  const auto list = tasks().list(worker);
  Eigen::MatrixXd c(n, ell());
  std::vector<int> cols;
  for (int p = 0; p < n; ++p) {
    // S_j: holders that have reached chunk j within s, in increasing worker order, so every
    // holder builds the same R[:, S_j].
    cols.clear();
    Eigen::Index mine = -1;
    for (const holder& h : tasks().holders(list[static_cast<std::size_t>(p)])) {
      if (h.position < s[static_cast<std::size_t>(h.worker)]) {
        if (h.worker == worker) mine = static_cast<Eigen::Index>(cols.size());
        cols.push_back(h.worker);
      }
    }
    const Eigen::MatrixXd rs = r_(Eigen::all, cols);
    const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(rs);
    c.row(p) = cod.pseudoInverse().row(mine);
  }
  return c;
}

Eigen::MatrixXd proposed::decoding(const state_vector& s, std::span<const int> from) const {
  (void)s;
  std::vector<int> cols(from.begin(), from.end());
  return r_(Eigen::all, cols);
}

}  // namespace pgc::coding
