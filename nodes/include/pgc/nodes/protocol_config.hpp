#pragma once

// The protocol a cluster runs, as one value (STYLE.md: "one value per concern, handed down as
// is"). The PS's options hold it; the machine, the Welcome builder and the monitor read it as
// is; workers learn from Welcome what of it is the PS's to decide (scheme, mode, d, heartbeat,
// wire precision).

#include <chrono>
#include <optional>
#include <cstdint>

#include "pgc/core/name_table.hpp"
#include "pgc/net/frame_limits.hpp"
#include "pgc/nodes/scheme_spec.hpp"

namespace pgc::nodes {

// When the PS signals EncodeAndTransmit (mirrors wire::Mode).
enum class signal_mode {
  exact,        // as soon as the scheme can decode exactly
  approximate,  // at the deadline, or earlier when exact decoding is possible
};
// "exact", "approx".
core::name_table<signal_mode> signal_mode_names() noexcept;

// How workers send their coded vectors (mirrors wire::Precision); the PS decodes in double.
enum class wire_precision {
  f64,  // exact: the decode matches the single-process reference to rounding (~1e-15)
  f32,  // half the bytes; each entry rounded to float, ~1e-7 relative error in the gradient
};
// "f64", "f32".
core::name_table<wire_precision> wire_precision_names() noexcept;

// What the PS does when the workers it still has cannot make an exact step even if they all
// finish their lists (too many lost for good).
enum class shortfall_policy {
  wait,         // say so and wait for workers to (re)join
  approximate,  // decode approximately from everything the remaining workers can compute
  stop,         // say so and end the run with an error
};
// "wait", "approx", "stop".
core::name_table<shortfall_policy> shortfall_policy_names() noexcept;

struct protocol_config {
  scheme_spec scheme;  // what every worker rebuilds from Welcome
  signal_mode mode = signal_mode::exact;
  // Approximate mode: how long after StartIteration the PS signals with whatever it has.
  std::chrono::milliseconds deadline{0};
  int dimension = 0;  // d, > 0
  // Both ends send a Heartbeat every `heartbeat` when nothing else goes out; a peer silent for
  // `heartbeat_misses` intervals is lost. Workers take both from Welcome.
  std::chrono::milliseconds heartbeat{200};
  int heartbeat_misses = 4;
  wire_precision precision = wire_precision::f64;
  net::frame_limits limits;

  // How long a peer may stay silent before it is lost.
  std::chrono::milliseconds silence_limit() const { return heartbeat * heartbeat_misses; }
  // Throws core::input_error naming the first invalid field (d, heartbeat, misses, deadline).
  void validate() const;
};

// What a PS run does besides the protocol: how long, with how many workers.
struct run_config {
  std::optional<std::uint64_t> iterations;  // nullopt: run until stopped
  int min_workers = 0;                      // joined workers needed to start; 0 means all N
  // Joined workers needed to start the first iteration (0: min_workers), so a cluster can
  // assemble fully and then carry on without workers lost for good.
  int first_iteration_workers = 0;
  // The first iteration to run: 0, or the iteration after a checkpoint when resuming. The
  // iterations before it count as completed.
  std::uint64_t first_iteration = 0;
  shortfall_policy on_shortfall = shortfall_policy::wait;
};

}  // namespace pgc::nodes
