#pragma once

#include <cmath>
#include <cstddef>
#include <span>

#include <Eigen/Core>

namespace pgc::core::detail {

// Turns a block of logits (classes x samples) into probabilities in place and returns the sum
// of the cross-entropies -log p[label]. Shifting each column by its maximum before exp() keeps
// large logits from overflowing; the label's log-probability is z - max - log(sum exp), never
// log of an underflowed probability.
inline double softmax_cross_entropy(Eigen::MatrixXd& logits, std::span<const int> labels) {
  double loss = 0;
  for (Eigen::Index i = 0; i < logits.cols(); ++i) {
    auto column = logits.col(i);
    const double top = column.maxCoeff();
    const double shifted_label = column(labels[static_cast<std::size_t>(i)]) - top;
    column.array() = (column.array() - top).exp();
    const double total = column.sum();
    loss += std::log(total) - shifted_label;
    column /= total;
  }
  return loss;
}

}  // namespace pgc::core::detail
