#pragma once

#include <Eigen/Core>

namespace pgc::core {

// What a worker computes: the gradient of the training objective restricted to one chunk of the
// data set. A chunk's gradient is the SUM over its samples (never the mean), so the sum of all
// chunk gradients is the full-batch gradient and exact decoding reproduces full-batch gradient
// descent. Terms that belong to no sample (an L2 penalty) are spread over the chunks in
// proportion to their sizes, which keeps that identity exact.
//
// Thread safety: every const member may be called concurrently from any number of threads (a
// worker runs gradient() on a thread pool); implementations keep no mutable state and use only
// local scratch space. Construction and destruction are not concurrent with anything else.
class gradient_source {
 public:
  virtual ~gradient_source() = default;

  // Length of the parameter and gradient vectors.
  virtual int dimension() const = 0;
  // Number of chunks m the data set is cut into.
  virtual int chunks() const = 0;
  // Samples in the whole data set and in one chunk; the optimizer scales by 1 / samples().
  virtual long samples() const = 0;
  virtual long chunk_samples(int chunk) const = 0;

  // Writes the gradient of chunk `chunk` at `parameters` into `out` (overwritten, not added to).
  // Throws input_error if chunk is out of range or a vector has the wrong length.
  virtual void gradient(int chunk, const Eigen::VectorXd& parameters,
                        Eigen::Ref<Eigen::VectorXd> out) const = 0;

  // The objective over the whole data set (a sum over samples plus any penalty) whose gradient is
  // the sum of the chunk gradients; used for evaluation and gradient checks, not on the hot path.
  virtual double loss(const Eigen::VectorXd& parameters) const = 0;

  // Deterministic starting point (from the workload's seed where the model needs randomness).
  virtual Eigen::VectorXd initial_parameters() const = 0;

 protected:
  gradient_source() = default;
  gradient_source(const gradient_source&) = default;
  gradient_source& operator=(const gradient_source&) = default;

  // Validates the arguments of gradient(); implementations call it first.
  void check_gradient_arguments(int chunk, const Eigen::VectorXd& parameters,
                                const Eigen::Ref<Eigen::VectorXd>& out) const;
  void check_parameters(const Eigen::VectorXd& parameters) const;
};

// Sum of all chunk gradients: the full-batch gradient a parameter server uses as its reference.
Eigen::VectorXd full_gradient(const gradient_source& source, const Eigen::VectorXd& parameters);

}  // namespace pgc::core
