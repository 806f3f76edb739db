// The channel facing broken or hostile peers, slow peers and its own limits. The peer is often
// a plain socket so that the test controls every byte.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/outgoing_frame.hpp"
#include "wire_samples.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace wire = pgc::net::wire;
using pgc::core::errc;
using pgc::net::awaitable;
using pgc::net::channel;
using pgc::net::channel_options;
using pgc::net::frame;
using pgc::net::test::connect_loopback;
using pgc::net::test::run_bounded;
using pgc::net::test::wire_kind;
using channel_ptr = std::shared_ptr<channel>;
using tcp_socket = pgc::net::tcp::socket;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

void put_le32(std::vector<std::byte>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(std::byte(v >> (8 * i)));
}

std::vector<std::byte> frame_bytes(wire_kind kind) {
  return pgc::net::outgoing_frame(pgc::net::test::make_message(kind)).to_bytes();
}

// The error a read() ends with, or an empty code if it returned a frame.
awaitable<std::error_code> read_error(channel_ptr ch) {
  try {
    (void)co_await ch->read();
  } catch (const std::system_error& e) {
    co_return e.code();
  }
  co_return std::error_code{};
}

std::unique_ptr<capnp::MallocMessageBuilder> big_encoded(std::size_t length) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  message->initRoot<wire::Envelope>().initEncoded().initPayload(static_cast<unsigned>(length));
  return message;
}

// Writes `bytes` to `raw` `chunk` bytes at a time with a pause after each; stops early when the
// other end hangs up.
awaitable<void> trickle(tcp_socket& raw, std::vector<std::byte> bytes, std::size_t chunk,
                        std::chrono::milliseconds pause_time) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    const auto n = std::min(chunk, bytes.size() - at);
    const auto [ec, written] = co_await asio::async_write(
        raw, asio::buffer(bytes.data() + at, n), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    pause.expires_after(pause_time);
    co_await pause.async_wait(asio::use_awaitable);
  }
}

}  // namespace

TEST_CASE("a header announcing more than the limit is rejected before the body is awaited") {
  asio::io_context io;
  // Default limits against 2^32 - 1 words (32 GiB): allocating that would abort the test.
  auto [raw_a, server_a] = connect_loopback(io);
  std::vector<std::byte> huge;
  put_le32(huge, 0);
  put_le32(huge, 0xffffffff);
  asio::write(raw_a, asio::buffer(huge));
  // A 1 MiB limit against 2 MiB, two segments; no body follows, so waiting for one would time out.
  auto [raw_b, server_b] = connect_loopback(io);
  std::vector<std::byte> over;
  put_le32(over, 1);
  put_le32(over, 1);
  put_le32(over, (1u << 18) - 1);
  put_le32(over, 0);  // padding
  asio::write(raw_b, asio::buffer(over));
  channel_options small;
  small.limits.max_frame_bytes = 1 << 20;
  small.read_timeout = 5s;
  auto a = channel::start(std::move(server_a));
  auto b = channel::start(std::move(server_b), small);
  run_bounded(io, [](channel_ptr a, channel_ptr b) -> awaitable<void> {
    const auto start = clock_type::now();
    CHECK(co_await read_error(a) == errc::frame_too_large);
    CHECK(co_await read_error(b) == errc::frame_too_large);
    CHECK(clock_type::now() - start < 2s);
    // The stream is out of step now: reads keep failing, but the owner can still answer.
    CHECK(co_await read_error(b) == errc::frame_too_large);
    CHECK(b->is_open());
    CHECK(b->send(pgc::net::test::make_message(wire_kind::ERROR)));
    a->close();
    b->close();
  }(a, b));
}

TEST_CASE("too many segments is a bad message") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  std::vector<std::byte> bytes;
  put_le32(bytes, 100000);
  asio::write(raw, asio::buffer(bytes));
  auto ch = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    CHECK(co_await read_error(ch) == errc::bad_message);
    ch->close();
  }(ch));
}

