#pragma once

// Helpers shared by the coding tests: random chunk gradients and a full encode/decode round trip
// through the scheme interface.

#include <random>
#include <vector>

#include <Eigen/Core>

#include "pgc/coding/scheme.hpp"

namespace pgc::coding::test {

// Chunk gradients with i.i.d. standard normal entries: column j is g_j.
inline Eigen::MatrixXd random_gradients(std::mt19937_64& rng, int chunks, int d) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd g(d, chunks);
  for (Eigen::Index c = 0; c < g.cols(); ++c) {
    for (Eigen::Index r = 0; r < g.rows(); ++r)
      g(r, c) = normal(rng);
  }
  return g;
}

// The workers in `from` encode their own chunk gradients; the PS decodes them.
inline Eigen::VectorXd round_trip(const scheme& code, const state_vector& s,
                                  const std::vector<int>& from, const Eigen::MatrixXd& g) {
  const block_layout layout{static_cast<int>(g.rows()), code.ell()};
  Eigen::MatrixXd coded(layout.block(), static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t) {
    const auto list = code.tasks().list(from[t]);
    Eigen::MatrixXd mine(g.rows(), static_cast<Eigen::Index>(list.size()));
    for (std::size_t p = 0; p < list.size(); ++p) {
      mine.col(static_cast<Eigen::Index>(p)) = g.col(list[p]);
    }
    coded.col(static_cast<Eigen::Index>(t)) = encode(code, from[t], s, mine);
  }
  return decode(code, s, from, coded, static_cast<int>(g.rows()));
}

// |decode - sum of chunk gradients| / |sum|.
inline double relative_error(const scheme& code, const state_vector& s,
                             const std::vector<int>& from, const Eigen::MatrixXd& g) {
  const Eigen::VectorXd sum = g.rowwise().sum();
  return (round_trip(code, s, from, g) - sum).norm() / sum.norm();
}

}  // namespace pgc::coding::test
