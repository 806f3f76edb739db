// The HTTP side of the status server: one coroutine per connection, keep-alive, every read and
// write bounded by request_timeout, requests bounded by max_request_bytes.

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "detail/status_request.hpp"
#include "detail/status_state.hpp"
#include "detail/web_assets.hpp"

namespace pgc::net::detail {
namespace {

using request = http::request<http::string_body>;

constexpr std::string_view server_name = "pgc";
// The page and its scripts come only from here; the WebSocket goes back to the same origin.
constexpr std::string_view page_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

template <class Body>
void set_common(http::response<Body>& res, std::string_view type) {
  res.set(http::field::server, server_name);
  res.set(http::field::content_type, type);
  res.set("X-Content-Type-Options", "nosniff");
  res.set(http::field::cache_control, "no-store");
}

http::message_generator text_response(const request& req, http::status status, std::string body,
                                      bool keep_alive = true) {
  http::response<http::string_body> res{status, req.version()};
  set_common(res, "text/plain; charset=utf-8");
  res.keep_alive(keep_alive && req.keep_alive());
  const auto length = body.size();
  if (req.method() != http::verb::head) res.body() = std::move(body);
  res.content_length(length);
  return res;
}

// The answer to a request we could not parse or did not read to its end: the connection
// cannot be reused.
http::message_generator refusal(http::status status, std::string body) {
  http::response<http::string_body> res{status, 11};
  set_common(res, "text/plain; charset=utf-8");
  res.keep_alive(false);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Wraps the token checks of status_server_options::token.
class access {
 public:
  access(const status_state& state, const request& req, const request_target& target)
      : expected_(state.options.token) {
    if (expected_.empty()) {
      granted_ = true;
      return;
    }
    cookie_name_ = "pgc_token_" + std::to_string(state.port);
    if (target.token && token_matches(*target.token, expected_)) {
      granted_ = true;
      from_query_ = true;
    } else if (const auto it = req.find(http::field::authorization); it != req.end()) {
      const auto given = bearer_token(it->value());
      granted_ = given && token_matches(*given, expected_);
    } else if (const auto cookie = req.find(http::field::cookie); cookie != req.end()) {
      const auto given = cookie_value(cookie->value(), cookie_name_);
      granted_ = given && token_matches(*given, expected_);
    }
  }

  bool granted() const noexcept { return granted_; }

  // When the page came with ?token=, its own script and WebSocket requests (which cannot carry
  // a header) are let in by a cookie; scoped to this port because cookies ignore ports.
  template <class Body>
  void remember(http::response<Body>& res) const {
    if (!from_query_) return;
    res.set(http::field::set_cookie,
            cookie_name_ + "=" + percent_encode(expected_) + "; Path=/; HttpOnly; SameSite=Strict");
  }

 private:
  const std::string& expected_;
  std::string cookie_name_;
  bool granted_ = false;
  bool from_query_ = false;
};

http::message_generator asset_response(const request& req, const web_asset& asset,
                                       const access& allowed) {
  http::response<http::span_body<const char>> res{http::status::ok, req.version()};
  set_common(res, asset.content_type);
  // Embedded in the binary: a new build is a new PS process, so revalidation is cheap and
  // always right.
  res.set(http::field::cache_control, "no-cache");
  if (asset.path == "/") res.set("Content-Security-Policy", page_policy);
  allowed.remember(res);
  res.keep_alive(req.keep_alive());
  if (req.method() != http::verb::head) res.body() = {asset.body.data(), asset.body.size()};
  res.content_length(asset.body.size());
  return res;
}

http::message_generator handle(status_state& state, const request& req,
                               const request_target& target, const access& allowed) {
  if (!allowed.granted()) {
    http::response<http::string_body> res{http::status::unauthorized, req.version()};
    set_common(res, "text/plain; charset=utf-8");
    res.set(http::field::www_authenticate, "Bearer");
    res.keep_alive(req.keep_alive());
    res.body() = "a token is required: ?token=T or Authorization: Bearer T\n";
    res.prepare_payload();
    return res;
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    http::response<http::string_body> res{http::status::method_not_allowed, req.version()};
    set_common(res, "text/plain; charset=utf-8");
    res.set(http::field::allow, "GET, HEAD");
    // The body of an unexpected method may not have been read: do not reuse the connection.
    res.keep_alive(false);
    res.body() = "only GET\n";
    res.prepare_payload();
    return res;
  }
  const std::string_view path =
      target.path == "/index.html" ? std::string_view("/") : std::string_view(target.path);
  if (const auto* asset = find_web_asset(path)) return asset_response(req, *asset, allowed);
  if (path == "/api/state") {
    http::response<http::string_body> res{
        state.latest ? http::status::ok : http::status::service_unavailable, req.version()};
    set_common(res, "application/json");
    if (!state.latest) res.set(http::field::retry_after, "1");
    res.keep_alive(req.keep_alive());
    const std::string& body = state.latest ? *state.latest : std::string("{}");
    if (req.method() != http::verb::head) res.body() = body;
    res.content_length(body.size());
    return res;
  }
  if (path == "/metrics" && state.options.metrics) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    set_common(res, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(req.keep_alive());
    std::string body = state.options.metrics();
    res.content_length(body.size());
    if (req.method() != http::verb::head) res.body() = std::move(body);
    return res;
  }
  if (path == "/ws") {
    return text_response(req, http::status::upgrade_required, "/ws is a WebSocket\n");
  }
  return text_response(req, http::status::not_found, "not found\n");
}

// Parse errors are answered 400; other read errors (end of stream, timeout, reset, close())
// have nobody to answer.
bool is_malformed(boost::system::error_code ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class http_session final : public status_connection {
 public:
  http_session(std::shared_ptr<status_state> state, tcp::socket socket)
      : state_(std::move(state)), stream_(std::move(socket)) {}

  void close() override {
    if (!open_) return;
    open_ = false;
    stream_.close();
  }

  // `self` keeps the session alive until the coroutine ends.
  static awaitable<void> run(std::shared_ptr<http_session> self) { co_await self->serve(); }
  // Answers 503 and closes: over max_clients connections.
  static awaitable<void> run_refusal(std::shared_ptr<http_session> self) {
    co_await self->refuse();
  }

 private:
  awaitable<void> serve();
  awaitable<void> refuse();
  // False when the response could not be written.
  awaitable<bool> write(http::message_generator message);
  // Answers a request the connection cannot go on after, and closes.
  awaitable<void> reject(http::message_generator message);
  // Graceful end: the peer reads our last response and then a clean end of stream.
  void end();

  std::shared_ptr<status_state> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = true;
};

awaitable<bool> http_session::write(http::message_generator message) {
  stream_.expires_after(state_->options.request_timeout);
  const auto [ec, bytes] =
      co_await beast::async_write(stream_, std::move(message), asio::as_tuple(asio::use_awaitable));
  co_return !ec && open_;
}

void http_session::end() {
  if (!open_) return;
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  close();
}

awaitable<void> http_session::refuse() {
  co_await reject(refusal(http::status::service_unavailable, "too many connections\n"));
}

awaitable<void> http_session::reject(http::message_generator message) {
  if (!co_await write(std::move(message))) {
    close();
    co_return;
  }
  // Closing with unread request bytes makes the kernel reset the connection, and the reset can
  // overtake our answer: signal the end, then read and drop what the client still sends, for a
  // bounded time and amount.
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::min<std::chrono::milliseconds>(state_->options.request_timeout,
                                                            std::chrono::seconds(2)));
  std::array<char, 4096> sink;
  std::size_t drained = 0;
  while (open_ && drained < (std::size_t{1} << 20)) {
    const auto [ec, bytes] =
        co_await stream_.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    drained += bytes;
  }
  close();
}

awaitable<void> http_session::serve() {
  const auto& options = state_->options;
  while (open_) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_request_bytes));
    // Beast checks a Content-Length against the limit as the header completes, so it must be
    // set before; the shared limit is checked below.
    parser.body_limit(options.max_request_bytes);
    stream_.expires_after(options.request_timeout);
    auto [ec, header_bytes] = co_await http::async_read_header(stream_, buffer_, parser,
                                                               asio::as_tuple(asio::use_awaitable));
    if (!open_) break;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      co_return co_await reject(refusal(http::status::request_header_fields_too_large,
                                        "request headers over the limit\n"));
    }
    const auto too_large = [&] {
      return reject(refusal(http::status::payload_too_large, "request body over the limit\n"));
    };
    if (ec == http::error::body_limit) co_return co_await too_large();
    if (ec && is_malformed(ec)) {
      co_return co_await reject(refusal(http::status::bad_request, "malformed request\n"));
    }
    if (ec) break;
    // Header and body share one limit: a declared length is checked now, a chunked body by the
    // parser as it comes.
    const std::size_t body_room =
        options.max_request_bytes > header_bytes ? options.max_request_bytes - header_bytes : 0;
    if (const auto length = parser.content_length(); length && *length > body_room) {
      co_return co_await too_large();
    }
    parser.body_limit(body_room);
    if (!parser.is_done()) {
      std::tie(ec, std::ignore) =
          co_await http::async_read(stream_, buffer_, parser, asio::as_tuple(asio::use_awaitable));
      if (!open_) break;
      if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
        co_return co_await too_large();
      }
      if (ec && is_malformed(ec)) {
        co_return co_await reject(refusal(http::status::bad_request, "malformed request\n"));
      }
      if (ec) break;
    }
    request req = parser.release();

    const auto target = parse_target(req.target());
    if (!target) {
      co_return co_await reject(refusal(http::status::bad_request, "malformed target\n"));
    }
    const access allowed(*state_, req, *target);
    if (target->path == "/ws" && beast::websocket::is_upgrade(req) && allowed.granted() &&
        req.method() == http::verb::get) {
      if (state_->ws_sessions.size() >= options.max_clients) {
        co_await write(text_response(req, http::status::service_unavailable,
                                     "too many dashboard clients\n", false));
        break;
      }
      // From here the WebSocket session owns the connection (and any bytes already read: a
      // client sends nothing before the handshake answer, so there are none).
      open_ = false;
      start_ws_session(state_, std::move(stream_), std::move(req));
      co_return;
    }
    auto response = handle(*state_, req, *target, allowed);
    const bool keep_alive = response.keep_alive();
    if (!co_await write(std::move(response)) || !keep_alive) break;
  }
  end();
}

}  // namespace

void start_http_session(std::shared_ptr<status_state> state, tcp::socket socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto session = std::make_shared<http_session>(state, std::move(socket));
  auto log_failure = [state](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      state->log(std::string("pgc status server: HTTP session failed: ") + x.what());
    }
  };
  if (state->http_sessions.size() >= state->options.max_clients) {
    // Not registered, so stop() does not close it: request_timeout bounds it instead.
    asio::co_spawn(state->executor, http_session::run_refusal(std::move(session)), log_failure);
    return;
  }
  const auto id = state->next_id++;
  state->http_sessions.emplace(id, session);
  asio::co_spawn(state->executor, http_session::run(std::move(session)),
                 [state, id, log_failure](std::exception_ptr e) {
                   state->http_sessions.erase(id);
                   log_failure(e);
                 });
}

}  // namespace pgc::net::detail
