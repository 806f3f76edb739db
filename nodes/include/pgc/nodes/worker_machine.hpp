#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "pgc/coding/progress_tracker.hpp"
#include "pgc/coding/scheme.hpp"
#include "pgc/core/error.hpp"

namespace pgc::nodes {

// What a worker learns from Welcome; the shell builds the scheme from its fields.
struct worker_config {
  int worker = -1;                             // i
  std::shared_ptr<const coding::scheme> code;  // the same scheme as the PS's
  int dimension = 0;                           // d
};

// The worker's protocol logic (DESIGN.md section 1, STYLE.md item 7): pure and deterministic.
// It processes its list L_i in order, one chunk at a time, reports progress after each chunk,
// stops at EncodeAndTransmit and asks the shell to encode the chunks within the state vector.
// It never throws for bad peer input: that becomes send_error. Not thread-safe: one io thread.
//
// The shell holds the chunk gradients of the current iteration, column p = chunk L_i[p]: it
// stores a computed gradient only when the machine answers chunk_computed with keep_gradient,
// and frees them on drop_gradients.
class worker_machine {
 public:
  // ---- events -----------------------------------------------------------------------------
  // A new connection's Welcome: forget everything about the previous one.
  struct welcome {
    worker_config config;
  };
  // StartIteration. The iteration already running again means "resume": the PS lost a sender
  // and needs more progress; keep the gradients and go on where you stopped.
  struct start_iteration {
    std::uint64_t iteration;
  };
  // A compute_chunk finished; `ticket` echoes it. The gradient is still in the shell's hands.
  struct chunk_computed {
    std::uint64_t ticket;
  };
  struct encode_and_transmit {
    std::uint64_t iteration;
    std::uint32_t epoch;
    coding::state_vector state;
  };
  // Shutdown from the PS.
  struct shutdown {};
  // The connection to the PS is gone: forget the iteration (the PS dropped this worker from the
  // state vector) until the next Welcome. Keep using the same machine afterwards, so results
  // of computations still running are recognised as stale.
  struct connection_lost {};
  using event = std::variant<welcome, start_iteration, chunk_computed, encode_and_transmit,
                             shutdown, connection_lost>;

  // ---- actions ----------------------------------------------------------------------------
  // Run the GradientSource for chunk `chunk` (position `position` of the list) at the model of
  // `iteration`, on the compute pool; report chunk_computed{ticket}. At most one is in flight.
  struct compute_chunk {
    std::uint64_t ticket;
    std::uint64_t iteration;
    int position;
    int chunk;
  };
  // Store the gradient of that ticket as column `position` of the iteration's gradients. A
  // result without keep_gradient is stale: discard it.
  struct keep_gradient {
    std::uint64_t ticket;
    std::uint64_t iteration;
    int position;
  };
  struct send_progress {
    std::uint64_t iteration;
    int chunks_done;
  };
  // Compute coding::encode(code, worker, state, first `chunks` columns) and send
  // Encoded(iteration, epoch, y). A later encode for a higher epoch supersedes it.
  struct encode {
    std::uint64_t iteration;
    std::uint32_t epoch;
    coding::state_vector state;
    int chunks;
  };
  struct drop_gradients {
    std::uint64_t iteration;
  };
  struct send_error {
    core::errc code;
    std::string text;
  };
  // The PS said Shutdown: close the connection, do not reconnect.
  struct stop {};
  using action = std::variant<compute_chunk, keep_gradient, send_progress, encode, drop_gradients,
                              send_error, stop>;

  worker_machine() = default;

  std::vector<action> on(event e);

  bool configured() const noexcept { return config_.code != nullptr; }
  std::optional<std::uint64_t> iteration() const noexcept {
    return running_ ? std::optional<std::uint64_t>(current_) : std::nullopt;
  }
  int chunks_done() const noexcept { return computed_; }
  bool computing() const noexcept { return in_flight_.has_value(); }
  bool stopped() const noexcept { return stopped_; }
  long long stale_dropped() const noexcept { return stale_; }

 private:
  void on_event(welcome& e, std::vector<action>& out);
  void on_event(const start_iteration& e, std::vector<action>& out);
  void on_event(const chunk_computed& e, std::vector<action>& out);
  void on_event(const encode_and_transmit& e, std::vector<action>& out);
  void on_event(const shutdown& e, std::vector<action>& out);
  void on_event(const connection_lost& e, std::vector<action>& out);
  void forget(std::vector<action>& out);

  void advance(std::vector<action>& out);
  bool check_configured(std::vector<action>& out);
  int load() const;

  worker_config config_;
  bool running_ = false;  // an iteration is running (current_ is valid)
  bool ended_ = false;    // Shutdown arrived
  std::uint64_t current_ = 0;
  int computed_ = 0;                    // chunks of current_ whose gradient the shell keeps
  bool stopped_ = false;                // EncodeAndTransmit arrived: compute no more until a resume
  std::optional<std::uint32_t> epoch_;  // last epoch encoded in this iteration
  std::optional<std::uint64_t> in_flight_;  // ticket of the running computation
  std::uint64_t next_ticket_ = 0;           // never reset: results of an old connection stay stale
  long long stale_ = 0;
};

}  // namespace pgc::nodes
