#pragma once

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// Ignore stragglers (backup workers), ell = 1: worker i holds chunk i alone; the PS waits for
// the first N - s results and rescales their sum by N / (number of replies). Never exact unless
// every worker replied: an unbiased estimate when the stragglers are random.
class ignore_stragglers final : public scheme {
 public:
  // Throws core::input_error unless 0 <= stragglers < workers.
  ignore_stragglers(int workers, int stragglers);

  std::string_view name() const noexcept override { return "ignore-stragglers"; }
  int stragglers() const noexcept { return stragglers_; }

  bool ready(const progress_tracker& progress) const override {
    return progress.finished() >= workers() - stragglers_;
  }
  // A rescaled sum is g only when no chunk is missing.
  bool exact(const progress_tracker& progress) const override {
    return progress.finished() == workers();
  }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  // N / F for each of the F replies that carry a result.
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;

 private:
  int stragglers_;
};

}  // namespace pgc::coding
