#include "pgc/coding/scheme.hpp"

#include <algorithm>
#include <string>
#include <vector>

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
  const int d = static_cast<int>(chunk_gradients.rows());
  std::vector<const double*> columns(static_cast<std::size_t>(c.rows()));
  for (Eigen::Index p = 0; p < c.rows(); ++p)
    columns[static_cast<std::size_t>(p)] = chunk_gradients.col(p).data();
  Eigen::VectorXd y(block_layout{d, code.ell()}.block());
  encode_into(c, columns, d, 0, std::span<double>(y.data(), static_cast<std::size_t>(y.size())));
  return y;
}

void encode_into(const Eigen::Ref<const Eigen::MatrixXd>& c,
                 std::span<const double* const> chunk_gradients, int d, int offset,
                 std::span<double> y) {
  const int ell = static_cast<int>(c.cols());
  const block_layout layout{d, ell};
  const auto n = static_cast<int>(y.size());
  if (static_cast<Eigen::Index>(chunk_gradients.size()) < c.rows() || offset < 0 ||
      offset + n > layout.block()) {
    throw input_error("encode_into: " + std::to_string(chunk_gradients.size()) +
                      " chunk gradients for " + std::to_string(c.rows()) + " coefficient rows, range [" +
                      std::to_string(offset) + ", " + std::to_string(offset + n) +
                      ") of a block of " + std::to_string(layout.block()));
  }
  // One clipped axpy per (chunk, block) term over the whole range. Tiling the range so y stays
  // in cache measured no faster here (y of the benchmark fits the last-level cache, and 16
  // interleaved streams at ell = 4 prefetch worse than 2), so the simple loop stays.
  Eigen::Map<Eigen::VectorXd> out(y.data(), n);
  out.setZero();
  for (Eigen::Index p = 0; p < c.rows(); ++p) {
    const double* g = chunk_gradients[static_cast<std::size_t>(p)];
    for (int u = 0; u < ell; ++u) {
      const double a = c(p, u);
      // Coordinates [offset, offset + n) of the block, clipped to block u's real length.
      const int hi = std::min(offset + n, layout.length(u)) - offset;
      if (hi <= 0 || a == 0.0) continue;
      out.head(hi) += a * Eigen::Map<const Eigen::VectorXd>(
                              g + static_cast<std::ptrdiff_t>(u) * layout.block() + offset, hi);
    }
  }
}

Eigen::VectorXd decode(const scheme& code, const state_vector& s, std::span<const int> from,
                       const Eigen::Ref<const Eigen::MatrixXd>& coded, int d) {
  if (d < 1) throw input_error("dimension d must be at least 1");
  Eigen::VectorXd g(d);
  decode_into(code, s, from, coded, g);
  return g;
}

void decode_into(const scheme& code, const state_vector& s, std::span<const int> from,
                 const Eigen::Ref<const Eigen::MatrixXd>& coded, Eigen::Ref<Eigen::VectorXd> g) {
  const int d = static_cast<int>(g.size());
  if (d < 1) throw input_error("dimension d must be at least 1");
  const block_layout layout{d, code.ell()};
  if (coded.cols() != static_cast<Eigen::Index>(from.size()) || coded.rows() != layout.block()) {
    throw input_error("decode needs " + std::to_string(from.size()) + " coded vectors of length " +
                      std::to_string(layout.block()) + ", got " + std::to_string(coded.cols()) +
                      " of length " + std::to_string(coded.rows()));
  }
  std::vector<coded_column> columns(from.size());
  for (std::size_t t = 0; t < from.size(); ++t)
    columns[t].f64 = coded.col(static_cast<Eigen::Index>(t)).data();
  decode_into(code, s, from, columns, g);
}

void decode_into(const scheme& code, const state_vector& s, std::span<const int> from,
                 std::span<const coded_column> coded, Eigen::Ref<Eigen::VectorXd> g) {
  check_state(code, s);
  check_from(code, from);
  const int d = static_cast<int>(g.size());
  if (d < 1) throw input_error("dimension d must be at least 1");
  if (coded.size() != from.size()) {
    throw input_error("decode needs " + std::to_string(from.size()) + " coded vectors, got " +
                      std::to_string(coded.size()));
  }
  for (const auto& c : coded) {
    if ((c.f64 == nullptr) == (c.f32 == nullptr))
      throw input_error("a coded vector needs exactly one of its double and float views");
  }
  const block_layout layout{d, code.ell()};
  const Eigen::MatrixXd dec = code.decoding(s, from);
  const int b = layout.block();
  // Block k of g is sum_t dec(k, t) y_t, accumulated in place a tile of rows at a time: the tiles
  // of the coded vectors stay in cache for every k, so each is read from memory once, and
  // nothing is packed or copied (a single GEMM packs the whole coded matrix first). Padding past
  // d is never formed.
  constexpr int tile = 512;
  for (int r0 = 0; r0 < b; r0 += tile) {
    const int r1 = std::min(b, r0 + tile);
    for (int k = 0; k < code.ell(); ++k) {
      const int hi = std::min(r1, layout.length(k));
      if (hi <= r0) continue;
      const int len = hi - r0;
      Eigen::Map<Eigen::VectorXd> out(g.data() + static_cast<std::ptrdiff_t>(k) * b + r0, len);
      out.setZero();
      // Four columns per pass over the output tile, as a GEMV kernel does.
      const auto col = [&](std::size_t t) {
        return Eigen::Map<const Eigen::VectorXd>(coded[t].f64 + r0, len);
      };
      const auto colf = [&](std::size_t t) {
        return Eigen::Map<const Eigen::VectorXf>(coded[t].f32 + r0, len).cast<double>();
      };
      const auto a = [&](std::size_t t) { return dec(k, static_cast<Eigen::Index>(t)); };
      std::size_t quad[4];
      int wide = 0;
      int narrow = 0;
      std::size_t quadf[4];
      for (std::size_t t = 0; t < coded.size(); ++t) {
        if (coded[t].f64 != nullptr) {
          quad[wide++] = t;
          if (wide == 4) {
            out += a(quad[0]) * col(quad[0]) + a(quad[1]) * col(quad[1]) +
                   a(quad[2]) * col(quad[2]) + a(quad[3]) * col(quad[3]);
            wide = 0;
          }
        } else {
          quadf[narrow++] = t;
          if (narrow == 4) {
            out += a(quadf[0]) * colf(quadf[0]) + a(quadf[1]) * colf(quadf[1]) +
                   a(quadf[2]) * colf(quadf[2]) + a(quadf[3]) * colf(quadf[3]);
            narrow = 0;
          }
        }
      }
      for (int i = 0; i < wide; ++i)
        out += a(quad[i]) * col(quad[i]);
      for (int i = 0; i < narrow; ++i)
        out += a(quadf[i]) * colf(quadf[i]);
    }
  }
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
