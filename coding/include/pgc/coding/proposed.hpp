#pragma once

#include <cstdint>

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// The ell x N matrix R known to every node: all ones for ell = 1, i.i.d. standard Gaussian
// (from `seed`) for ell > 1, so any ell of its columns are independent.
Eigen::MatrixXd make_r(int ell, int workers, std::uint64_t seed);

// The protocol of Ramamoorthy, Meng and Girimaji (DESIGN.md section 1): partial work counts.
// For every chunk j within s, with S_j the workers that have processed it,
// B_j = pinv(R[:, S_j]) (minimum-norm least squares, by complete orthogonal decomposition);
// worker i encodes chunk j with its row of B_j, and the PS decodes with R. Exact as soon as
// every chunk has ell copies; otherwise the least-squares approximation.
class proposed final : public scheme {
 public:
  proposed(assignment tasks, int ell, std::uint64_t seed);
  // With R given (as the PS sends it at registration); R must be ell x N.
  proposed(assignment tasks, Eigen::MatrixXd r);

  std::string_view name() const noexcept override { return "proposed"; }
  const Eigen::MatrixXd& r() const noexcept { return r_; }
  const Eigen::MatrixXd* wire_matrix() const noexcept override { return &r_; }

  bool ready(const progress_tracker& progress) const override { return progress.covered(); }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;

 private:
  Eigen::MatrixXd r_;
};

}  // namespace pgc::coding
