#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "pgc/core/chunk_split.hpp"
#include "pgc/core/dataset.hpp"
#include "pgc/core/gradient_source.hpp"

namespace pgc::core {

// Quality of a model on a labelled data set (typically the test set, evaluated on the PS).
struct evaluation {
  double mean_loss = 0;  // mean cross-entropy per sample, without any penalty
  double accuracy = 0;   // fraction of samples whose arg-max class is the label
  long samples = 0;
};

// A gradient source that is a classifier over a `dataset` and can score parameters on any data
// set with the same features and classes. Same thread safety as gradient_source.
class classifier : public gradient_source {
 public:
  // Throws input_error if `data` does not match the model's features and classes or is empty.
  virtual evaluation evaluate(const Eigen::VectorXd& parameters, const dataset& data) const = 0;

  // The training set cut into chunks, the same for every model.
  int chunks() const override { return static_cast<int>(ranges_.size()); }
  long samples() const override { return train_->samples(); }
  long chunk_samples(int chunk) const override;

 protected:
  // Validates the training set and splits it into `chunks` chunks; throws input_error naming
  // `model` when there is no training set.
  classifier(std::shared_ptr<const dataset> train, int chunks, std::string_view model);

  std::shared_ptr<const dataset> train_;
  std::vector<chunk_range> ranges_;

  // Throws input_error unless `data` is valid and has the features and classes of `train`.
  static void check_compatible(const dataset& data, const dataset& train);
};

}  // namespace pgc::core
