#pragma once

#include <vector>

#include "pgc/coding/scheme.hpp"

namespace pgc::coding {

// Where the polynomial code evaluates its polynomial, one point per worker.
enum class evaluation_points {
  equispaced,  // a_w = -1 + 2 w / (N - 1)
  chebyshev,   // a_w = cos((2 w + 1) pi / (2 N)), the Chebyshev nodes of the first kind
};

// The communication-efficient gradient code of Ye and Abbe (2018), the original protocol for
// ell >= 1 (DESIGN.md section 1). Worker w holds chunks w..w+load-1 (mod N) and, once it has
// finished all of them, sends P(a_w) where P(x) = sum_{j,u} c_{j,u}(x) g_j^(u) has degree
// < K = N - s, s = load - ell. c_{j,u} vanishes at the points of the workers that do not hold
// chunk j, and its top ell coefficients are e_u, so from any K replies the PS interpolates P
// (a K x K Vandermonde solve) and reads block u of g at the coefficient of x^(K-1-u).
// The monomial Vandermonde system is exponentially ill-conditioned in K: the decode loses
// accuracy quickly as N grows. That is a property of the scheme, and we keep it visible.
class polynomial_code final : public scheme {
 public:
  // Throws core::input_error unless 1 <= ell <= load <= workers.
  polynomial_code(int workers, int load, int ell,
                  evaluation_points points = evaluation_points::equispaced);
  // With one distinct finite point per worker (else core::input_error).
  polynomial_code(int workers, int load, int ell, std::vector<double> points);

  std::string_view name() const noexcept override { return "original-polynomial"; }
  int stragglers() const noexcept { return load_ - ell(); }
  // Replies needed for an exact decode: N - s.
  int needed() const noexcept { return workers() - stragglers(); }
  const std::vector<double>& points() const noexcept { return points_; }

  bool ready(const progress_tracker& progress) const override {
    return progress.finished() >= needed();
  }
  int used(int worker, const state_vector& s) const override;
  Eigen::MatrixXd encoding(int worker, const state_vector& s) const override;
  // From at least K finished replies: the first K of them through the Vandermonde solve (the
  // others get weight 0). From fewer: least_squares_decoding, the approximate mode.
  Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const override;

 private:
  void build();

  int load_;
  std::vector<double> points_;
  // Per worker, load x ell: row p is (c_{j,0}(a_w), ..., c_{j,ell-1}(a_w)) for j = L_w[p].
  std::vector<Eigen::MatrixXd> coefficients_;
};

}  // namespace pgc::coding
