#include <span>
#include <vector>

#include <Eigen/Dense>
#include <doctest/doctest.h>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/proposed.hpp"
#include "pgc/coding/scheme.hpp"
#include "pgc/core/error.hpp"

using namespace pgc::coding;

namespace {

state_vector full_state(const assignment& a) {
  state_vector s(static_cast<std::size_t>(a.workers()));
  for (int w = 0; w < a.workers(); ++w)
    s[static_cast<std::size_t>(w)] = a.load(w);
  return s;
}

}  // namespace

TEST_CASE("encode_into over any tiling equals encode") {
  // d not a multiple of ell, and d large enough for several internal tiles.
  for (const int d : {5, 37, 5000}) {
    const proposed code(cyclic(6, 4), 4, 3);
    const auto s = full_state(code.tasks());
    const int worker = 2;
    const Eigen::MatrixXd g = Eigen::MatrixXd::Random(d, 4);
    const Eigen::VectorXd expected = encode(code, worker, s, g);
    const Eigen::MatrixXd c = code.encoding(worker, s);
    std::vector<const double*> cols;
    for (Eigen::Index p = 0; p < g.cols(); ++p)
      cols.push_back(g.col(p).data());
    const int block = block_layout{d, 4}.block();
    REQUIRE(expected.size() == block);
    for (const int tile : {1, 3, 2048, block}) {
      CAPTURE(d);
      CAPTURE(tile);
      std::vector<double> y(static_cast<std::size_t>(block), -7.0);  // overwritten, not added to
      for (int at = 0; at < block; at += tile) {
        const int len = std::min(tile, block - at);
        encode_into(c, cols, d, at, std::span<double>(y.data() + at, static_cast<std::size_t>(len)));
      }
      const Eigen::Map<const Eigen::VectorXd> got(y.data(), block);
      CHECK((got - expected).norm() <= 1e-12 * (1.0 + expected.norm()));
    }
  }
}

TEST_CASE("encode_into rejects a range outside the block and too few chunk gradients") {
  const proposed code(cyclic(4, 2), 2, 1);
  const auto s = full_state(code.tasks());
  const Eigen::MatrixXd c = code.encoding(0, s);
  const Eigen::MatrixXd g = Eigen::MatrixXd::Random(10, 2);
  const std::vector<const double*> cols{g.col(0).data(), g.col(1).data()};
  std::vector<double> y(6);
  CHECK_THROWS_AS(encode_into(c, cols, 10, 0, y), pgc::core::input_error);  // block is 5
  CHECK_THROWS_AS(encode_into(c, std::span<const double* const>(cols.data(), 1), 10, 0,
                              std::span<double>(y.data(), 5)),
                  pgc::core::input_error);
}

TEST_CASE("decode_into overwrites a preallocated gradient with what decode returns") {
  // Full blocks only, a partial last block, and padding blocks past d (d = 5, ell = 4: 2 2 1 0).
  for (const int d : {8, 37, 5}) {
    for (const int ell : {1, 4}) {
      CAPTURE(d);
      CAPTURE(ell);
      const proposed code(cyclic(6, 4), ell, 2);
      const auto s = full_state(code.tasks());
      const auto from = code.senders(s);
      const int block = block_layout{d, ell}.block();
      const Eigen::MatrixXd coded =
          Eigen::MatrixXd::Random(block, static_cast<Eigen::Index>(from.size()));
      const Eigen::VectorXd expected = decode(code, s, from, coded, d);
      // The reference the old implementation computed: one block per column of coded * D^T.
      const Eigen::MatrixXd blocks = coded * code.decoding(s, from).transpose();
      for (int k = 0; k < ell; ++k) {
        const int len = block_layout{d, ell}.length(k);
        if (len > 0) {
          CHECK((expected.segment(k * block, len) - blocks.col(k).head(len)).norm() <=
                1e-12 * (1.0 + blocks.norm()));
        }
      }
      Eigen::VectorXd g = Eigen::VectorXd::Constant(d, 123.0);
      decode_into(code, s, from, coded, g);
      CHECK((g - expected).norm() <= 1e-12 * (1.0 + expected.norm()));
    }
  }
}

TEST_CASE("decode_into from double and float columns in place equals decode of the same values") {
  const int d = 1203;  // several tiles, a partial last block
  const proposed code(cyclic(6, 4), 4, 5);
  const auto s = full_state(code.tasks());
  const auto from = code.senders(s);
  const int block = block_layout{d, 4}.block();
  const Eigen::MatrixXf narrow = Eigen::MatrixXf::Random(block, static_cast<Eigen::Index>(from.size()));
  const Eigen::MatrixXd wide = narrow.cast<double>();
  const Eigen::VectorXd expected = decode(code, s, from, wide, d);
  // Columns mixed: even ones in double, odd ones in float, each from its own storage.
  std::vector<coded_column> columns(from.size());
  for (std::size_t t = 0; t < from.size(); ++t) {
    const auto c = static_cast<Eigen::Index>(t);
    if (t % 2 == 0) {
      columns[t].f64 = wide.col(c).data();
    } else {
      columns[t].f32 = narrow.col(c).data();
    }
  }
  Eigen::VectorXd g(d);
  decode_into(code, s, from, columns, g);
  CHECK((g - expected).norm() <= 1e-12 * (1.0 + expected.norm()));
  // A column with no view, or with both, is refused.
  columns[0].f32 = narrow.col(0).data();
  CHECK_THROWS_AS(decode_into(code, s, from, columns, g), pgc::core::input_error);
  columns[0] = coded_column{};
  CHECK_THROWS_AS(decode_into(code, s, from, columns, g), pgc::core::input_error);
}
