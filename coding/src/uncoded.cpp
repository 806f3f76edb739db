#include "pgc/coding/uncoded.hpp"

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

assignment checked_tasks(int workers) {
  if (workers < 1) throw core::input_error("uncoded needs at least one worker");
  return cyclic(workers, 1);
}

}  // namespace

uncoded::uncoded(int workers) : scheme(checked_tasks(workers), 1) {}

int uncoded::used(int worker, const state_vector& s) const {
  return s.at(static_cast<std::size_t>(worker)) == 1 ? 1 : 0;
}

Eigen::MatrixXd uncoded::encoding(int worker, const state_vector& s) const {
  return Eigen::MatrixXd::Ones(used(worker, s), 1);
}

Eigen::MatrixXd uncoded::decoding(const state_vector& s, std::span<const int> from) const {
  Eigen::MatrixXd d(1, static_cast<Eigen::Index>(from.size()));
  for (std::size_t t = 0; t < from.size(); ++t)
    d(0, static_cast<Eigen::Index>(t)) = used(from[t], s);
  return d;
}

}  // namespace pgc::coding
