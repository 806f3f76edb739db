#include "pgc/core/gradient_source.hpp"

#include <string>

#include "pgc/core/batch_sampler.hpp"
#include "pgc/core/error.hpp"

namespace pgc::core {

void gradient_source::check_parameters(const Eigen::VectorXd& parameters) const {
  if (parameters.size() != dimension()) {
    throw input_error("parameter vector has length " + std::to_string(parameters.size()) +
                      ", the model has dimension " + std::to_string(dimension()));
  }
}

void gradient_source::check_gradient_arguments(int chunk, const Eigen::VectorXd& parameters,
                                               const Eigen::Ref<Eigen::VectorXd>& out) const {
  if (chunk < 0 || chunk >= chunks()) {
    throw input_error("chunk " + std::to_string(chunk) + " is out of range: there are " +
                      std::to_string(chunks()) + " chunks");
  }
  check_parameters(parameters);
  if (out.size() != dimension()) {
    throw input_error("gradient output has length " + std::to_string(out.size()) +
                      ", the model has dimension " + std::to_string(dimension()));
  }
}

void gradient_source::batch_gradient(int, std::span<const long>, const Eigen::VectorXd&,
                                     Eigen::Ref<Eigen::VectorXd>) const {
  throw input_error("this gradient source computes whole chunks only, not mini-batches");
}

void gradient_source::check_batch_arguments(int chunk, std::span<const long> offsets,
                                            const Eigen::VectorXd& parameters,
                                            const Eigen::Ref<Eigen::VectorXd>& out) const {
  check_gradient_arguments(chunk, parameters, out);
  const long n = chunk_samples(chunk);
  long previous = -1;
  for (long offset : offsets) {
    if (offset <= previous || offset >= n) {
      throw input_error("batch offsets must ascend strictly within chunk " + std::to_string(chunk) +
                        "'s " + std::to_string(n) + " samples, got " + std::to_string(offset) +
                        (previous >= 0 ? " after " + std::to_string(previous) : std::string()));
    }
    previous = offset;
  }
}

Eigen::VectorXd full_gradient(const gradient_source& source, const Eigen::VectorXd& parameters) {
  Eigen::VectorXd total = Eigen::VectorXd::Zero(source.dimension());
  Eigen::VectorXd part(source.dimension());
  for (int chunk = 0; chunk < source.chunks(); ++chunk) {
    source.gradient(chunk, parameters, part);
    total += part;
  }
  return total;
}

Eigen::VectorXd full_gradient(const gradient_source& source, const Eigen::VectorXd& parameters,
                              const batch_sampler& sampler, std::uint64_t step) {
  if (sampler.chunks() != source.chunks()) {
    throw input_error("the batch sampler cuts " + std::to_string(sampler.chunks()) +
                      " chunks, the gradient source " + std::to_string(source.chunks()));
  }
  Eigen::VectorXd total = Eigen::VectorXd::Zero(source.dimension());
  Eigen::VectorXd part(source.dimension());
  for (int chunk = 0; chunk < source.chunks(); ++chunk) {
    if (sampler.chunk_size(chunk) != source.chunk_samples(chunk)) {
      throw input_error("the batch sampler's chunk " + std::to_string(chunk) + " has " +
                        std::to_string(sampler.chunk_size(chunk)) + " samples, the source's " +
                        std::to_string(source.chunk_samples(chunk)));
    }
    source.batch_gradient(chunk, sampler.samples(chunk, step), parameters, part);
    total += part;
  }
  return total;
}

}  // namespace pgc::core
