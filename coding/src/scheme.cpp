#include "pgc/coding/scheme.hpp"

#include <string>

#include <Eigen/Dense>

#include "pgc/core/error.hpp"

namespace pgc::coding {

using core::input_error;

scheme::scheme(assignment tasks, int ell) : tasks_(std::move(tasks)), ell_(ell) {
  tasks_.check_ell(ell);
}

std::vector<int> scheme::senders(const state_vector& s) const {
  std::vector<int> out;
  for (int w = 0; w < workers(); ++w) {
    if (used(w, s) > 0) out.push_back(w);
  }
  return out;
}

namespace {

void check_state(const scheme& code, const state_vector& s) {
  if (static_cast<int>(s.size()) != code.workers()) {
    throw input_error("state vector has " + std::to_string(s.size()) + " entries, expected " +
                      std::to_string(code.workers()));
  }
  for (int w = 0; w < code.workers(); ++w) {
    const int v = s[static_cast<std::size_t>(w)];
    if (v < 0 || v > code.tasks().load(w)) {
      throw input_error("state vector entry " + std::to_string(w) + " = " + std::to_string(v) +
                        " is outside [0, " + std::to_string(code.tasks().load(w)) + "]");
    }
  }
}

void check_from(const scheme& code, std::span<const int> from) {
  std::vector<bool> seen(static_cast<std::size_t>(code.workers()), false);
  for (int w : from) {
    if (w < 0 || w >= code.workers())
      throw input_error("reply from unknown worker " + std::to_string(w));
    if (seen[static_cast<std::size_t>(w)])
      throw input_error("two replies from worker " + std::to_string(w));
    seen[static_cast<std::size_t>(w)] = true;
  }
}

// M_j = sum over replies t and positions p with L_{from[t]}[p] = j of D(:, t) C_t(p, :): how
// the decode mixes the blocks of chunk j into the blocks of g (exact when M_j = I).
std::vector<Eigen::MatrixXd> mixing(const scheme& code, const state_vector& s,
                                    std::span<const int> from, const Eigen::MatrixXd& dec) {
  const int ell = code.ell();
  std::vector<Eigen::MatrixXd> m(static_cast<std::size_t>(code.chunks()),
                                 Eigen::MatrixXd::Zero(ell, ell));
  for (std::size_t t = 0; t < from.size(); ++t) {
    const int w = from[t];
    const Eigen::MatrixXd c = code.encoding(w, s);
    const auto list = code.tasks().list(w);
    for (Eigen::Index p = 0; p < c.rows(); ++p) {
      m[static_cast<std::size_t>(list[static_cast<std::size_t>(p)])] +=
          dec.col(static_cast<Eigen::Index>(t)) * c.row(p);
    }
  }
  return m;
}

}  // namespace

Eigen::VectorXd encode(const scheme& code, int worker, const state_vector& s,
                       const Eigen::Ref<const Eigen::MatrixXd>& chunk_gradients) {
  check_state(code, s);
  if (worker < 0 || worker >= code.workers())
    throw input_error("unknown worker " + std::to_string(worker));
  const Eigen::MatrixXd c = code.encoding(worker, s);
  if (chunk_gradients.cols() < c.rows()) {
    throw input_error("worker " + std::to_string(worker) + " has " +
                      std::to_string(chunk_gradients.cols()) + " chunk gradients, the code needs " +
                      std::to_string(c.rows()));
  }
  const block_layout layout{static_cast<int>(chunk_gradients.rows()), code.ell()};
  Eigen::VectorXd y = Eigen::VectorXd::Zero(layout.block());
  for (Eigen::Index p = 0; p < c.rows(); ++p) {
    for (int u = 0; u < code.ell(); ++u) {
      const int len = layout.length(u);
      if (len == 0 || c(p, u) == 0.0) continue;
      y.head(len) += c(p, u) * chunk_gradients.col(p).segment(u * layout.block(), len);
    }
  }
  return y;
}

Eigen::VectorXd decode(const scheme& code, const state_vector& s, std::span<const int> from,
                       const Eigen::Ref<const Eigen::MatrixXd>& coded, int d) {
  check_state(code, s);
  check_from(code, from);
  const block_layout layout{d, code.ell()};
  if (coded.cols() != static_cast<Eigen::Index>(from.size()) || coded.rows() != layout.block()) {
    throw input_error("decode needs " + std::to_string(from.size()) + " coded vectors of length " +
                      std::to_string(layout.block()) + ", got " + std::to_string(coded.cols()) +
                      " of length " + std::to_string(coded.rows()));
  }
  const Eigen::MatrixXd dec = code.decoding(s, from);
  const Eigen::MatrixXd blocks = coded * dec.transpose();  // block x ell, column k = block k
  Eigen::VectorXd g(d);
  for (int k = 0; k < code.ell(); ++k) {
    const int len = layout.length(k);
    if (len > 0) g.segment(k * layout.block(), len) = blocks.col(k).head(len);
  }
  return g;
}

double expected_error(const scheme& code, const state_vector& s, std::span<const int> from, int d) {
  check_state(code, s);
  check_from(code, from);
  if (d < 1) throw input_error("dimension d must be at least 1");
  const int ell = code.ell();
  const block_layout layout{d, ell};
  Eigen::MatrixXd weight(ell, ell);  // shared real coordinates of blocks k and u
  for (int k = 0; k < ell; ++k) {
    for (int u = 0; u < ell; ++u)
      weight(k, u) = std::min(layout.length(k), layout.length(u));
  }
  const Eigen::MatrixXd dec = from.empty() ? Eigen::MatrixXd(ell, 0) : code.decoding(s, from);
  const auto m = mixing(code, s, from, dec);
  const Eigen::MatrixXd eye = Eigen::MatrixXd::Identity(ell, ell);
  double err = 0.0;
  for (const auto& mj : m)
    err += ((mj - eye).array().square() * weight.array()).sum();
  return err / (static_cast<double>(code.chunks()) * d);
}

Eigen::MatrixXd stacked_encoding(const scheme& code, const state_vector& s,
                                 std::span<const int> from) {
  const int ell = code.ell();
  Eigen::MatrixXd e = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(from.size()),
                                            static_cast<Eigen::Index>(code.chunks()) * ell);
  for (std::size_t t = 0; t < from.size(); ++t) {
    const Eigen::MatrixXd c = code.encoding(from[t], s);
    const auto list = code.tasks().list(from[t]);
    for (Eigen::Index p = 0; p < c.rows(); ++p) {
      e.row(static_cast<Eigen::Index>(t)).segment(list[static_cast<std::size_t>(p)] * ell, ell) =
          c.row(p);
    }
  }
  return e;
}

Eigen::MatrixXd least_squares_decoding(const scheme& code, const state_vector& s,
                                       std::span<const int> from) {
  const int ell = code.ell();
  const auto cols = static_cast<Eigen::Index>(code.chunks()) * ell;
  const Eigen::MatrixXd e = stacked_encoding(code, s, from);
  Eigen::MatrixXd target = Eigen::MatrixXd::Zero(cols, ell);  // J^T
  for (Eigen::Index j = 0; j < code.chunks(); ++j)
    target.middleRows(j * ell, ell).setIdentity();
  // D^T = argmin |E^T D^T - J^T|, minimum norm.
  const Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXd> cod(e.transpose());
  return cod.solve(target).transpose();
}

}  // namespace pgc::coding
