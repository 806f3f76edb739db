#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "pgc/core/chunk_split.hpp"
#include "pgc/core/gradient_source.hpp"

namespace pgc::core {

struct least_squares_config {
  long samples = 1024;
  int dimension = 64;
  int chunks = 8;
  std::uint64_t seed = 1;
  double noise = 0.01;  // standard deviation of the additive noise on y
  // initial_parameters() returns w* instead of zeros: there every chunk gradient is
  // -X_c^T noise_c, independent across chunks and zero-mean (what coding::expected_error assumes).
  bool start_at_truth = false;
};

// Synthetic linear regression: X has i.i.d. N(0, 1/d) entries, w* ~ N(0, 1),
// y = X w* + noise * N(0, 1), all drawn from a portable generator seeded by config.seed, so every
// process that builds the same config holds bit-identical data (a PS recomputes the reference
// gradient from the seed alone). Chunk c's objective is 0.5 |X_c w - y_c|^2 and its gradient is
// X_c^T (X_c w - y_c). Cheap enough for runtime tests at any dimension.
class least_squares final : public gradient_source {
 public:
  // Throws input_error for non-positive sizes, chunks > samples or a negative noise level.
  explicit least_squares(const least_squares_config& config);

  int dimension() const override { return config_.dimension; }
  int chunks() const override { return config_.chunks; }
  long samples() const override { return config_.samples; }
  long chunk_samples(int chunk) const override;
  void gradient(int chunk, const Eigen::VectorXd& parameters,
                Eigen::Ref<Eigen::VectorXd> out) const override;
  double loss(const Eigen::VectorXd& parameters) const override;
  // Zeros, or w* with config.start_at_truth.
  Eigen::VectorXd initial_parameters() const override;

  const least_squares_config& config() const { return config_; }
  // The w* the targets were generated from.
  const Eigen::VectorXd& true_parameters() const { return true_parameters_; }

 private:
  least_squares_config config_;
  std::vector<chunk_range> ranges_;
  Eigen::MatrixXd features_;  // dimension x samples: a chunk is a contiguous column block
  Eigen::VectorXd targets_;
  Eigen::VectorXd true_parameters_;
};

}  // namespace pgc::core
