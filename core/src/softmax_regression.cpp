#include "pgc/core/softmax_regression.hpp"

#include <algorithm>
#include <span>
#include <string>
#include <utility>

#include "detail/softmax.hpp"
#include "pgc/core/error.hpp"

namespace pgc::core {
namespace {

// Samples per block: bounds the double copy of the features and the logits to a few hundred KB
// whatever the chunk size, so the working set stays in cache.
constexpr long k_block = 256;

struct totals {
  double loss = 0;
  long correct = 0;
};

using const_matrix_map = Eigen::Map<const Eigen::MatrixXd>;
using matrix_map = Eigen::Map<Eigen::MatrixXd>;

// Cross-entropy of samples [begin, begin + count) of `data`; adds its gradient to weight_grad and
// bias_grad when given (they must be zeroed by the caller).
totals accumulate(const dataset& data, long begin, long count, const const_matrix_map& weights,
                  const Eigen::Ref<const Eigen::VectorXd>& bias, matrix_map* weight_grad,
                  Eigen::Ref<Eigen::VectorXd>* bias_grad) {
  totals result;
  Eigen::MatrixXd x;
  Eigen::MatrixXd logits;
  for (long start = begin; start < begin + count; start += k_block) {
    const long n = std::min(k_block, begin + count - start);
    x = data.features.middleCols(start, n).cast<double>();
    logits.noalias() = weights * x;
    logits.colwise() += bias;
    const std::span<const int> labels(data.labels.data() + start, static_cast<std::size_t>(n));
    result.loss += detail::softmax_cross_entropy(logits, labels);
    for (long i = 0; i < n; ++i) {
      Eigen::Index predicted = 0;
      logits.col(i).maxCoeff(&predicted);
      if (predicted == labels[static_cast<std::size_t>(i)]) ++result.correct;
      // d(cross-entropy)/d(logits) = softmax - one_hot(label)
      logits(labels[static_cast<std::size_t>(i)], i) -= 1.0;
    }
    if (weight_grad != nullptr) {
      weight_grad->noalias() += logits * x.transpose();
      *bias_grad += logits.rowwise().sum();
    }
  }
  return result;
}

}  // namespace

softmax_regression::softmax_regression(std::shared_ptr<const dataset> train,
                                       const softmax_regression_config& config)
    : classifier(std::move(train), config.chunks, "softmax regression"), config_(config) {
  if (!(config.l2 >= 0)) throw input_error("L2 penalty must be non-negative");
}

int softmax_regression::dimension() const {
  return train_->classes * train_->feature_count() + train_->classes;
}

void softmax_regression::gradient(int chunk, const Eigen::VectorXd& parameters,
                                  Eigen::Ref<Eigen::VectorXd> out) const {
  check_gradient_arguments(chunk, parameters, out);
  const int k = train_->classes;
  const int f = train_->feature_count();
  const long weights_size = static_cast<long>(k) * f;
  const const_matrix_map weights(parameters.data(), k, f);
  out.setZero();
  matrix_map weight_grad(out.data(), k, f);
  Eigen::Ref<Eigen::VectorXd> bias_grad = out.segment(weights_size, k);
  const chunk_range range = ranges_[static_cast<std::size_t>(chunk)];
  accumulate(*train_, range.begin, range.count, weights, parameters.segment(weights_size, k),
             &weight_grad, &bias_grad);
  if (config_.l2 > 0) {
    // This chunk's share of the penalty, so the shares add up to l2 * W over all chunks.
    const double share = static_cast<double>(range.count) / static_cast<double>(samples());
    weight_grad += (config_.l2 * share) * weights;
  }
}

double softmax_regression::loss(const Eigen::VectorXd& parameters) const {
  check_parameters(parameters);
  const int k = train_->classes;
  const int f = train_->feature_count();
  const const_matrix_map weights(parameters.data(), k, f);
  const totals t = accumulate(*train_, 0, samples(), weights,
                              parameters.segment(static_cast<long>(k) * f, k), nullptr, nullptr);
  return t.loss + 0.5 * config_.l2 * weights.squaredNorm();
}

Eigen::VectorXd softmax_regression::initial_parameters() const {
  return Eigen::VectorXd::Zero(dimension());
}

evaluation softmax_regression::evaluate(const Eigen::VectorXd& parameters,
                                        const dataset& data) const {
  check_parameters(parameters);
  const int k = train_->classes;
  const int f = train_->feature_count();
  check_compatible(data, *train_);
  const const_matrix_map weights(parameters.data(), k, f);
  const totals t = accumulate(data, 0, data.samples(), weights,
                              parameters.segment(static_cast<long>(k) * f, k), nullptr, nullptr);
  const auto n = static_cast<double>(data.samples());
  return {t.loss / n, static_cast<double>(t.correct) / n, data.samples()};
}

}  // namespace pgc::core
