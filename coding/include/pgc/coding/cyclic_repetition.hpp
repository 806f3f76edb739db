#pragma once

#include <cstdint>

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// The cyclic repetition gradient code of Tandon et al. (2017), ell = 1: the original protocol
// for ell = 1 (DESIGN.md section 1). Worker i holds chunks i..i+s (mod N) and, once it has
// finished all of them, sends one fixed combination, row i of B. Every row of B lies in null(H)
// for a Gaussian s x N matrix H with H 1 = 0, so any N - s rows span the all-ones vector and
// the PS decodes exactly from any N - s finishers; partial work is lost.
class cyclic_repetition final : public scheme {
 public:
  // Throws core::input_error unless 0 <= stragglers < workers.
  cyclic_repetition(int workers, int stragglers, std::uint64_t seed);

  std::string_view name() const noexcept override { return "original-cyclic-repetition"; }
  int stragglers() const noexcept { return stragglers_; }
  // The N x N encoding matrix: row i is worker i's combination of the N chunk gradients.
  const Eigen::MatrixXd& b() const noexcept { return b_; }

  bool ready(const progress_tracker& progress) const override {
    return progress.finished() >= workers() - stragglers_;
  }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  // The minimum-norm least-squares a with a^T B_from = 1^T: exact from N - s finishers, the
  // best approximation (the same as least_squares_decoding) from fewer.
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;

 private:
  int stragglers_;
  Eigen::MatrixXd b_;
};

}  // namespace pgc::coding
