#pragma once

// Helpers shared by the model tests: small random data sets and a central finite-difference
// check of a gradient_source's full gradient against its loss.

#include <memory>
#include <random>

#include <Eigen/Core>

#include "pgc/core/dataset.hpp"
#include "pgc/core/gradient_source.hpp"

namespace pgc::core::test {

inline std::shared_ptr<const dataset> random_dataset(long samples, int features, int classes,
                                                     unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> label(0, classes - 1);
  auto data = std::make_shared<dataset>();
  data->features.resize(features, samples);
  for (long i = 0; i < samples; ++i) {
    for (int j = 0; j < features; ++j)
      data->features(j, i) = normal(random);
    data->labels.push_back(label(random));
  }
  data->classes = classes;
  return data;
}

inline Eigen::VectorXd random_vector(int size, double scale, unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<double> normal(0.0, scale);
  Eigen::VectorXd v(size);
  for (auto& x : v)
    x = normal(random);
  return v;
}

// |g_fd - g| / |g| with g the sum of the chunk gradients and g_fd the central difference of
// loss() with step h in every coordinate.
inline double finite_difference_error(const gradient_source& source,
                                      const Eigen::VectorXd& parameters, double h = 1e-5) {
  const Eigen::VectorXd analytic = full_gradient(source, parameters);
  Eigen::VectorXd numeric(parameters.size());
  Eigen::VectorXd shifted = parameters;
  for (Eigen::Index i = 0; i < parameters.size(); ++i) {
    shifted(i) = parameters(i) + h;
    const double up = source.loss(shifted);
    shifted(i) = parameters(i) - h;
    const double down = source.loss(shifted);
    shifted(i) = parameters(i);
    numeric(i) = (up - down) / (2 * h);
  }
  return (numeric - analytic).norm() / analytic.norm();
}

inline double relative_difference(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).norm() / b.norm();
}

}  // namespace pgc::core::test
