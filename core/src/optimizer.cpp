#include "pgc/core/optimizer.hpp"

#include <cmath>
#include <string>

#include "pgc/core/error.hpp"

namespace pgc::core {

optimizer::optimizer(const optimizer_config& config, int dimension) : config_(config) {
  config.schedule.validate();
  if (!(config.momentum >= 0 && config.momentum < 1)) {
    throw input_error("momentum must be in [0, 1)");
  }
  if (dimension < 1) throw input_error("optimizer dimension must be positive");
  velocity_ = Eigen::VectorXd::Zero(dimension);
}

void optimizer::step(Eigen::Ref<Eigen::VectorXd> parameters, const Eigen::VectorXd& gradient,
                     double scale) {
  if (parameters.size() != velocity_.size() || gradient.size() != velocity_.size()) {
    throw input_error("optimizer has dimension " + std::to_string(velocity_.size()) +
                      ", got parameters of length " + std::to_string(parameters.size()) +
                      " and a gradient of length " + std::to_string(gradient.size()));
  }
  const double lr = config_.schedule.at(steps_);
  const double mu = config_.momentum;
  velocity_ = mu * velocity_ + scale * gradient;
  if (config_.nesterov) {
    parameters -= lr * (scale * gradient + mu * velocity_);
  } else {
    parameters -= lr * velocity_;
  }
  ++steps_;
}

Eigen::VectorXd optimizer::state() const {
  Eigen::VectorXd flat(velocity_.size() + 1);
  flat(0) = static_cast<double>(steps_);
  flat.tail(velocity_.size()) = velocity_;
  return flat;
}

void optimizer::restore(const Eigen::VectorXd& state) {
  if (state.size() != velocity_.size() + 1) {
    throw input_error("optimizer state has length " + std::to_string(state.size()) + ", expected " +
                      std::to_string(velocity_.size() + 1));
  }
  const double steps = state(0);
  // 2^53: beyond it a double no longer holds every integer.
  if (!(steps >= 0 && steps <= 9007199254740992.0) || std::floor(steps) != steps) {
    throw input_error("optimizer state has an invalid step count");
  }
  if (!state.tail(velocity_.size()).allFinite()) {
    throw input_error("optimizer state has a non-finite velocity");
  }
  steps_ = static_cast<long>(steps);
  velocity_ = state.tail(velocity_.size());
}

}  // namespace pgc::core
