#pragma once

// The worker's shell state, shared by worker.cpp (actions, compute pool) and worker_connect.cpp
// (connect loop with backoff, reader, heartbeats).

#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/segment_pool.hpp"
#include "pgc/net/tls.hpp"
#include "pgc/nodes/worker.hpp"
#include "pgc/nodes/worker_machine.hpp"
#include "spawn_logger.hpp"
#include "wire_convert.hpp"

namespace pgc::nodes {

struct worker_pool {
  explicit worker_pool(int threads) : pool(static_cast<std::size_t>(threads < 1 ? 1 : threads)) {}
  net::asio::thread_pool pool;
};

// created -> running (start) -> stopping (stop, a give-up or a failure: the connect loop winds
// down) -> finished (on_done has been called).
enum class worker_run_state { created, running, stopping, finished };

struct worker::impl : std::enable_shared_from_this<worker::impl> {
  impl(net::asio::any_io_executor ex, worker_options opt,
       std::shared_ptr<const core::gradient_source> source,
       net::asio::thread_pool::executor_type pool);

  // ---- worker_connect.cpp ----
  // Connects, runs the connection, backs off and reconnects until stopped or given up; then
  // on_done.
  static net::awaitable<void> connect_loop(std::shared_ptr<impl> self);
  // Resolves, connects and (with TLS) does the client handshake; the connection's channel.
  // Throws core::input_error for a TLS failure that retrying cannot fix.
  static net::awaitable<std::shared_ptr<net::channel>> connect_once(std::shared_ptr<impl> self);
  static net::awaitable<void> run_connection(std::shared_ptr<impl> self,
                                             std::shared_ptr<net::channel> ch);
  // Sends a Heartbeat every heartbeat_ (the PS's interval from Welcome on) while `channel` is open.
  static net::awaitable<void> heartbeat_loop(std::shared_ptr<impl> self,
                                             std::shared_ptr<net::channel> channel);
  // The worker's side of the handshake with a secret: await the Challenge, send the
  // authenticated Hello. False (and the worker gave up) when the PS is not the one expected.
  static net::awaitable<bool> authenticate(std::shared_ptr<impl> self, net::channel& ch);
  // After a Welcome that offers shared memory: a region for this connection's coded vectors,
  // handed over to the PS; once it took the region, encodes build in it and the channel sends
  // references. Any failure leaves the connection sending bytes, as before.
  void start_sharing(const detail::shm_offer& offer);
  static net::awaitable<void> share_memory(std::shared_ptr<impl> self,
                                           std::shared_ptr<net::channel> ch,
                                           detail::shm_offer offer,
                                           std::shared_ptr<net::shm_region> region);
  void on_message(net::wire::Envelope::Reader e);
  void on_welcome(net::wire::Welcome::Reader w);
  void on_error(net::wire::Error::Reader e);

  // ---- worker.cpp ----
  void feed(worker_machine::event e);
  void execute(worker_machine::action& a);
  void compute(const worker_machine::compute_chunk& job);
  void encode(worker_machine::encode job);
  // A computed chunk (after its injected delay) goes to the machine.
  void chunk_done(std::uint64_t ticket, std::shared_ptr<const Eigen::VectorXd> g);
  void send(detail::message_ptr m);
  void stop();
  // The one way a worker gives up for good (a PS that refuses it for a reason retrying cannot
  // fix, a failed TLS or secret handshake, a PS gone longer than reconnect_timeout): logs why,
  // closes the connection, and the connect loop ends with on_done(input_error(why)).
  void give_up(const std::string& why);
  // A bug or a compute failure: ends at once with on_done(error).
  void fail(std::exception_ptr error);
  // Calls on_done once.
  void finish(std::exception_ptr error);
  bool running() const noexcept { return state_ == worker_run_state::running; }
  detail::spawn_logger logged(std::string what) const { return {log_, std::move(what)}; }

  net::asio::any_io_executor ex_;
  worker_options opt_;
  core::logger log_;  // opt_.log with the worker's name as prefix
  // Null for plain TCP. Built here from opt_ (declared after it): a bad CA, certificate or key
  // is a core::input_error from the constructor.
  std::shared_ptr<net::tls_context> tls_ = net::make_client_context(opt_.tls);
  std::shared_ptr<const core::gradient_source> source_;
  net::asio::thread_pool::executor_type pool_;
  worker_machine machine_;
  // What the last Welcome said (the scheme, the id, d, precision, the PS's heartbeat); before
  // the first one, the heartbeat of opt_.
  struct session_info {
    std::shared_ptr<const coding::scheme> code;
    int worker_id = -1;
    int dimension = 0;
    wire_precision precision = wire_precision::f64;
    std::chrono::milliseconds heartbeat;
    int heartbeat_misses;
  } session_;
  // First segments of the Encoded messages, reused every iteration (built on the pool).
  std::shared_ptr<net::segment_pool> segments_ = net::segment_pool::create(2);
  // The current connection to the PS.
  struct connection_state {
    std::shared_ptr<net::channel> channel;  // null between connections
    // The region the PS took on this connection (null: send bytes); encodes build in its slots.
    std::shared_ptr<net::shm_region> shm;
    std::uint64_t generation = 0;  // connections so far: results of an older one are not sent
    bool welcomed = false;         // this connection got its Welcome
    // The heartbeat loop's timer (Welcome wakes it to adopt the PS's interval).
    std::shared_ptr<net::asio::steady_timer> heartbeat;
    std::string refusal;           // why the PS refused it, when that may heal
    // With a shared secret: this connection's nonces (net/auth.hpp).
    net::nonce ps_nonce{};
    net::nonce hello_nonce{};
  } conn_;
  std::map<std::uint64_t, std::shared_ptr<const Eigen::VectorXd>> models_;
  std::map<std::uint64_t, std::vector<std::shared_ptr<const Eigen::VectorXd>>> gradients_;
  std::map<std::uint64_t, std::shared_ptr<const Eigen::VectorXd>> results_;  // by ticket
  net::asio::steady_timer backoff_;
  net::asio::steady_timer delay_timer_;  // the injected delay of the chunk in flight
  std::mt19937_64 delay_rng_;            // draws of opt_.delay, on the io thread
  std::mt19937_64 jitter_rng_;           // the reconnect backoff's jitter
  worker_run_state state_ = worker_run_state::created;
  bool failed_once_ = false;  // the injected failure (opt_.fail_at) happened
  std::exception_ptr failure_;  // why the worker gave up, reported when the connect loop ends
};

}  // namespace pgc::nodes