TEST_CASE("a frame cut short by the end of the stream is a bad message") {
  for (const std::size_t keep : {std::size_t{2}, std::size_t{6}, std::size_t{40}}) {
    CAPTURE(keep);
    asio::io_context io;
    auto [raw, server] = connect_loopback(io);
    const auto bytes = frame_bytes(wire_kind::WELCOME);
    REQUIRE(keep < bytes.size());
    asio::write(raw, asio::buffer(bytes.data(), keep));
    raw.shutdown(pgc::net::tcp::socket::shutdown_send);
    auto ch = channel::start(std::move(server));
    run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
      CHECK(co_await read_error(ch) == errc::bad_message);
      CHECK(!ch->is_open());
      CHECK(ch->error() == errc::bad_message);
    }(ch));
  }
}

TEST_CASE("garbage inside a well framed message fails only that read") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  std::vector<std::byte> bytes;
  put_le32(bytes, 0);
  put_le32(bytes, 8);
  for (int i = 0; i < 64; ++i)
    bytes.push_back(std::byte{0xab});
  const auto good = frame_bytes(wire_kind::HEARTBEAT);
  bytes.insert(bytes.end(), good.begin(), good.end());
  asio::write(raw, asio::buffer(bytes));
  raw.shutdown(pgc::net::tcp::socket::shutdown_send);
  auto ch = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    CHECK(co_await read_error(ch) == errc::bad_message);
    const frame f = co_await ch->read();
    CHECK(f.envelope().which() == wire_kind::HEARTBEAT);
    // Between frames, the end of the stream is the clean kind.
    CHECK(pgc::net::is_end_of_stream(co_await read_error(ch)));
  }(ch));
}

TEST_CASE("an envelope that fails its check is reported with the reason") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto sender = channel::start(std::move(client));
  auto receiver = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr sender, channel_ptr receiver) -> awaitable<void> {
    auto message = pgc::net::test::make_message(wire_kind::WELCOME);
    message->getRoot<wire::Envelope>().getWelcome().initR(5);
    REQUIRE(sender->send(std::move(message)));
    try {
      (void)co_await receiver->read();
      FAIL("the malformed welcome was accepted");
    } catch (const std::system_error& e) {
      CHECK(e.code() == errc::bad_message);
      CHECK(std::string(e.what()).find("R has 5 entries") != std::string::npos);
    }
    sender->close();
    receiver->close();
  }(sender, receiver));
}

TEST_CASE("a read timeout fires within its bound and closes the channel") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  // Half a prefix: the timeout bounds the whole frame, not only the wait for its first byte.
  std::vector<std::byte> bytes{std::byte{0}, std::byte{0}};
  asio::write(raw, asio::buffer(bytes));
  channel_options options;
  options.read_timeout = 200ms;
  auto ch = channel::start(std::move(server), options);
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    const auto start = clock_type::now();
    CHECK(co_await read_error(ch) == errc::timeout);
    const auto elapsed = clock_type::now() - start;
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < 1500ms);
    CHECK(!ch->is_open());
    CHECK(ch->error() == errc::timeout);
    CHECK(co_await read_error(ch) == errc::timeout);
  }(ch));
}

TEST_CASE("a write timeout cuts off a peer that stops reading") {
  asio::io_context io;
  auto [client, raw] = connect_loopback(io);
  channel_options options;
  options.write_timeout = 300ms;
  options.min_bytes_per_second = 0;  // fixed timeout: the frame's size adds no time
  auto ch = channel::start(std::move(client), options);
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    // 48 MB, far more than loopback socket buffers hold while nobody reads.
    for (int k = 0; k < 6; ++k)
      REQUIRE(ch->send(big_encoded(1 << 20)));
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto start = clock_type::now();
    // The writer releases its queue when it sees the close, which may be a handler later than
    // the close itself: wait for both.
    while ((ch->is_open() || ch->queued_bytes() != 0) && clock_type::now() - start < 5s) {
      timer.expires_after(20ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    CHECK(!ch->is_open());
    CHECK(ch->error() == errc::timeout);
    CHECK(ch->queued_bytes() == 0);
  }(ch));
}

