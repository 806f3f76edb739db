#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <Eigen/Core>

#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/scheme.hpp"
#include "pgc/core/error.hpp"
#include "pgc/nodes/protocol_config.hpp"

namespace pgc::nodes {

// What the machine runs: the scheme built from protocol.scheme, the protocol (mode, deadline and
// d are the machine's; the rest rides along for the shell) and the run's bounds.
struct ps_config {
  std::shared_ptr<const coding::scheme> code;  // required
  protocol_config protocol;
  run_config run;
};

// Time-free counters of one iteration, for logs, the dashboard and `--summary`.
struct iteration_stats {
  std::uint32_t epochs = 0;        // EncodeAndTransmit signals (1 + re-signals after a loss)
  bool exact = false;              // the decode at the final signal is exact (scheme::exact)
  bool by_deadline = false;        // signalled without exact readiness (deadline or shortfall)
  bool shortfall = false;          // too few workers for an exact step (shortfall_policy)
  long long chunks_processed = 0;  // sum of the signalled state vector
  long long chunks_used = 0;       // chunks the replies cover: sum of used() over the senders
  std::vector<int> copies;         // per chunk: workers that had processed it at the signal
  int workers_lost = 0;            // workers lost while the iteration ran
  long long stale_dropped = 0;     // stale messages dropped while the iteration ran
};

// The parameter server's protocol logic (DESIGN.md section 1, STYLE.md item 7): pure and
// deterministic. The shell feeds it events (a message arrived, a peer came or went, a timer
// fired, the optimizer finished) and carries out the actions it returns, in order. It never
// throws for bad peer input: that becomes an Error action. Not thread-safe: one io thread.
//
// Lifecycle of iteration k: model_ready{k} (and enough joined workers) -> start_iteration ->
// progress... -> encode_and_transmit (epoch 0) -> encoded from exactly the senders of that
// state -> decode. A sender lost before it replied makes the machine re-signal with epoch + 1
// if the remaining state still qualifies, or else resume the workers (start_iteration with
// resume = true: same iteration, workers keep their gradients) and wait for more progress.
// After decode the shell applies the step and posts model_ready{k + 1}; model_ready for the
// configured number of iterations ends the run with shutdown.
class ps_machine {
 public:
  // ---- events -----------------------------------------------------------------------------
  // The shell accepted a Hello and mapped it to this worker id.
  struct worker_joined {
    int worker;
  };
  // The connection closed or stopped sending heartbeats. Idempotent.
  struct worker_lost {
    int worker;
  };
  struct progress {
    int worker;
    std::uint64_t iteration;
    int chunks_done;
  };
  // A coded vector in storage that `owner` keeps alive: the frame it arrived in, so the PS holds
  // every reply once (no copy), in double or in float from a float32 wire.
  struct coded_view {
    std::shared_ptr<const void> owner;
    coding::coded_column column;
    std::size_t size = 0;
  };
  struct encoded {
    int worker;
    std::uint64_t iteration;
    std::uint32_t epoch;
    std::vector<double> payload;  // the coded vector, unless `view` has an owner
    coded_view view = {};
  };
  // The timer armed by arm_deadline went off; late or repeated firings are ignored.
  struct deadline_fired {
    std::uint64_t iteration;
  };
  // The model for this iteration is in place (the first one, or the step after decode).
  struct model_ready {
    std::uint64_t iteration;
  };
  using event =
      std::variant<worker_joined, worker_lost, progress, encoded, deadline_fired, model_ready>;

  // ---- actions ----------------------------------------------------------------------------
  // Send Welcome (worker id, lists, R, scheme...) to a worker that just joined.
  struct send_welcome {
    int worker;
  };
  // Send StartIteration(iteration, current model) to these workers. resume: the same iteration
  // again after a lost sender, the workers continue where they stopped.
  struct start_iteration {
    std::uint64_t iteration;
    std::vector<int> to;
    bool resume = false;
  };
  // Call back with deadline_fired{iteration} after this long.
  struct arm_deadline {
    std::uint64_t iteration;
    std::chrono::milliseconds after;
  };
  struct encode_and_transmit {
    std::uint64_t iteration;
    std::uint32_t epoch;
    coding::state_vector state;
    std::vector<int> to;  // every worker in the iteration: all stop computing; senders reply
  };
  // Every awaited reply is in: decode (decode_gradient below, on a pool if it is heavy), apply
  // the step, then post model_ready{iteration + 1}. Emitted once per iteration.
  struct decode {
    std::uint64_t iteration;
    std::uint32_t epoch;
    coding::state_vector state;
    std::vector<int> from;  // increasing worker ids
    // coded[t] is the payload of from[t] (block entries), where it arrived.
    std::vector<coded_view> coded;
    iteration_stats stats;
    // The payloads as a block x from.size() matrix in double (a copy: for tests and tools).
    Eigen::MatrixXd coded_matrix() const;
  };
  // Send Error to a joined worker; it stays joined unless close_worker follows.
  struct send_error {
    int worker;
    core::errc code;
    std::string text;
  };
  // Close a joined worker's connection; the machine has already dropped it, so the shell's
  // later worker_lost for it is a no-op.
  struct close_worker {
    int worker;
  };
  // Answer the connection that delivered the current event with Error and close it: it is not
  // (or no longer) a joined worker. `worker` is the id it claimed, for the log.
  struct reject {
    int worker;
    core::errc code;
    std::string text;
  };
  // Send Shutdown to these workers: the run is over (with an error when `failure`).
  struct shutdown {
    std::vector<int> to;
    std::string reason;
    bool failure = false;
  };
  // Something the operator should know (log it, show it on the dashboard).
  struct notice {
    std::string text;
  };
  using action = std::variant<send_welcome, start_iteration, arm_deadline, encode_and_transmit,
                              decode, send_error, close_worker, reject, shutdown, notice>;

