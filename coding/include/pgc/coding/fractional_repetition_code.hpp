#pragma once

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// Fractional repetition (Tandon et al. 2017), ell = 1: the N workers form N / load groups, the
// workers of a group hold the same `load` chunks and, once finished, send their plain sum. One
// reply per group is enough for an exact decode, so up to load - 1 stragglers anywhere (and
// more, spread right) are tolerated; partial work is lost.
class fractional_repetition_code final : public scheme {
 public:
  // Throws core::input_error unless 1 <= load <= workers and load divides workers.
  fractional_repetition_code(int workers, int load);

  std::string_view name() const noexcept override { return "fractional-repetition"; }
  int group_size() const noexcept { return load_; }

  // Every group has a finished worker.
  bool ready(const progress_tracker& progress) const override {
    return progress.chunks_without_finisher() == 0;
  }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  // Weight 1 / (replies from the same group) per reply: the minimum-norm decode, exact once
  // every group has replied; a group without replies is missing from the sum.
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;

 private:
  int load_;
};

}  // namespace pgc::coding