TEST_CASE("a big frame from a slow but moving peer is read past read_timeout") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  channel_options options;
  options.read_timeout = 200ms;
  options.min_bytes_per_second = 100'000;  // a 80 KB body may take 200 ms + 0.8 s
  auto ch = channel::start(std::move(server), options);
  const auto bytes = pgc::net::outgoing_frame(big_encoded(10'000)).to_bytes();
  REQUIRE(bytes.size() > 80'000);
  run_bounded(io, [](channel_ptr ch, tcp_socket& raw, std::vector<std::byte> bytes)
                  -> awaitable<void> {
    // Twice as fast as the floor: 8 KB every 50 ms, about 0.5 s for the whole frame.
    asio::co_spawn(co_await asio::this_coro::executor, trickle(raw, std::move(bytes), 8000, 50ms),
                   asio::detached);
    const auto start = clock_type::now();
    const frame f = co_await ch->read();
    CHECK(clock_type::now() - start > 300ms);  // longer than read_timeout alone allows
    CHECK(f.envelope().getEncoded().getPayload().size() == 10'000);
    ch->close();
  }(ch, raw, bytes));
}

TEST_CASE("a peer trickling a frame slower than min_bytes_per_second is cut off") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  channel_options options;
  options.read_timeout = 200ms;
  options.min_bytes_per_second = 100'000;  // a 80 KB body may take 200 ms + 0.8 s
  auto ch = channel::start(std::move(server), options);
  const auto bytes = pgc::net::outgoing_frame(big_encoded(10'000)).to_bytes();
  run_bounded(io, [](channel_ptr ch, tcp_socket& raw, std::vector<std::byte> bytes)
                  -> awaitable<void> {
    // A tenth of the floor: 1 KB every 100 ms would take 8 s.
    asio::co_spawn(co_await asio::this_coro::executor, trickle(raw, std::move(bytes), 1000, 100ms),
                   asio::detached);
    const auto start = clock_type::now();
    CHECK(co_await read_error(ch) == errc::timeout);
    const auto elapsed = clock_type::now() - start;
    CHECK(elapsed >= 900ms);  // 200 ms + 80 KB at 100 KB/s
    CHECK(elapsed < 3s);
    raw.close();
  }(ch, raw, bytes));
}

TEST_CASE("a peer silent in the middle of a big frame is cut off after read_timeout") {
  asio::io_context io;
  auto [raw, server] = connect_loopback(io);
  channel_options options;
  options.read_timeout = 200ms;
  options.min_bytes_per_second = 10'000;  // the 80 KB frame as a whole may take 8.2 s ...
  auto ch = channel::start(std::move(server), options);
  auto bytes = pgc::net::outgoing_frame(big_encoded(10'000)).to_bytes();
  bytes.resize(bytes.size() / 2);  // ... but half of it arrives and then nothing (a cut link)
  asio::write(raw, asio::buffer(bytes));
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    const auto start = clock_type::now();
    CHECK(co_await read_error(ch) == errc::timeout);
    const auto elapsed = clock_type::now() - start;
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < 1500ms);
  }(ch));
}

TEST_CASE("a send queue over its byte limit closes the channel") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  channel_options options;
  options.max_queued_bytes = 100000;
  auto ch = channel::start(std::move(client), options);
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    CHECK(ch->send(big_encoded(5000)));  // 40 KB
    CHECK(ch->send(big_encoded(5000)));
    CHECK(!ch->send(big_encoded(5000)));  // 120 KB queued would be over
    CHECK(!ch->is_open());
    CHECK(ch->error() == std::errc::no_buffer_space);
    co_return;
  }(ch));
}

TEST_CASE("an outgoing message over the frame limit closes the channel") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  channel_options options;
  options.limits.max_frame_bytes = 4096;
  auto ch = channel::start(std::move(client), options);
  run_bounded(io, [](channel_ptr ch) -> awaitable<void> {
    CHECK(ch->send(big_encoded(100)));
    CHECK(!ch->send(big_encoded(1000)));
    CHECK(ch->error() == errc::frame_too_large);
    co_return;
  }(ch));
}
