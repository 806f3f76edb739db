#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/net/status_server.hpp"
#include "status_client.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace http = pgc::net::test::http;
using pgc::net::awaitable;
using pgc::net::status_server;
using pgc::net::status_server_options;
using pgc::net::tcp;
using pgc::net::test::fetch;
using pgc::net::test::http_client;
using pgc::net::test::run_bounded;

std::string content_type(const pgc::net::test::response& res) {
  return std::string(res[http::field::content_type]);
}

// Sends raw bytes and reads whatever comes back until the server closes.
awaitable<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(pgc::net::test::loopback(port), asio::use_awaitable);
  // Errors are expected (the server may stop reading): what counts is what came back.
  co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
  std::string reply;
  co_await asio::async_read(socket, asio::dynamic_buffer(reply),
                            asio::as_tuple(asio::use_awaitable));
  co_return reply;
}

// One header field. A function, not a braced list at the call: GCC 12 cannot keep an
// initializer_list's array in a coroutine frame.
std::vector<std::pair<http::field, std::string>> with(http::field name, std::string value) {
  return {{name, std::move(value)}};
}

}  // namespace

TEST_CASE("the status server serves the page and Chart.js") {
  asio::io_context io;
  status_server server(io.get_executor(), {});
  const auto port = server.start();
  CHECK(port != 0);
  CHECK(server.port() == port);
  run_bounded(io, [](std::uint16_t port) -> awaitable<void> {
    http_client client(co_await asio::this_coro::executor);
    co_await client.connect(port);
    // Both over one kept-alive connection.
    const auto page = co_await client.get("/");
    CHECK(page.result() == http::status::ok);
    CHECK(content_type(page).starts_with("text/html"));
    CHECK(page.body().find("pgc-dashboard") != std::string::npos);
    CHECK(page.body().find("chart.js") != std::string::npos);
    CHECK(page.keep_alive());
    const auto chart = co_await client.get("/chart.js");
    CHECK(chart.result() == http::status::ok);
    CHECK(content_type(chart).starts_with("text/javascript"));
    CHECK(chart.body().find("Chart.js v3") != std::string::npos);
    CHECK(chart.body().size() > 100000);
    const auto script = co_await client.get("/dashboard.js");
    CHECK(script.result() == http::status::ok);
    CHECK(script.body().find("WebSocket") != std::string::npos);
    const auto style = co_await client.get("/dashboard.css");
    CHECK(style.result() == http::status::ok);
    CHECK(content_type(style).starts_with("text/css"));
    const auto head = co_await client.request(http::verb::head, "/index.html");
    CHECK(head.result() == http::status::ok);
    CHECK(head[http::field::content_length] == std::to_string(page.body().size()));
  }(port));
}

TEST_CASE("the state route returns exactly the last published snapshot") {
  asio::io_context io;
  status_server server(io.get_executor(), {});
  const auto port = server.start();
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    const auto before = co_await fetch(port, "/api/state");
    CHECK(before.result() == http::status::service_unavailable);
    CHECK(before.body() == "{}");
    CHECK(content_type(before) == "application/json");
    server.publish(R"({"run_id":"a","iteration":1})");
    server.publish(R"({"run_id":"a","iteration":2, "text":"é\"\n"})");
    const auto after = co_await fetch(port, "/api/state");
    CHECK(after.result() == http::status::ok);
    CHECK(content_type(after) == "application/json");
    CHECK(after.body() == R"({"run_id":"a","iteration":2, "text":"é\"\n"})");
  }(server, port));
}

TEST_CASE("the metrics route returns the text of the callback") {
  asio::io_context io;
  int calls = 0;
  status_server_options options;
  options.metrics = [&] {
    ++calls;
    return std::string("# TYPE pgc_iterations_total counter\npgc_iterations_total 7\n");
  };
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  run_bounded(io, [](std::uint16_t port) -> awaitable<void> {
    const auto res = co_await fetch(port, "/metrics");
    CHECK(res.result() == http::status::ok);
    CHECK(content_type(res).starts_with("text/plain; version=0.0.4"));
    CHECK(res.body() == "# TYPE pgc_iterations_total counter\npgc_iterations_total 7\n");
  }(port));
  CHECK(calls == 1);
}

TEST_CASE("unknown routes are 404 and methods other than GET are 405") {
  asio::io_context io;
  status_server server(io.get_executor(), {});  // no metrics callback: /metrics is unknown
  const auto port = server.start();
  run_bounded(io, [](std::uint16_t port) -> awaitable<void> {
    http_client client(co_await asio::this_coro::executor);
    co_await client.connect(port);
    CHECK((co_await client.get("/nope")).result() == http::status::not_found);
    CHECK((co_await client.get("/metrics")).result() == http::status::not_found);
    CHECK((co_await client.get("/api/state/../../etc/passwd")).result() == http::status::not_found);
    // Still the same connection: 404 keeps it alive.
    CHECK((co_await client.get("/")).result() == http::status::ok);
    const auto post = co_await client.request(http::verb::post, "/api/state");
    CHECK(post.result() == http::status::method_not_allowed);
    CHECK(post[http::field::allow] == "GET, HEAD");
    // 405 closes the connection (the body need not have been read); others are unaffected.
    CHECK((co_await fetch(port, "/")).result() == http::status::ok);
    http_client other(co_await asio::this_coro::executor);
    co_await other.connect(port);
    CHECK((co_await other.request(http::verb::delete_, "/")).result() ==
          http::status::method_not_allowed);
  }(port));
}

