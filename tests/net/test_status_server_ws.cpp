#include <algorithm>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <string>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/net/status_server.hpp"
#include "status_client.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace http = pgc::net::test::http;
namespace websocket = pgc::net::test::websocket;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;
using pgc::net::awaitable;
using pgc::net::status_server;
using pgc::net::status_server_options;
using pgc::net::test::run_bounded;
using pgc::net::test::ws_client;
using error_code = boost::system::error_code;

std::string snapshot(long seq, const std::string& pad = {}) {
  return R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" + pad + "\"}";
}

long seq_of(const std::string& json) {
  const auto at = json.find(':');
  return std::stol(json.substr(at + 1));
}

// Queueing every snapshot for the slow client would take 1 GiB.
#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer keeps freed memory in quarantine (256 MiB by default) before reusing it.
constexpr std::size_t max_growth = std::size_t{512} << 20;
#else
constexpr std::size_t max_growth = std::size_t{64} << 20;
#endif

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// Polls: the server's count changes when a session's coroutine ends, a turn or two later.
awaitable<bool> clients_become(const status_server& server, std::size_t n,
                               std::chrono::milliseconds bound = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (server.clients() != n) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    co_await sleep_for(10ms);
  }
  co_return true;
}

// Reads until the snapshot numbered `last`, checking that the numbers only increase.
awaitable<std::size_t> read_until(ws_client& client, long last) {
  long previous = -1;
  std::size_t received = 0;
  for (;;) {
    const auto seq = seq_of(co_await client.read(30s));
    REQUIRE(seq > previous);
    previous = seq;
    ++received;
    if (seq == last) co_return received;
  }
}

}  // namespace

TEST_CASE("a WebSocket client receives the latest snapshot on connect and then every publish") {
  asio::io_context io;
  status_server server(io.get_executor(), {});
  const auto port = server.start();
  server.publish(snapshot(0));
  server.publish(snapshot(1));
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    ws_client client(co_await asio::this_coro::executor);
    REQUIRE(co_await client.open(port) == error_code{});
    CHECK(server.clients() == 1);
    CHECK(co_await client.read() == snapshot(1));
    for (long i = 2; i < 20; ++i) {
      server.publish(snapshot(i));
      CHECK(co_await client.read() == snapshot(i));
    }
    // A burst may be coalesced, never reordered, and always ends with the latest.
    for (long i = 20; i < 200; ++i)
      server.publish(snapshot(i));
    const auto received = co_await read_until(client, 199);
    CHECK(received >= 1);
    CHECK(received <= 180);
    // Client messages are read and ignored.
    co_await client.stream().async_write(asio::buffer(std::string("hello")), asio::use_awaitable);
    server.publish(snapshot(200));
    CHECK(co_await client.read() == snapshot(200));
    co_await client.stream().async_close(websocket::close_code::normal, asio::use_awaitable);
    CHECK(co_await clients_become(server, 0));
  }(server, port));
}

TEST_CASE("a client that never reads neither grows memory nor holds back a client that reads") {
  asio::io_context io;
  // The slow client must stay connected for the whole test, however slow the machine (TSan
  // under load took over 30 s, the default idle timeout, once).
  status_server_options options;
  options.websocket_idle_timeout = std::chrono::minutes(10);
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  run_bounded(
      io,
      [](status_server& server, std::uint16_t port) -> awaitable<void> {
        const auto executor = co_await asio::this_coro::executor;
        ws_client slow(executor);
        ws_client fast(executor);
        REQUIRE(co_await slow.open(port) == error_code{});
        REQUIRE(co_await fast.open(port) == error_code{});
        REQUIRE(server.clients() == 2);

        constexpr long count = 10000;
        const std::string pad(100 * 1024, 'x');  // 10,000 x 100 KiB: 1 GiB if it were queued
        const auto before = resident_bytes();
        std::size_t peak = before;
        auto publish_all = [&]() -> awaitable<void> {
          for (long i = 0; i < count; ++i) {
            server.publish(snapshot(i, pad));
            if (i % 50 == 0) peak = std::max(peak, resident_bytes());
            // Let the writers and the fast reader run between publishes, as the PS does.
            co_await asio::post(executor, asio::use_awaitable);
          }
        };
        const auto received = co_await (publish_all() && read_until(fast, count - 1));
        peak = std::max(peak, resident_bytes());
        MESSAGE("fast client received ", received, " of ", count, " snapshots; resident grew by ",
                (peak - before) >> 20, " MiB");
        CHECK(received >= 1);
        CHECK(peak - before < max_growth);
        CHECK(server.clients() == 2);
        // The server still answers plain HTTP too.
        const auto state = co_await pgc::net::test::fetch(port, "/api/state");
        CHECK(state.result() == http::status::ok);
        CHECK(seq_of(state.body()) == count - 1);
      }(server, port),
      60s);
}

