#include "pgc/core/classifier.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::core {

classifier::classifier(std::shared_ptr<const dataset> train, int chunks, std::string_view model)
    : train_(std::move(train)) {
  if (!train_) throw input_error(std::string(model) + " needs a training set");
  train_->validate();
  ranges_ = split_chunks(train_->samples(), chunks);
}

long classifier::chunk_samples(int chunk) const {
  if (chunk < 0 || chunk >= chunks()) throw input_error("chunk out of range");
  return ranges_[static_cast<std::size_t>(chunk)].count;
}

void classifier::check_compatible(const dataset& data, const dataset& train) {
  data.validate();
  if (data.feature_count() != train.feature_count() || data.classes != train.classes) {
    throw input_error("data set has " + std::to_string(data.feature_count()) + " features and " +
                      std::to_string(data.classes) + " classes, the model expects " +
                      std::to_string(train.feature_count()) + " and " +
                      std::to_string(train.classes));
  }
}

}  // namespace pgc::core
