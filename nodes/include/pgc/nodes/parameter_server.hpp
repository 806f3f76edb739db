#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <boost/asio/any_io_executor.hpp>

#include "pgc/core/logger.hpp"
#include "pgc/core/workload_fingerprint.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/tls_options.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/protocol_config.hpp"

namespace pgc::nodes {

// The decode pool; owned outside the impl so it is joined after every coroutine let go.
struct ps_pool;

struct ps_options {
  net::endpoint listen{"127.0.0.1", 0};  // port 0: any free port, see parameter_server::port()
  // The protocol, handed as is to the machine, to every Welcome and to the monitor.
  protocol_config protocol;
  run_config run;
  // Workers whose Hello carries another workload are refused with the differing field.
  core::workload_fingerprint fingerprint;
  // The live dashboard (net::status_server): HTTP + WebSocket on this address when set.
  std::optional<net::endpoint> dashboard;
  std::string dashboard_token;  // non-empty: every dashboard request must carry it
  // Shown on the dashboard beside this run's times: a comparison run's label and iteration
  // times (e.g. original gradient coding run before).
  std::optional<std::pair<std::string, std::vector<double>>> baseline;
  // Offer workers on this host (and network namespace) to build their coded vectors in memory
  // shared with the PS and send only where they are (net/shared_memory.hpp): the PS then reads
  // them in place, and no byte of them crosses a socket. Workers of other hosts are unaffected.
  bool shared_memory = true;
  // Non-empty: workers must prove they hold this secret (HMAC-SHA256 challenge-response,
  // net/auth.hpp) and the PS proves it in return; others are refused.
  std::string secret;
  // cert_file and key_file set: workers connect over TLS only (net/tls.hpp); with ca_file too,
  // each must present a certificate signed by it. Empty: plain TCP. Composes with `secret`.
  net::tls_options tls;
  Eigen::VectorXd initial_model;  // length d
  int decode_threads = 1;
  // Called after each decode, on the decode pool (never concurrently with itself): apply the
  // optimizer step to `model` in place. Default: leave the model unchanged.
  std::function<void(std::uint64_t iteration, const Eigen::VectorXd& gradient,
                     double expected_error, Eigen::VectorXd& model)>
      on_gradient;
  // Called on the io thread when an iteration is complete (after on_gradient).
  std::function<void(std::uint64_t iteration, const iteration_stats& stats,
                     std::chrono::steady_clock::duration wall)>
      on_iteration;
  // Called once on the io thread when the server has finished: null after the configured
  // iterations (or stop()), else the error that ended it.
  std::function<void(std::exception_ptr)> on_done;
  // Where the server's lines go, prefixed "ps: " (core::logger's default: stderr, info and up).
  core::logger log;
};

// The parameter server a service embeds (DESIGN.md section 2): accepts worker connections,
// feeds a ps_machine and carries out its actions. All I/O runs on the caller's executor (one
// thread); decoding and the optimizer hook run on an internal thread pool.
class parameter_server {
 public:
  // Throws core::input_error for an invalid configuration (scheme, sizes, model length).
  parameter_server(boost::asio::any_io_executor executor, ps_options options);
  parameter_server(const parameter_server&) = delete;
  parameter_server& operator=(const parameter_server&) = delete;
  // Stops (see stop()) and waits for the decode pool.
  ~parameter_server();

  // Binds, listens and starts accepting; returns the bound port. Call once, on any thread
  // before the executor runs or on its thread. Throws std::system_error when binding fails.
  std::uint16_t start();
  // Graceful and idempotent: Shutdown to every worker, channels drain and close, the acceptor
  // closes, on_done(nullptr) if not called yet. Call on the executor's thread.
  void stop();

  std::uint16_t port() const noexcept;
  // The dashboard's port once start() has bound it; 0 without a dashboard.
  std::uint16_t dashboard_port() const noexcept;
  // Regions workers handed over so far (ps_options::shared_memory): one per connection of a
  // worker on this host that sends its coded vectors through shared memory.
  std::uint64_t shared_memory_links() const noexcept;
  // A value of a completed iteration for the dashboard and /metrics (e.g. "loss",
  // "accuracy"); call on the executor's thread, e.g. from on_iteration.
  void annotate(std::uint64_t iteration, std::string_view key, double value);
  // A line for the dashboard's event log (on the executor's thread).
  void note(std::string text);
  // Counters read on the executor's thread.
  std::uint64_t completed() const noexcept;
  bool finished() const noexcept;
  // The model after the last completed step (the initial one before any). While a step is being
  // applied on the decode pool (from the decode until on_iteration) the PS holds no model on the
  // executor: it is empty then. on_iteration, on_done and later calls see it.
  const Eigen::VectorXd& model() const noexcept;

  struct impl;

 private:
  std::unique_ptr<ps_pool> pool_;
  std::shared_ptr<impl> impl_;
};

}  // namespace pgc::nodes
