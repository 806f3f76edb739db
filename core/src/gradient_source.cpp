#include "pgc/core/gradient_source.hpp"

#include <string>

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

Eigen::VectorXd full_gradient(const gradient_source& source, const Eigen::VectorXd& parameters) {
  Eigen::VectorXd total = Eigen::VectorXd::Zero(source.dimension());
  Eigen::VectorXd part(source.dimension());
  for (int chunk = 0; chunk < source.chunks(); ++chunk) {
    source.gradient(chunk, parameters, part);
    total += part;
  }
  return total;
}

}  // namespace pgc::core
