#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Core>

#include "pgc/core/chunk_split.hpp"
#include "pgc/core/classifier.hpp"
#include "pgc/core/dataset.hpp"

namespace pgc::core {

enum class activation { relu, tanh };

struct mlp_config {
  int chunks = 8;
  int hidden = 64;
  activation hidden_activation = activation::relu;
  double l2 = 0;           // penalty 0.5 * l2 * (|W1|^2 + |W2|^2), biases excluded
  std::uint64_t seed = 1;  // initial_parameters() draws from it
};

// One-hidden-layer perceptron: a = W1 x + b1, h = act(a), z = W2 h + b2, loss = sum of the
// cross-entropy of softmax(z) (+ the L2 penalty, spread over the chunks by size).
//
// Parameter layout (f features, h hidden units, k classes), all matrices column-major:
//   [0, h*f)                       W1, h x f
//   [h*f, h*f + h)                 b1
//   [h*f + h, h*f + h + k*h)       W2, k x h
//   [h*f + h + k*h, ... + k)       b2
// Initialization: W1 ~ N(0, g/f), W2 ~ N(0, 1/h) with g = 2 for ReLU (He) and 1 for tanh,
// biases 0, drawn from a portable generator so every process gets the same start.
class mlp final : public classifier {
 public:
  // Throws input_error for an invalid data set, hidden < 1 or a chunk count that does not fit.
  mlp(std::shared_ptr<const dataset> train, const mlp_config& config);

  int dimension() const override;
  void gradient(int chunk, const Eigen::VectorXd& parameters,
                Eigen::Ref<Eigen::VectorXd> out) const override;
  double loss(const Eigen::VectorXd& parameters) const override;
  Eigen::VectorXd initial_parameters() const override;
  evaluation evaluate(const Eigen::VectorXd& parameters, const dataset& data) const override;

 private:
  mlp_config config_;
};

}  // namespace pgc::core
