#include "pgc/coding/polynomial_code.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

#include <Eigen/Dense>

#include "pgc/core/error.hpp"

namespace pgc::coding {
namespace {

using core::input_error;

assignment checked_tasks(int workers, int load, int ell) {
  if (workers < 1) throw input_error("the polynomial code needs at least one worker");
  if (load < 1 || load > workers) {
    throw input_error("the polynomial code needs 1 <= load <= workers (" + std::to_string(workers) +
                      "), got load " + std::to_string(load));
  }
  if (ell < 1 || ell > load) {
    throw input_error("the polynomial code needs 1 <= ell <= load (" + std::to_string(load) +
                      "), got ell " + std::to_string(ell));
  }
  return cyclic(workers, load);
}

std::vector<double> family_points(int workers, evaluation_points points) {
  const auto n = static_cast<std::size_t>(workers);
  std::vector<double> a(n, 0.0);
  for (std::size_t w = 0; w < n; ++w) {
    const double x = static_cast<double>(w);
    const double count = static_cast<double>(n);
    switch (points) {
      case evaluation_points::equispaced:
        if (n > 1) a[w] = -1.0 + 2.0 * x / (count - 1.0);
        break;
      case evaluation_points::chebyshev:
        a[w] = std::cos((2.0 * x + 1.0) * std::numbers::pi / (2.0 * count));
        break;
    }
  }
  return a;
}

std::vector<double> checked_points(int workers, std::vector<double> points) {
  if (points.size() != static_cast<std::size_t>(workers)) {
    throw input_error("the polynomial code needs one evaluation point per worker (" +
                      std::to_string(workers) + "), got " + std::to_string(points.size()));
  }
  for (std::size_t w = 0; w < points.size(); ++w) {
    if (!std::isfinite(points[w])) {
      throw input_error("evaluation point of worker " + std::to_string(w) + " is not finite");
    }
    for (std::size_t v = 0; v < w; ++v) {
      if (points[v] == points[w]) {
        throw input_error("workers " + std::to_string(v) + " and " + std::to_string(w) +
                          " share the evaluation point " + std::to_string(points[w]));
      }
    }
  }
  return points;
}

// c[0] + c[1] x + ... + c[n-1] x^(n-1).
double horner(const std::vector<double>& c, double x) {
  double v = 0.0;
  for (auto it = c.rbegin(); it != c.rend(); ++it)
    v = v * x + *it;
  return v;
}

}  // namespace

polynomial_code::polynomial_code(int workers, int load, int ell, evaluation_points points)
    : scheme(checked_tasks(workers, load, ell), ell),
      load_(load),
      points_(family_points(workers, points)) {
  build();
}

polynomial_code::polynomial_code(int workers, int load, int ell, std::vector<double> points)
    : scheme(checked_tasks(workers, load, ell), ell),
      load_(load),
      points_(checked_points(workers, std::move(points))) {
  build();
}

void polynomial_code::build() {
  const int n = workers();
  const int ell = this->ell();
  const int load = load_;
  const int k = needed();
  const int deg = k - ell;  // degree of p_j
  const auto& a = points_;
  coefficients_.assign(static_cast<std::size_t>(n), Eigen::MatrixXd::Zero(load, ell));

  std::vector<bool> holds(static_cast<std::size_t>(n));
  std::vector<double> p;
  std::vector<double> r(static_cast<std::size_t>(ell));
  std::vector<double> c(static_cast<std::size_t>(k));
  for (int j = 0; j < chunks(); ++j) {
    std::fill(holds.begin(), holds.end(), false);
    for (const holder& h : tasks().holders(j))
      holds[static_cast<std::size_t>(h.worker)] = true;
    // p_j = product of (x - a_w) over the workers w that do not hold j, low degree first.
    p.assign(1, 1.0);
    for (int w = 0; w < n; ++w) {
      if (holds[static_cast<std::size_t>(w)]) continue;
      p.push_back(0.0);
      for (std::size_t i = p.size() - 1; i > 0; --i) {
        p[i] = p[i - 1] - a[static_cast<std::size_t>(w)] * p[i];
      }
      p[0] *= -a[static_cast<std::size_t>(w)];
    }
    if (static_cast<int>(p.size()) - 1 != deg) {
      // cyclic(N, load) gives every chunk exactly `load` holders.
      throw std::logic_error("polynomial code: chunk " + std::to_string(j) + " has " +
                             std::to_string(p.size() - 1) + " non-holders, expected " +
                             std::to_string(deg));
    }
    const auto coef = [&](int i) {
      return i < 0 || i > deg ? 0.0 : p[static_cast<std::size_t>(i)];
    };
    for (int u = 0; u < ell; ++u) {
      // With q = sum_t r_t x^(ell-1-t), the coefficient of x^(K-1-v) in p q is
      // sum_{t <= v} r_t p_{deg-v+t}, and p_deg = 1: a unit lower-triangular system.
      for (int v = 0; v < ell; ++v) {
        double x = v == u ? 1.0 : 0.0;
        for (int t = 0; t < v; ++t)
          x -= r[static_cast<std::size_t>(t)] * coef(deg - v + t);
        r[static_cast<std::size_t>(v)] = x;
      }
      std::fill(c.begin(), c.end(), 0.0);
      for (int t = 0; t < ell; ++t) {
        const int shift = ell - 1 - t;  // degree of the term r_t x^shift
        for (int i = 0; i <= deg; ++i) {
          c[static_cast<std::size_t>(i + shift)] +=
              r[static_cast<std::size_t>(t)] * p[static_cast<std::size_t>(i)];
        }
      }
      for (const holder& h : tasks().holders(j)) {
        coefficients_[static_cast<std::size_t>(h.worker)](h.position, u) =
            horner(c, a[static_cast<std::size_t>(h.worker)]);
      }
    }
  }
}

int polynomial_code::used(int worker, const state_vector& s) const {
  const int load = tasks().load(worker);
  return s.at(static_cast<std::size_t>(worker)) == load ? load : 0;
}

Eigen::MatrixXd polynomial_code::encoding(int worker, const state_vector& s) const {
  if (used(worker, s) == 0) return Eigen::MatrixXd(0, ell());
  return coefficients_[static_cast<std::size_t>(worker)];
}

Eigen::MatrixXd polynomial_code::decoding(const state_vector& s, std::span<const int> from) const {
  if (from.empty()) return Eigen::MatrixXd(ell(), 0);
  const int k = needed();
  std::vector<Eigen::Index> replies;  // positions in `from` of replies that carry a vector
  for (std::size_t t = 0; t < from.size() && static_cast<int>(replies.size()) < k; ++t) {
    if (used(from[t], s) > 0) replies.push_back(static_cast<Eigen::Index>(t));
  }
  if (static_cast<int>(replies.size()) < k) return least_squares_decoding(*this, s, from);

  // y_r = P(a_{from[r]}) = V coeffs(P): interpolate with the partial-pivot LU of V, as the
  // classic decoder does, and keep the rows of V^-1 that give the coefficients of
  // x^(K-1) .. x^(K-ell).
  Eigen::MatrixXd v(k, k);
  for (Eigen::Index r = 0; r < k; ++r) {
    const double x = points_[static_cast<std::size_t>(
        from[static_cast<std::size_t>(replies[static_cast<std::size_t>(r)])])];
    double power = 1.0;
    for (Eigen::Index i = 0; i < k; ++i) {
      v(r, i) = power;
      power *= x;
    }
  }
  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(v);
  const Eigen::MatrixXd inverse = lu.solve(Eigen::MatrixXd::Identity(k, k));
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(ell(), static_cast<Eigen::Index>(from.size()));
  for (int u = 0; u < ell(); ++u) {
    for (Eigen::Index r = 0; r < k; ++r) {
      d(u, replies[static_cast<std::size_t>(r)]) = inverse(k - 1 - u, r);
    }
  }
  return d;
}

}  // namespace pgc::coding
