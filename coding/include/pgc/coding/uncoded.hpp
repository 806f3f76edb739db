#pragma once

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// Uncoded, wait for all, ell = 1: worker i holds chunk i and sends its gradient; the PS sums the
// N results once every worker has finished.
class uncoded final : public scheme {
 public:
  // Throws core::input_error unless workers >= 1.
  explicit uncoded(int workers);

  std::string_view name() const noexcept override { return "uncoded"; }

  bool ready(const progress_tracker& progress) const override {
    return progress.finished() == workers();
  }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  // The plain sum (weight 1 per reply that carries a result): chunks of missing workers are
  // missing from it.
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;
};

}  // namespace pgc::coding
