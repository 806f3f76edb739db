#pragma once

// The parameter server's shell, shared by its translation units: parameter_server.cpp (actions,
// decode, lifecycle), ps_accept.cpp (listening, TLS, admission, shared memory) and
// ps_dashboard.cpp. Each connection is a ps_session; who may join is an admission.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/shared_memory.hpp"
#include "pgc/net/status_server.hpp"
#include "pgc/net/tls.hpp"
#include "pgc/nodes/admission.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "pgc/nodes/ps_machine.hpp"
#include "pgc/nodes/ps_monitor.hpp"
#include "ps_session.hpp"
#include "spawn_logger.hpp"
#include "wire_convert.hpp"

namespace pgc::nodes {

struct ps_pool {
  explicit ps_pool(int threads) : pool(static_cast<std::size_t>(threads < 1 ? 1 : threads)) {}
  net::asio::thread_pool pool;
};

// created -> running (start) -> finished (stop, the last iteration, or a failure; on_done has
// been called).
enum class ps_run_state { created, running, finished };

struct parameter_server::impl : detail::ps_session::owner,
                                std::enable_shared_from_this<parameter_server::impl> {
  impl(net::asio::any_io_executor ex, ps_options opt, net::asio::thread_pool::executor_type pool);

  // ---- ps_accept.cpp ----
  // Binds and listens; a failure throws std::system_error naming the address.
  void start_accepting();
  // Once running: the accept loop, the dashboard, the shared-memory socket, the first iteration.
  void start_services();
  static net::awaitable<void> accept_loop(std::shared_ptr<impl> self);
  // With TLS: the server handshake of one accepted connection, in its own coroutine so that a
  // slow or hostile client cannot hold the accept loop; then open_session().
  static net::awaitable<void> tls_handshake(std::shared_ptr<impl> self, net::tcp::socket socket);
  void open_session(std::shared_ptr<net::channel> channel);
  // Every connection's channel: the protocol's frame limits, and silence for heartbeat misses
  // intervals ends it.
  net::channel_options session_options() const;
  // ps_session::owner
  void on_frame(const std::shared_ptr<detail::ps_session>& session,
                std::shared_ptr<const net::frame> frame) override;
  void on_end(const std::shared_ptr<detail::ps_session>& session, std::error_code code,
              const std::string& why) override;
  // A Hello on a pending session: admission's verdict, carried out.
  void on_hello(const std::shared_ptr<detail::ps_session>& session, net::wire::Hello::Reader hello);
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
  void feed(ps_machine::event e, const std::shared_ptr<detail::ps_session>& from = nullptr);
  void execute(ps_machine::action& a, const std::shared_ptr<detail::ps_session>& from);
  void send_welcome(int worker);
  void send_to(int worker, detail::message_ptr m);
  void start_decode(ps_machine::decode job);
  // Ends the run (idempotent): Shutdown to every worker, listeners closed, on_done(error).
  void stop(const std::string& reason, std::exception_ptr error = nullptr);
  bool running() const noexcept { return state_ == ps_run_state::running; }
  detail::spawn_logger logged(std::string what) const { return {log_, std::move(what)}; }

  net::asio::any_io_executor ex_;
  ps_options opt_;
  core::logger log_;  // opt_.log with the "ps" prefix
  // Null for plain TCP. Built here from opt_ (declared after it): a bad certificate or key is a
  // core::input_error from the constructor.
  std::shared_ptr<net::tls_context> tls_ = net::make_server_context(opt_.tls);
  net::asio::thread_pool::executor_type pool_;
  ps_machine machine_;
  admission admission_;
  Eigen::VectorXd model_;
  // The first segment of the StartIteration broadcast, reused every iteration.
  std::shared_ptr<net::segment_pool> start_segments_ = net::segment_pool::create(1);
  // The decoded gradient, reused every iteration; touched only by the (sequential) decode jobs.
  Eigen::VectorXd gradient_;
  net::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  net::asio::steady_timer deadline_;
  std::vector<std::shared_ptr<detail::ps_session>> workers_;  // by worker id; null when gone
  std::vector<std::shared_ptr<detail::ps_session>> pending_;  // accepted, Hello not yet admitted
  std::chrono::steady_clock::time_point iteration_start_;
  ps_monitor monitor_;
  struct dashboard_state {
    std::unique_ptr<net::status_server> server;
    std::uint64_t published_version = 0;
    std::chrono::steady_clock::time_point published_at{};
  } dashboard_;
  net::asio::steady_timer publish_timer_;
  struct shared_memory_state {
    std::shared_ptr<net::shm_listener> listener;
    std::uint64_t links = 0;
  } shm_;
  ps_run_state state_ = ps_run_state::created;
};

}  // namespace pgc::nodes