TEST_CASE("a client that stops reading is dropped after the idle timeout") {
  asio::io_context io;
  status_server_options options;
  options.websocket_idle_timeout = 400ms;
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    const auto executor = co_await asio::this_coro::executor;
    ws_client idle(executor);
    ws_client reading(executor);
    REQUIRE(co_await idle.open(port) == error_code{});
    REQUIRE(co_await reading.open(port) == error_code{});
    // The reading client has a read pending all along, so Beast answers the server's pings.
    auto watch = [&]() -> awaitable<bool> {
      co_await sleep_for(1200ms);
      const bool dropped = server.clients() == 1;
      server.publish(snapshot(1));
      co_return dropped;
    };
    const auto [message, dropped] = co_await (reading.read(5s) && watch());
    CHECK(dropped);
    CHECK(message == snapshot(1));
  }(server, port));
}

TEST_CASE("an oversized client message closes that client") {
  asio::io_context io;
  status_server server(io.get_executor(), {});
  const auto port = server.start();
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    ws_client client(co_await asio::this_coro::executor);
    REQUIRE(co_await client.open(port) == error_code{});
    // The server closes as soon as it has read the frame header, so the write itself may fail.
    co_await client.stream().async_write(asio::buffer(std::string(100000, 'z')),
                                         asio::as_tuple(asio::use_awaitable));
    bool closed = false;
    try {
      co_await client.read(5s);
    } catch (const boost::system::system_error&) {
      closed = true;
    }
    CHECK(closed);
    CHECK(co_await clients_become(server, 0));
  }(server, port));
}

TEST_CASE("WebSocket clients over max_clients are refused with 503") {
  asio::io_context io;
  status_server_options options;
  options.max_clients = 1;
  status_server server(io.get_executor(), options);
  const auto port = server.start();
  server.publish(snapshot(5));
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    const auto executor = co_await asio::this_coro::executor;
    ws_client first(executor);
    REQUIRE(co_await first.open(port) == error_code{});
    ws_client second(executor);
    CHECK(co_await second.open(port) != error_code{});
    CHECK(second.handshake_response.result() == http::status::service_unavailable);
    co_await first.stream().async_close(websocket::close_code::normal, asio::use_awaitable);
    REQUIRE(co_await clients_become(server, 0));
    ws_client third(executor);
    REQUIRE(co_await third.open(port) == error_code{});
    CHECK(co_await third.read() == snapshot(5));
  }(server, port));
}

TEST_CASE("stop closes the listener and every connection and is idempotent") {
  asio::io_context io;
  status_server server(io.get_executor(), {});
  const auto port = server.start();
  run_bounded(io, [](status_server& server, std::uint16_t port) -> awaitable<void> {
    const auto executor = co_await asio::this_coro::executor;
    ws_client client(executor);
    REQUIRE(co_await client.open(port) == error_code{});
    pgc::net::test::http_client kept(executor);
    co_await kept.connect(port);
    CHECK((co_await kept.get("/")).result() == http::status::ok);
    REQUIRE(server.clients() == 1);

    server.stop();
    server.stop();
    CHECK(server.clients() == 0);
    server.publish(snapshot(1));  // after stop: harmless

    bool ws_closed = false;
    try {
      co_await client.read(5s);
    } catch (const boost::system::system_error&) {
      ws_closed = true;
    }
    CHECK(ws_closed);
    bool http_closed = false;
    try {
      co_await kept.get("/");
    } catch (const boost::system::system_error&) {
      http_closed = true;
    }
    CHECK(http_closed);
    pgc::net::tcp::socket late(executor);
    const auto [ec] = co_await late.async_connect(pgc::net::test::loopback(port),
                                                  asio::as_tuple(asio::use_awaitable));
    CHECK(ec == asio::error::connection_refused);
  }(server, port));
  server.stop();
}
