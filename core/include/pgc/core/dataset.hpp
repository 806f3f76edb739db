#pragma once

#include <vector>

#include <Eigen/Core>

namespace pgc::core {

// A labelled data set held in memory. Samples are COLUMNS of `features` (features x samples,
// column-major), so a chunk of consecutive samples is a contiguous block that models read with
// middleCols() without copying. Features are float to halve the memory of the larger sets; the
// models compute in double.
struct dataset {
  Eigen::MatrixXf features;
  std::vector<int> labels;  // one per sample, in [0, classes)
  int classes = 0;

  long samples() const { return static_cast<long>(features.cols()); }
  int feature_count() const { return static_cast<int>(features.rows()); }

  // The samples [begin, begin + count) as a new data set.
  dataset slice(long begin, long count) const;

  // Throws input_error unless labels match the samples, lie in [0, classes) and the set is
  // non-empty.
  void validate() const;
};

}  // namespace pgc::core
