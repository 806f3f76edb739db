#pragma once

// The parameter server's shell state, shared by its translation units (parameter_server.cpp:
// actions and decode; ps_session.cpp: accept loop, sessions, heartbeats).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/shared_memory.hpp"
#include "pgc/net/tls.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/ps_monitor.hpp"
#include "pgc/net/status_server.hpp"
#include "spawn_logger.hpp"
#include "wire_convert.hpp"

namespace pgc::nodes {

struct ps_pool {
  explicit ps_pool(int threads) : pool(static_cast<std::size_t>(threads < 1 ? 1 : threads)) {}
  net::asio::thread_pool pool;
};

// One accepted connection. `worker` is -1 until its Hello is accepted.
struct ps_session {
  std::shared_ptr<net::channel> channel;
  int worker = -1;
  std::string name;
  // With a shared secret: the Challenge this connection got and the nonce of its Hello.
  net::nonce challenge{};
  net::nonce hello_nonce{};
  // Names this connection to the shared-memory socket (Welcome.sharedMemory).
  net::shm_listener::token shm_token{};
};

struct parameter_server::impl : std::enable_shared_from_this<parameter_server::impl> {
  impl(net::asio::any_io_executor ex, ps_options opt, net::asio::thread_pool::executor_type pool);

  // ---- ps_session.cpp ----
  void start_accepting();
  static net::awaitable<void> accept_loop(std::shared_ptr<impl> self);
  // With TLS: the server handshake of one accepted connection, in its own coroutine so that a
  // slow or hostile client cannot hold the accept loop; then open_session().
  static net::awaitable<void> tls_handshake(std::shared_ptr<impl> self, net::tcp::socket socket);
  // Registers a new connection as pending (Challenge first with a secret) and starts its reader.
  void open_session(std::shared_ptr<net::channel> channel);
  net::channel_options session_options() const;
  static net::awaitable<void> session_loop(std::shared_ptr<impl> self,
                                           std::shared_ptr<ps_session> session);
  static net::awaitable<void> heartbeat_loop(std::shared_ptr<impl> self);
  // Validates a Hello and registers the session; false when it was rejected.
  bool admit(const std::shared_ptr<ps_session>& session, net::wire::Hello::Reader hello);
  // `frame` holds `e`: a coded vector is decoded from it in place, so it is kept, not copied.
  void on_message(const std::shared_ptr<ps_session>& session, net::wire::Envelope::Reader e,
                  std::shared_ptr<const net::frame> frame);
  void on_session_end(const std::shared_ptr<ps_session>& session);
  // The shared-memory socket, when opt_.shared_memory; a failure only logs (bytes still work).
  void start_shared_memory();
  // shm_listener's taker: the worker whose token this is reads its coded vectors from `region`.
  std::string take_region(const net::shm_listener::token& token,
                          std::shared_ptr<net::shm_region> region);

  // ---- ps_dashboard.cpp ----
  void start_dashboard();
  void publish_status(bool force);
  void schedule_publish();

  // ---- parameter_server.cpp ----
  void feed(ps_machine::event e, const std::shared_ptr<ps_session>& from = nullptr);
  void execute(ps_machine::action& a, const std::shared_ptr<ps_session>& from);
  void send_to(int worker, detail::message_ptr m);
  void start_decode(ps_machine::decode job);
  void finish(std::exception_ptr error);
  // Ends the run: on_done(error), null for a normal end.
  void stop(const std::string& reason, std::exception_ptr error = nullptr);
  void log(const std::string& line) const;
  detail::spawn_logger logged(std::string what) const { return {opt_.log, std::move(what)}; }

  net::asio::any_io_executor ex_;
  ps_options opt_;
  // Null for plain TCP. Built here from opt_ (declared after it): a bad certificate or key is a
  // core::input_error from the constructor.
  std::shared_ptr<net::tls_context> tls_ = net::make_server_context(opt_.tls);
  net::asio::thread_pool::executor_type pool_;
  std::shared_ptr<const coding::scheme> code_;
  ps_machine machine_;
  detail::welcome_fields welcome_;
  Eigen::VectorXd model_;
  // The first segment of the StartIteration broadcast, reused every iteration.
  std::shared_ptr<net::segment_pool> start_segments_ = net::segment_pool::create(1);
  // The decoded gradient, reused every iteration; touched only by the (sequential) decode jobs.
  Eigen::VectorXd gradient_;
  net::tcp::acceptor acceptor_;
  net::asio::steady_timer deadline_;
  net::asio::steady_timer heartbeat_timer_;
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<ps_session>> workers_;  // by worker id; null when not connected
  std::vector<std::string> names_;                    // by worker id; empty when never used
  std::vector<std::shared_ptr<ps_session>> pending_;  // accepted, Hello not yet admitted
  std::chrono::steady_clock::time_point iteration_start_;
  ps_monitor monitor_;
  std::unique_ptr<net::status_server> dashboard_;
  std::shared_ptr<net::shm_listener> shm_listener_;
  std::uint64_t shm_links_ = 0;
  net::asio::steady_timer publish_timer_;
  std::uint64_t published_version_ = 0;
  std::chrono::steady_clock::time_point published_at_{};
  bool started_ = false;
  bool stopped_ = false;
  bool done_ = false;
};

}  // namespace pgc::nodes
