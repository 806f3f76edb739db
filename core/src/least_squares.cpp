#include "pgc/core/least_squares.hpp"

#include <cmath>
#include <string>

#include "detail/random.hpp"
#include "pgc/core/error.hpp"

namespace pgc::core {

least_squares::least_squares(const least_squares_config& config) : config_(config) {
  if (config.dimension < 1) {
    throw input_error("least squares dimension must be positive, got " +
                      std::to_string(config.dimension));
  }
  if (!(config.noise >= 0)) throw input_error("least squares noise must be non-negative");
  ranges_ = split_chunks(config.samples, config.chunks);

  // Fixed draw order (w*, then each sample's features and noise) defines the data set.
  detail::portable_random random(config.seed);
  true_parameters_.resize(config.dimension);
  for (auto& w : true_parameters_)
    w = random.normal();
  const double feature_scale = 1.0 / std::sqrt(static_cast<double>(config.dimension));
  features_.resize(config.dimension, config.samples);
  targets_.resize(config.samples);
  for (long i = 0; i < config.samples; ++i) {
    for (int j = 0; j < config.dimension; ++j)
      features_(j, i) = feature_scale * random.normal();
    targets_(i) = features_.col(i).dot(true_parameters_) + config.noise * random.normal();
  }
}

long least_squares::chunk_samples(int chunk) const {
  if (chunk < 0 || chunk >= chunks()) throw input_error("chunk out of range");
  return ranges_[static_cast<std::size_t>(chunk)].count;
}

void least_squares::gradient(int chunk, const Eigen::VectorXd& parameters,
                             Eigen::Ref<Eigen::VectorXd> out) const {
  check_gradient_arguments(chunk, parameters, out);
  const chunk_range range = ranges_[static_cast<std::size_t>(chunk)];
  const auto x = features_.middleCols(range.begin, range.count);
  const Eigen::VectorXd residual =
      x.transpose() * parameters - targets_.segment(range.begin, range.count);
  out.noalias() = x * residual;
}

double least_squares::loss(const Eigen::VectorXd& parameters) const {
  check_parameters(parameters);
  return 0.5 * (features_.transpose() * parameters - targets_).squaredNorm();
}

Eigen::VectorXd least_squares::initial_parameters() const {
  if (config_.start_at_truth) return true_parameters_;
  return Eigen::VectorXd::Zero(config_.dimension);
}

}  // namespace pgc::core
