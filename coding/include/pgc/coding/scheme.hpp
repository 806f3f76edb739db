#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "pgc/coding/assignment.hpp"
#include "pgc/coding/progress_tracker.hpp"

namespace pgc::coding {

// Every gradient is cut into ell blocks of length ceil(d / ell); the last blocks are
// zero-padded. A coded vector has the length of one block.
struct block_layout {
  int d;
  int ell;
  int block() const noexcept { return (d + ell - 1) / ell; }
  // Real (unpadded) coordinates in block u.
  int length(int u) const noexcept {
    const int rest = d - u * block();
    return rest <= 0 ? 0 : (rest < block() ? rest : block());
  }
};

// A linear gradient code, the common shape of the proposed protocol and of every baseline.
// At state s, worker i sends
//     y_i = sum_p sum_u C_i(p, u) * block_u(g_{L_i[p]})       (p < used(i, s))
// with C_i = encoding(i, s), and the PS decodes block k of g as
//     sum_t D(k, t) * y_{from[t]}                            with D = decoding(s, from).
// Nodes and the simulator only talk to this interface, so they do not know which scheme runs.
// Implementations are immutable after construction and safe to share between threads.
class scheme {
 public:
  virtual ~scheme() = default;
  scheme(const scheme&) = delete;
  scheme& operator=(const scheme&) = delete;

  virtual std::string_view name() const noexcept = 0;
  const assignment& tasks() const noexcept { return tasks_; }
  int ell() const noexcept { return ell_; }
  int workers() const noexcept { return tasks_.workers(); }
  int chunks() const noexcept { return tasks_.chunks(); }

  // The scheme stops waiting at this progress: the PS may signal EncodeAndTransmit.
  virtual bool ready(const progress_tracker& progress) const = 0;

  // Decoding the senders' replies at this progress gives g itself (up to rounding). For every
  // scheme but ignore-stragglers this is ready(); that one is ready with a rescaled partial sum
  // and exact only when every worker replied. What summaries, CSV, dashboard and /metrics call
  // an exact step.
  virtual bool exact(const progress_tracker& progress) const { return ready(progress); }

  // What a worker needs, besides (kind, N, load, ell, seed, lists), to rebuild this scheme from
  // Welcome: the ell x N matrix R of the proposed scheme; null for the schemes whose
  // construction those fields fix.
  virtual const Eigen::MatrixXd* wire_matrix() const noexcept { return nullptr; }

  // How many chunks at the head of worker's list its coded vector covers at state s; 0 means
  // the worker sends nothing.
  virtual int used(int worker, const state_vector& s) const = 0;

  // used(worker, s) x ell coefficients C_worker. Computed by the worker alone.
  virtual Eigen::MatrixXd encoding(int worker, const state_vector& s) const = 0;

  // ell x from.size() decoding matrix for coded vectors from these workers (each with
  // used > 0). Approximate when the replies do not allow an exact decode.
  virtual Eigen::MatrixXd decoding(const state_vector& s, std::span<const int> from) const = 0;

  // Workers with used(worker, s) > 0, in increasing id order.
  std::vector<int> senders(const state_vector& s) const;

 protected:
  scheme(assignment tasks, int ell);

 private:
  assignment tasks_;
  int ell_;
};

// Worker side: the coded vector y (length block_layout{d, ell}.block()) from the worker's
// chunk gradients, one per column in list order (at least used(worker, s) columns, d rows).
Eigen::VectorXd encode(const scheme& code, int worker, const state_vector& s,
                       const Eigen::Ref<const Eigen::MatrixXd>& chunk_gradients);

// Worker side without temporaries: coordinates [offset, offset + y.size()) of the coded vector
// into y (overwritten), from the coefficients c = code.encoding(worker, s) and the chunk
// gradients as c.rows() pointers to d doubles each, in list order. The worker writes straight
// into its outgoing message this way (in tiles when it rounds to float32).
void encode_into(const Eigen::Ref<const Eigen::MatrixXd>& c,
                 std::span<const double* const> chunk_gradients, int d, int offset,
                 std::span<double> y);

// PS side: the d-vector from coded vectors (one per column, in the order of `from`).
Eigen::VectorXd decode(const scheme& code, const state_vector& s, std::span<const int> from,
                       const Eigen::Ref<const Eigen::MatrixXd>& coded, int d);

// The same into a preallocated d-vector g (overwritten, d = g.size()): each block accumulated in
// place, no temporary of the gradient's size and no allocation but the small decoding matrix.
void decode_into(const scheme& code, const state_vector& s, std::span<const int> from,
                 const Eigen::Ref<const Eigen::MatrixXd>& coded, Eigen::Ref<Eigen::VectorXd> g);

// One coded vector of a decode wherever it lies (the PS reads them in the messages they arrived
// in): block_layout{d, ell}.block() entries in double, or in float from a float32 wire. Exactly
// one pointer is set.
struct coded_column {
  const double* f64 = nullptr;
  const float* f32 = nullptr;
};

// decode_into from such columns, one per entry of `from`; floats are widened as they are read.
void decode_into(const scheme& code, const state_vector& s, std::span<const int> from,
                 std::span<const coded_column> coded, Eigen::Ref<Eigen::VectorXd> g);

// Expected normalized squared error E|g - decode|^2 / E|g|^2 when every chunk gradient has
// i.i.d. unit-variance entries: known from s and `from` alone, no gradients needed. 0 when the
// decode is exact.
double expected_error(const scheme& code, const state_vector& s, std::span<const int> from, int d);

// E_from: one row per reply in `from`, one column per (chunk j, block u) at j * ell + u, holding
// the coefficient of block u of g_j in that reply. Decoding with D yields D E_from, so the decode
// is exact when D E_from selects "sum over chunks of block k" for every k.
Eigen::MatrixXd stacked_encoding(const scheme& code, const state_vector& s,
                                 std::span<const int> from);

// The decoding matrix that minimizes the expected error for replies from `from`: the
// minimum-norm least-squares solution D of D E_from = J, where E_from stacks the senders'
// encodings and J selects "sum over chunks of block k". Any scheme may use it.
Eigen::MatrixXd least_squares_decoding(const scheme& code, const state_vector& s,
                                       std::span<const int> from);

}  // namespace pgc::coding
