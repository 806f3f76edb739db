#include "pgc/core/classifier.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::core {

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
