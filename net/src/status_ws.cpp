// The WebSocket side of the status server (STYLE.md item 6): per client one reader, which reads
// and drops what the client sends (it must read, for pongs and the close handshake), and one
// writer, which writes the pending snapshot. offer() replaces the pending snapshot, so a slow
// client costs one snapshot in flight and one pending, never a queue.

#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "detail/status_state.hpp"

namespace pgc::net::detail {
namespace {

namespace websocket = beast::websocket;

// The page sends nothing; anything bigger than this is not a dashboard client.
constexpr std::size_t max_client_message_bytes = 4096;

class ws_session final : public status_subscriber, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(std::shared_ptr<status_state> state, beast::tcp_stream stream)
      : state_(std::move(state)), ws_(std::move(stream)), wake_(ws_.get_executor()) {}

  void close() override {
    if (!open_) return;
    open_ = false;
    pending_.reset();
    beast::get_lowest_layer(ws_).close();
    wake_.cancel();
  }

  void offer(std::shared_ptr<const std::string> snapshot) override {
    if (!open_) return;
    pending_ = std::move(snapshot);
    wake_.cancel();
  }

  // `self` keeps the session alive until the writer ends (the reader holds its own).
  static awaitable<void> run(std::shared_ptr<ws_session> self,
                             http::request<http::string_body> request) {
    co_await self->serve(std::move(request));
  }

 private:
  awaitable<void> serve(http::request<http::string_body> request);
  awaitable<void> read_loop();

  std::shared_ptr<status_state> state_;
  websocket::stream<beast::tcp_stream> ws_;
  // The idle writer waits on it; offer() and close() cancel it.
  asio::steady_timer wake_;
  std::shared_ptr<const std::string> pending_;
  bool open_ = true;
};

awaitable<void> ws_session::serve(http::request<http::string_body> request) {
  const auto& options = state_->options;
  // The WebSocket has its own timeouts; the TCP stream's would cut a healthy idle client.
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = options.request_timeout;
  timeouts.idle_timeout = options.websocket_idle_timeout;
  // Pings make a live but quiet browser answer, so only a client that stopped reading (or
  // vanished) reaches the idle timeout; that also bounds a write stuck on a full socket.
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "pgc"); }));
  ws_.read_message_max(max_client_message_bytes);
  ws_.text(true);

  const auto [accept_error] =
      co_await ws_.async_accept(request, asio::as_tuple(asio::use_awaitable));
  if (accept_error || !open_) {
    close();
    co_return;
  }
  // The client sees the current state at once, then every change.
  if (state_->latest) pending_ = state_->latest;

  auto self = shared_from_this();
  asio::co_spawn(
      ws_.get_executor(), [self]() -> awaitable<void> { co_await self->read_loop(); },
      [self](std::exception_ptr e) {
        // Whatever ended the reader ends the client.
        self->close();
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          self->state_->log(std::string("pgc status server: WebSocket reader failed: ") + x.what());
        }
      });

  while (open_) {
    if (!pending_) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    // Held here until the write completes, whatever offer() does meanwhile.
    const auto snapshot = std::move(pending_);
    pending_.reset();
    const auto [ec, bytes] =
        co_await ws_.async_write(asio::buffer(*snapshot), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
  close();
}

awaitable<void> ws_session::read_loop() {
  beast::flat_buffer buffer;
  while (open_) {
    // Ends with websocket::error::closed after Beast answered the client's close frame, with
    // message_too_big (Beast closes with 1009), a timeout, or operation_aborted after close().
    const auto [ec, bytes] = co_await ws_.async_read(buffer, asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    buffer.consume(buffer.size());
  }
}

}  // namespace

void start_ws_session(std::shared_ptr<status_state> state, beast::tcp_stream stream,
                      http::request<http::string_body> request) {
  auto session = std::make_shared<ws_session>(state, std::move(stream));
  if (state->stopped) {
    session->close();
    return;
  }
  // Counted from the upgrade request on, so max_clients also bounds handshakes in progress.
  const auto id = state->next_id++;
  state->ws_sessions.emplace(id, session);
  asio::co_spawn(
      state->executor, ws_session::run(session, std::move(request)),
      [state, id](std::exception_ptr e) {
        state->ws_sessions.erase(id);
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          state->log(std::string("pgc status server: WebSocket session failed: ") + x.what());
        }
      });
}

}  // namespace pgc::net::detail
