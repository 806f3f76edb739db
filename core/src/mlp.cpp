#include "pgc/core/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/random.hpp"
#include "detail/softmax.hpp"
#include "pgc/core/error.hpp"

namespace pgc::core {
namespace {

// Samples per block: bounds the scratch matrices whatever the chunk size (see
// softmax_regression.cpp).
constexpr long k_block = 256;

// Views of a flat parameter (or gradient) vector in the documented layout.
template <typename Scalar>
struct layers {
  using map = Eigen::Map<
      std::conditional_t<std::is_const_v<Scalar>, const Eigen::MatrixXd, Eigen::MatrixXd>>;
  using vector_map = Eigen::Map<
      std::conditional_t<std::is_const_v<Scalar>, const Eigen::VectorXd, Eigen::VectorXd>>;
  map w1;
  vector_map b1;
  map w2;
  vector_map b2;

  layers(Scalar* data, int features, int hidden, int classes)
      : w1(data, hidden, features),
        b1(data + static_cast<long>(hidden) * features, hidden),
        w2(data + static_cast<long>(hidden) * features + hidden, classes, hidden),
        b2(data + static_cast<long>(hidden) * features + hidden +
               static_cast<long>(classes) * hidden,
           classes) {}
};

struct totals {
  double loss = 0;
  long correct = 0;
};

totals accumulate(const dataset& data, long begin, long count, const layers<const double>& p,
                  activation act, layers<double>* grad) {
  totals result;
  Eigen::MatrixXd x;
  Eigen::MatrixXd hidden;
  Eigen::MatrixXd logits;
  Eigen::MatrixXd back;
  for (long start = begin; start < begin + count; start += k_block) {
    const long n = std::min(k_block, begin + count - start);
    x = data.features.middleCols(start, n).cast<double>();
    hidden.noalias() = p.w1 * x;
    hidden.colwise() += p.b1;
    if (act == activation::relu) {
      hidden = hidden.cwiseMax(0.0);
    } else {
      hidden = hidden.array().tanh().matrix();
    }
    logits.noalias() = p.w2 * hidden;
    logits.colwise() += p.b2;
    const std::span<const int> labels(data.labels.data() + start, static_cast<std::size_t>(n));
    result.loss += detail::softmax_cross_entropy(logits, labels);
    for (long i = 0; i < n; ++i) {
      Eigen::Index predicted = 0;
      logits.col(i).maxCoeff(&predicted);
      if (predicted == labels[static_cast<std::size_t>(i)]) ++result.correct;
      logits(labels[static_cast<std::size_t>(i)], i) -= 1.0;
    }
    if (grad == nullptr) continue;
    grad->w2.noalias() += logits * hidden.transpose();
    grad->b2 += logits.rowwise().sum();
    back.noalias() = p.w2.transpose() * logits;
    // Derivative of the activation from its output: ReLU passes where h > 0, tanh' = 1 - h^2.
    if (act == activation::relu) {
      back.array() *= (hidden.array() > 0.0).cast<double>();
    } else {
      back.array() *= 1.0 - hidden.array().square();
    }
    grad->w1.noalias() += back * x.transpose();
    grad->b1 += back.rowwise().sum();
  }
  return result;
}

}  // namespace

mlp::mlp(std::shared_ptr<const dataset> train, const mlp_config& config)
    : classifier(std::move(train), config.chunks, "MLP"), config_(config) {
  if (config.hidden < 1) {
    throw input_error("MLP needs at least one hidden unit, got " + std::to_string(config.hidden));
  }
  if (!(config.l2 >= 0)) throw input_error("L2 penalty must be non-negative");
}

int mlp::dimension() const {
  const int f = train_->feature_count();
  const int h = config_.hidden;
  const int k = train_->classes;
  return h * f + h + k * h + k;
}

void mlp::gradient(int chunk, const Eigen::VectorXd& parameters,
                   Eigen::Ref<Eigen::VectorXd> out) const {
  check_gradient_arguments(chunk, parameters, out);
  const int f = train_->feature_count();
  const int k = train_->classes;
  const layers<const double> p(parameters.data(), f, config_.hidden, k);
  out.setZero();
  layers<double> grad(out.data(), f, config_.hidden, k);
  const chunk_range range = ranges_[static_cast<std::size_t>(chunk)];
  accumulate(*train_, range.begin, range.count, p, config_.hidden_activation, &grad);
  if (config_.l2 > 0) {
    // This chunk's share of the penalty, so the shares add up to l2 * W over all chunks.
    const double share = static_cast<double>(range.count) / static_cast<double>(samples());
    grad.w1 += (config_.l2 * share) * p.w1;
    grad.w2 += (config_.l2 * share) * p.w2;
  }
}

double mlp::loss(const Eigen::VectorXd& parameters) const {
  check_parameters(parameters);
  const layers<const double> p(parameters.data(), train_->feature_count(), config_.hidden,
                               train_->classes);
  const totals t = accumulate(*train_, 0, samples(), p, config_.hidden_activation, nullptr);
  return t.loss + 0.5 * config_.l2 * (p.w1.squaredNorm() + p.w2.squaredNorm());
}

Eigen::VectorXd mlp::initial_parameters() const {
  const int f = train_->feature_count();
  const int k = train_->classes;
  Eigen::VectorXd parameters = Eigen::VectorXd::Zero(dimension());
  layers<double> p(parameters.data(), f, config_.hidden, k);
  detail::portable_random random(config_.seed);
  const double gain = config_.hidden_activation == activation::relu ? 2.0 : 1.0;
  const double scale1 = std::sqrt(gain / f);
  const double scale2 = std::sqrt(1.0 / config_.hidden);
  // Column-major draw order: part of the definition of the initial model.
  for (Eigen::Index j = 0; j < p.w1.cols(); ++j) {
    for (Eigen::Index i = 0; i < p.w1.rows(); ++i)
      p.w1(i, j) = scale1 * random.normal();
  }
  for (Eigen::Index j = 0; j < p.w2.cols(); ++j) {
    for (Eigen::Index i = 0; i < p.w2.rows(); ++i)
      p.w2(i, j) = scale2 * random.normal();
  }
  return parameters;
}

evaluation mlp::evaluate(const Eigen::VectorXd& parameters, const dataset& data) const {
  check_parameters(parameters);
  check_compatible(data, *train_);
  const layers<const double> p(parameters.data(), train_->feature_count(), config_.hidden,
                               train_->classes);
  const totals t = accumulate(data, 0, data.samples(), p, config_.hidden_activation, nullptr);
  const auto n = static_cast<double>(data.samples());
  return {t.loss / n, static_cast<double>(t.correct) / n, data.samples()};
}

}  // namespace pgc::core