  // Throws core::input_error for a config without a scheme, d <= 0 or min_workers > N.
  explicit ps_machine(ps_config config);

  // Feed one event; returns what to do, in order.
  std::vector<action> on(event e);

  enum class phase {
    waiting_model,  // before an iteration: model_ready or enough workers missing
    computing,      // workers compute, the PS collects progress
    awaiting,       // EncodeAndTransmit sent, collecting Encoded replies
    finished,       // the configured iterations are done
  };
  phase current_phase() const noexcept { return phase_; }
  // The running iteration (or the last one, between iterations).
  std::uint64_t iteration() const noexcept { return current_; }
  std::uint64_t completed() const noexcept { return completed_; }
  const coding::state_vector& state() const noexcept { return tracker_.state(); }
  // Per chunk: workers that have processed it in this iteration (the dashboard's coverage).
  const std::vector<int>& copies() const noexcept { return tracker_.copies(); }
  // The scheme could decode exactly from the current state.
  bool ready() const { return config_.code->ready(tracker_); }
  // EncodeAndTransmit signals of the running iteration so far.
  std::uint32_t signals() const noexcept { return signals_; }
  bool joined(int worker) const;
  int joined_count() const noexcept { return joined_count_; }
  long long stale_dropped() const noexcept { return stale_total_; }
  const ps_config& config() const noexcept { return config_; }

 private:
  void on_event(const worker_joined& e, std::vector<action>& out);
  void on_event(const worker_lost& e, std::vector<action>& out);
  void on_event(const progress& e, std::vector<action>& out);
  void on_event(encoded& e, std::vector<action>& out);
  void on_event(const deadline_fired& e, std::vector<action>& out);
  void on_event(const model_ready& e, std::vector<action>& out);

  void try_start(std::vector<action>& out);
  bool may_signal() const;
  void maybe_signal(std::vector<action>& out);
  void signal(std::vector<action>& out);
  void drop(int worker, std::vector<action>& out);
  void complete(std::vector<action>& out);
  std::vector<int> joined_list() const;
  std::vector<int> in_iteration_list() const;
  // Send StartIteration(current_) to these workers; they are in the iteration from now on.
  void start_workers(std::vector<int> to, bool resume, std::vector<action>& out);
  void count_stale();
  // Could the joined workers make the scheme ready if each finished its whole list?
  bool exact_possible() const;
  // Re-evaluates the shortfall after workers came or went; acts on the policy when it begins.
  void check_shortfall(std::vector<action>& out);
  bool remaining_done() const;

  ps_config config_;
  int block_;
  int min_workers_;
  int first_workers_;
  coding::progress_tracker tracker_;
  std::vector<bool> joined_;
  std::vector<bool> in_iteration_;  // joined and sent StartIteration(current_)
  int joined_count_ = 0;

  phase phase_ = phase::waiting_model;
  bool started_ = false;       // some iteration has started
  bool model_ready_ = false;   // model_ready{next_} arrived
  std::uint64_t current_ = 0;  // running (or last) iteration
  std::uint64_t next_ = 0;     // the iteration model_ready is expected for
  std::uint64_t completed_ = 0;
  bool deadline_passed_ = false;
  bool shortfall_ = false;  // this iteration cannot be exact with the joined workers
  std::uint32_t signals_ = 0;  // signals this iteration; the current epoch is signals_ - 1

  coding::state_vector signalled_;
  std::vector<int> awaited_;
  std::vector<coded_view> replies_;  // indexed by worker; no owner: not in yet
  int missing_ = 0;
  iteration_stats stats_;
  long long stale_total_ = 0;
};

struct decoded_gradient {
  Eigen::VectorXd gradient;  // length d
  double expected_error;     // coding::expected_error of this decode; 0 when exact
};

// The PS's heavy math for one decode action: pure, safe to run on a thread pool while the
// machine goes on.
decoded_gradient decode_gradient(const coding::scheme& code, const ps_machine::decode& job,
                                 int dimension);
// The same into a preallocated gradient (length d, overwritten); returns the expected error.
double decode_gradient_into(const coding::scheme& code, const ps_machine::decode& job,
                            Eigen::Ref<Eigen::VectorXd> gradient);

}  // namespace pgc::nodes
