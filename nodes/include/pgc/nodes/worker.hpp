#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "pgc/core/gradient_source.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/core/workload_fingerprint.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/frame_limits.hpp"
#include "pgc/net/tls_options.hpp"
#include "pgc/nodes/delay_model.hpp"

namespace pgc::nodes {

// The compute pool; owned outside the impl so it is joined after every coroutine let go.
struct worker_pool;

struct worker_options {
  net::endpoint connect;
  std::string name;  // stable across reconnects: the PS gives the same name the same id
  int preferred_id = -1;  // the worker id to ask for on first contact (granted if free); -1: any
  // Until the PS's Welcome says otherwise: the heartbeat interval and the silent intervals after
  // which the PS counts as lost. From Welcome on, the PS's values hold (it decides them).
  std::chrono::milliseconds heartbeat{200};
  int heartbeat_misses = 4;
  // Sent in Hello; a PS with another workload refuses it (the worker ends with input_error).
  core::workload_fingerprint fingerprint;
  net::frame_limits limits;
  // Non-empty: answer the PS's challenge with an HMAC of this secret and accept only a PS that
  // proves it holds it too (net/auth.hpp). A refusal for authentication ends the worker.
  std::string secret;
  // ca_file set: connect over TLS only, accepting a PS whose certificate chains to it and names
  // `connect.host` (or tls.server_name); cert_file/key_file: a client certificate for a PS that
  // asks for one. A certificate the worker rejects, or a PS that rejects the worker at the TLS
  // level, ends the worker (retrying would not help). Empty: plain TCP.
  net::tls_options tls;
  // Reconnect backoff: doubles (with jitter) from `backoff_initial` up to `backoff_max`; it starts
  // again only after a Welcome, not on a bare TCP connect, so a PS that keeps refusing is not
  // hammered. Give up (on_done with the error) when no Welcome came for `reconnect_timeout`:
  // long enough by default to restart a PS with --resume.
  std::chrono::milliseconds backoff_initial{50};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds reconnect_timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds connect_timeout{2000};
  int compute_threads = 1;  // the worker's own pool
  // When the PS offers it (it runs on this host and in this network namespace), build coded
  // vectors in memory shared with the PS and send only where they are (net/shared_memory.hpp):
  // no byte of them crosses a socket. False: always send the bytes.
  bool shared_memory = true;
  // Straggler injection for experiments: each chunk takes `slowdown` times its compute time (the
  // pool thread sleeps for the difference).
  double slowdown = 1.0;
  // ... and then a random extra time per chunk, drawn from `delay` by a generator seeded with
  // `delay_seed` (one draw per chunk in the order the chunks start, so a seed repeats the delays
  // of a run). It waits on a timer, not on the pool: the worker encodes at once when
  // EncodeAndTransmit arrives during it.
  delay_model delay;
  std::uint64_t delay_seed = 0;
  // When the worker is about to compute position `position` of its list in iteration
  // `iteration`, it closes its connection abruptly (once), as if it crashed, then reconnects.
  struct fail_point {
    std::uint64_t iteration;
    int position;
  };
  std::optional<fail_point> fail_at;
  bool reconnect_after_failure = true;
  // Called once on the io thread when the worker has stopped: null after the PS's Shutdown or
  // stop(), else the error that ended it.
  std::function<void(std::exception_ptr)> on_done;
  core::logger log;  // lines prefixed with the worker's name
};

// A worker node a service embeds: connects to the PS (with backoff), computes chunk gradients
// with a gradient_source on a compute pool, encodes and sends them as a worker_machine says.
// All I/O on the caller's executor (one thread); the io thread never computes.
class worker {
 public:
  worker(boost::asio::any_io_executor executor, worker_options options,
         std::shared_ptr<const core::gradient_source> source);
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker();

  // Starts connecting; returns at once. Call once.
  void start();
  // Graceful and idempotent: closes the connection after the queue drains, no reconnect,
  // on_done(nullptr) if not called yet. Call on the executor's thread.
  void stop();

  bool finished() const noexcept;
  int worker_id() const noexcept;  // -1 before the first Welcome

  struct impl;

 private:
  std::unique_ptr<worker_pool> pool_;
  std::shared_ptr<impl> impl_;
};

}  // namespace pgc::nodes
