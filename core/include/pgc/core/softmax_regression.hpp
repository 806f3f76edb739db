#pragma once

#include <memory>
#include <vector>

#include <Eigen/Core>

#include "pgc/core/chunk_split.hpp"
#include "pgc/core/classifier.hpp"
#include "pgc/core/dataset.hpp"

namespace pgc::core {

struct softmax_regression_config {
  int chunks = 8;
  double l2 = 0;  // penalty 0.5 * l2 * |W|^2 on the weights (not the bias)
};

// Multinomial logistic regression with a bias: logits z = W x + b, loss = sum over samples of
// the cross-entropy -log softmax(z)[label] (+ the L2 penalty, spread over the chunks in
// proportion to their sizes). Computed with a max-shifted log-sum-exp, so large logits neither
// overflow nor lose the label's term.
//
// Parameter layout (k classes, f features), dimension k*f + k:
//   [0, k*f)        W, k x f, column-major: W(c, j) at j*k + c
//   [k*f, k*f + k)  b
class softmax_regression final : public classifier {
 public:
  // Throws input_error if the data set is invalid or the chunk count does not fit it.
  softmax_regression(std::shared_ptr<const dataset> train, const softmax_regression_config& config);

  int dimension() const override;
  void gradient(int chunk, const Eigen::VectorXd& parameters,
                Eigen::Ref<Eigen::VectorXd> out) const override;
  double loss(const Eigen::VectorXd& parameters) const override;
  // Zeros: the objective is convex, so no symmetry needs breaking.
  Eigen::VectorXd initial_parameters() const override;
  evaluation evaluate(const Eigen::VectorXd& parameters, const dataset& data) const override;

 private:
  softmax_regression_config config_;
};

}  // namespace pgc::core