TEST_CASE("oversized and malformed requests are refused and the server keeps serving") {
  asio::io_context io;
  status_server_options options;
  options.max_request_bytes = 4096;
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  run_bounded(io, [](std::uint16_t port) -> awaitable<void> {
    const std::string big_header =
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
    const auto headers_reply = co_await raw_exchange(port, big_header);
    CHECK(headers_reply.starts_with("HTTP/1.1 431"));

    const std::string big_body =
        "POST /api/state HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
        std::string(100000, 'b');
    const auto body_reply = co_await raw_exchange(port, big_body);
    CHECK_MESSAGE(body_reply.starts_with("HTTP/1.1 413"), body_reply);

    const auto garbage_reply = co_await raw_exchange(port, "HELLO THERE\r\n\r\n");
    CHECK(garbage_reply.starts_with("HTTP/1.1 400"));

    const auto target_reply = co_await raw_exchange(port, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(target_reply.starts_with("HTTP/1.1 400"));

    const auto after = co_await fetch(port, "/");
    CHECK(after.result() == http::status::ok);
  }(port));
}

TEST_CASE("the token is required on every route when set") {
  asio::io_context io;
  status_server_options options;
  options.token = "s3cret/+x";
  options.metrics = [] { return std::string("m 1\n"); };
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  server.publish(R"({"iteration":3})");
  run_bounded(io, [](std::uint16_t port) -> awaitable<void> {
    const std::vector<std::string> routes = {"/", "/chart.js", "/api/state", "/metrics", "/nope"};
    for (const auto& route : routes) {
      CAPTURE(route);
      const auto res = co_await fetch(port, route);
      CHECK(res.result() == http::status::unauthorized);
      CHECK(res[http::field::www_authenticate] == "Bearer");
    }
    CHECK((co_await fetch(port, "/api/state?token=wrong")).result() == http::status::unauthorized);
    CHECK((co_await fetch(port, "/api/state?token=s3cret")).result() == http::status::unauthorized);
    const auto query = co_await fetch(port, "/api/state?token=s3cret%2F%2Bx");
    CHECK(query.result() == http::status::ok);
    CHECK(query.body() == R"({"iteration":3})");
    const auto bearer =
        co_await fetch(port, "/metrics", with(http::field::authorization, "Bearer s3cret/+x"));
    CHECK(bearer.result() == http::status::ok);
    CHECK(bearer.body() == "m 1\n");
    CHECK((co_await fetch(port, "/metrics", with(http::field::authorization, "Bearer s3cret")))
              .result() == http::status::unauthorized);
    CHECK((co_await fetch(port, "/metrics", with(http::field::authorization, "Basic s3cret/+x")))
              .result() == http::status::unauthorized);

    // The page loaded with ?token= gets a cookie that lets its own requests in.
    const auto page = co_await fetch(port, "/?token=s3cret%2F%2Bx");
    CHECK(page.result() == http::status::ok);
    const std::string cookie(page[http::field::set_cookie]);
    CHECK(cookie.find("HttpOnly") != std::string::npos);
    const auto pair = cookie.substr(0, cookie.find(';'));
    CHECK(pair == "pgc_token_" + std::to_string(port) + "=s3cret%2F%2Bx");
    const auto script =
        co_await fetch(port, "/chart.js", with(http::field::cookie, "a=b; " + pair));
    CHECK(script.result() == http::status::ok);
    CHECK((co_await fetch(port, "/chart.js",
                          with(http::field::cookie, "pgc_token_" + std::to_string(port) + "=x")))
              .result() == http::status::unauthorized);

    pgc::net::test::ws_client refused(co_await asio::this_coro::executor);
    CHECK(co_await refused.open(port) != boost::system::error_code{});
    CHECK(refused.handshake_response.result() == http::status::unauthorized);
    pgc::net::test::ws_client admitted(co_await asio::this_coro::executor);
    CHECK(co_await admitted.open(port, "/ws?token=s3cret%2F%2Bx") == boost::system::error_code{});
    CHECK(co_await admitted.read() == R"({"iteration":3})");
  }(port));
}

TEST_CASE("start fails with a system error when the port is taken") {
  asio::io_context io;
  status_server first(io.get_executor(), {});
  const auto port = first.start();
  status_server_options options;
  options.listen.port = port;
  status_server second(io.get_executor(), options);
  CHECK_THROWS_AS(second.start(), std::system_error);
}
