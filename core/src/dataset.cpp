#include "pgc/core/dataset.hpp"

#include <string>

#include "pgc/core/error.hpp"

namespace pgc::core {

dataset dataset::slice(long begin, long count) const {
  if (begin < 0 || count < 0 || begin + count > samples()) {
    throw input_error("slice [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                      ") is outside a data set of " + std::to_string(samples()) + " samples");
  }
  dataset part;
  part.features = features.middleCols(begin, count);
  part.labels.assign(labels.begin() + begin, labels.begin() + begin + count);
  part.classes = classes;
  return part;
}

void dataset::validate() const {
  if (samples() < 1 || feature_count() < 1) throw input_error("data set is empty");
  if (classes < 2) {
    throw input_error("data set needs at least two classes, has " + std::to_string(classes));
  }
  if (static_cast<long>(labels.size()) != samples()) {
    throw input_error("data set has " + std::to_string(samples()) + " samples but " +
                      std::to_string(labels.size()) + " labels");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw input_error("label " + std::to_string(labels[i]) + " of sample " + std::to_string(i) +
                        " is outside [0, " + std::to_string(classes) + ")");
    }
  }
}

}  // namespace pgc::core
