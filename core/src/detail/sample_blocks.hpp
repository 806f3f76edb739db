#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "pgc/core/dataset.hpp"

namespace pgc::core::detail {

// The samples a model's pass goes over: a contiguous run [begin, begin + count) (a whole chunk,
// a data set), or the listed samples begin + offsets[k] (a chunk's share of a mini-batch).
struct sample_selection {
  long begin = 0;
  long count = 0;
  bool listed = false;
  std::span<const long> offsets;  // when listed; count == offsets.size()

  static sample_selection range(long begin, long count) { return {begin, count, false, {}}; }
  static sample_selection list(long begin, std::span<const long> offsets) {
    return {begin, static_cast<long>(offsets.size()), true, offsets};
  }
};

// Reads samples [start, start + n) of the selection (positions in it, not in the data set): the
// features into `x` in double, the labels as a view of the data set's (a run) or of `gathered`.
class sample_blocks {
 public:
  sample_blocks(const dataset& data, const sample_selection& selection)
      : data_(data), selection_(selection) {}

  std::span<const int> load(long start, long n, Eigen::MatrixXd& x) {
    if (!selection_.listed) {
      const long first = selection_.begin + start;
      x = data_.features.middleCols(first, n).cast<double>();
      return {data_.labels.data() + first, static_cast<std::size_t>(n)};
    }
    x.resize(data_.features.rows(), n);
    gathered_.resize(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      const long sample =
          selection_.begin + selection_.offsets[static_cast<std::size_t>(start + i)];
      x.col(i) = data_.features.col(sample).cast<double>();
      gathered_[static_cast<std::size_t>(i)] = data_.labels[static_cast<std::size_t>(sample)];
    }
    return gathered_;
  }

 private:
  const dataset& data_;
  sample_selection selection_;
  std::vector<int> gathered_;
};

}  // namespace pgc::core::detail
