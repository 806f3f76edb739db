#include "pgc/net/status_server.hpp"

#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "detail/status_state.hpp"

namespace pgc::net {
namespace detail {

status_state::status_state(asio::any_io_executor executor_, status_server_options options_)
    : executor(std::move(executor_)), options(std::move(options_)), acceptor(executor) {}

void status_state::log(const std::string& line) const {
  if (options.log) {
    options.log(line);
  } else {
    std::cerr << line << '\n';
  }
}

namespace {

awaitable<void> accept_loop(std::shared_ptr<status_state> state) {
  asio::steady_timer backoff(state->executor);
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (state->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors and the like: the condition passes when sessions end, so wait a
      // little instead of spinning on the error.
      state->log("pgc status server: accept: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    start_http_session(state, std::move(socket));
  }
}

}  // namespace
}  // namespace detail

status_server::status_server(boost::asio::any_io_executor executor, status_server_options options)
    : state_(std::make_shared<detail::status_state>(std::move(executor), std::move(options))) {}

status_server::~status_server() {
  stop();
}

std::uint16_t status_server::start() {
  auto& state = *state_;
  if (state.started) throw std::logic_error("status_server::start() called twice");
  if (state.stopped) throw std::logic_error("status_server::start() after stop()");

  // Resolving once at start is acceptable blocking: nothing else runs yet.
  tcp::resolver resolver(state.executor);
  boost::system::error_code ec;
  const auto results =
      resolver.resolve(state.options.listen.host, std::to_string(state.options.listen.port),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) throw std::system_error(ec, "dashboard address " + state.options.listen.to_string());
  if (results.empty()) {
    throw std::system_error(make_error_code(std::errc::address_not_available),
                            "dashboard address " + state.options.listen.to_string());
  }
  const tcp::endpoint where = results.begin()->endpoint();
  auto fail = [&](const char* what) {
    boost::system::error_code ignored;
    state.acceptor.close(ignored);
    throw std::system_error(
        ec, std::string(what) + " dashboard address " + state.options.listen.to_string());
  };
  state.acceptor.open(where.protocol(), ec);
  if (ec) fail("open");
  // A restarted PS must get its port back while the old connections sit in TIME_WAIT.
  state.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) fail("configure");
  state.acceptor.bind(where, ec);
  if (ec) fail("bind");
  state.acceptor.listen(tcp::acceptor::max_listen_connections, ec);
  if (ec) fail("listen on");
  state.port = state.acceptor.local_endpoint().port();
  state.started = true;

  asio::co_spawn(state.executor, detail::accept_loop(state_),
                 [state = state_](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& x) {
                     state->log(std::string("pgc status server: stopped accepting: ") + x.what());
                   }
                 });
  return state.port;
}

void status_server::stop() {
  auto& state = *state_;
  if (state.stopped) return;
  state.stopped = true;
  boost::system::error_code ignored;
  state.acceptor.close(ignored);
  // Moved out first: close() does not call back into the maps, but a session's completion may
  // run later and must find nothing to erase.
  auto http_sessions = std::move(state.http_sessions);
  auto ws_sessions = std::move(state.ws_sessions);
  state.http_sessions.clear();
  state.ws_sessions.clear();
  for (auto& [id, weak] : http_sessions) {
    if (auto session = weak.lock()) session->close();
  }
  for (auto& [id, weak] : ws_sessions) {
    if (auto session = weak.lock()) session->close();
  }
}

void status_server::publish(std::string snapshot_json) {
  auto& state = *state_;
  state.latest = std::make_shared<const std::string>(std::move(snapshot_json));
  for (auto& [id, weak] : state.ws_sessions) {
    if (auto session = weak.lock()) session->offer(state.latest);
  }
}

std::uint16_t status_server::port() const noexcept {
  return state_->port;
}

std::size_t status_server::clients() const noexcept {
  return state_->ws_sessions.size();
}

}  // namespace pgc::net
