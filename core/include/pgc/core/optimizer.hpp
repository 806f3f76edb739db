#pragma once

#include <Eigen/Core>

#include "pgc/core/learning_rate_schedule.hpp"

namespace pgc::core {

struct optimizer_config {
  learning_rate_schedule schedule{};
  double momentum = 0.9;  // mu in [0, 1); 0 is plain gradient descent
  bool nesterov = false;
};

// SGD with (heavy-ball or Nesterov) momentum, in the PyTorch convention:
//   g = scale * gradient                    (gradient is a full-batch SUM over samples)
//   v = mu v + g
//   params -= lr_t * (nesterov ? g + mu v : v)
// The learning rate applies to the SCALED gradient: pass scale = 1 / samples to step on the mean
// loss (learning rates then mean what they mean elsewhere), or scale = 1 to step on the sum.
// Not thread safe: one owner (the parameter server) steps it.
class optimizer {
 public:
  // Throws input_error for an invalid schedule, momentum outside [0, 1) or dimension < 1.
  optimizer(const optimizer_config& config, int dimension);

  // One update in place. Throws input_error if a vector's length is not the dimension.
  void step(Eigen::Ref<Eigen::VectorXd> parameters, const Eigen::VectorXd& gradient,
            double scale = 1.0);

  long steps_taken() const { return steps_; }
  // Learning rate the next step will use.
  double learning_rate() const { return config_.schedule.at(steps_); }
  const Eigen::VectorXd& velocity() const { return velocity_; }

  // Flat state for checkpoints: [steps taken, velocity...]; the config is not part of it.
  Eigen::VectorXd state() const;
  // Throws input_error if the vector has the wrong length or a step count that is not a
  // non-negative integer.
  void restore(const Eigen::VectorXd& state);

 private:
  optimizer_config config_;
  Eigen::VectorXd velocity_;
  long steps_ = 0;
};

}  // namespace pgc::core
