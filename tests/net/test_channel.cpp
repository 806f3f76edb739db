#include <bit>
#include <cstring>
#include <random>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <capnp/any.h>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/net/channel.hpp"
#include "wire_samples.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace wire = pgc::net::wire;
using pgc::net::awaitable;
using pgc::net::channel;
using pgc::net::channel_options;
using pgc::net::frame;
using pgc::net::test::all_kinds;
using pgc::net::test::connect_loopback;
using pgc::net::test::run_bounded;
using channel_ptr = std::shared_ptr<channel>;

std::unique_ptr<capnp::MallocMessageBuilder> encoded(std::uint64_t iteration, std::uint32_t epoch,
                                                     std::size_t length, double value) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto e = message->initRoot<wire::Envelope>().initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  auto payload = e.initPayload(static_cast<unsigned>(length));
  for (unsigned i = 0; i < length; ++i)
    payload.set(i, value);
  return message;
}

std::unique_ptr<capnp::MallocMessageBuilder> progress(std::uint64_t iteration, std::uint32_t done) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto p = message->initRoot<wire::Envelope>().initProgress();
  p.setIteration(iteration);
  p.setChunksDone(done);
  return message;
}

constexpr unsigned n = 1u << 20;  // doubles in the big payload
// Concurrent senders: 240 KB frames, each taking several socket writes.
constexpr std::uint32_t senders = 4;
constexpr std::uint64_t per_sender = 40;
constexpr std::size_t length = 30000;

}  // namespace

TEST_CASE("every message kind makes a round trip over loopback TCP") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto worker = channel::start(std::move(client));
  auto ps = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr worker, channel_ptr ps) -> awaitable<void> {
    for (const auto kind : all_kinds)
      CHECK(worker->send(pgc::net::test::make_message(kind)));
    for (const auto kind : all_kinds) {
      const frame f = co_await ps->read();
      pgc::net::test::check_message(kind, f.envelope());
    }
    for (const auto kind : all_kinds)
      CHECK(ps->send(pgc::net::test::make_message(kind)));
    for (const auto kind : all_kinds) {
      const frame f = co_await worker->read();
      pgc::net::test::check_message(kind, f.envelope());
    }
    worker->close();
    ps->close();
  }(worker, ps));
}

TEST_CASE("a payload of one million doubles arrives bit for bit") {
  std::vector<std::uint64_t> bits(n);
  std::mt19937_64 rng(7);
  for (auto& b : bits)
    b = rng();
  bits[0] = 0x7ff8000000000001ULL;  // NaN with a payload
  bits[1] = 0x8000000000000000ULL;  // negative zero
  bits[2] = 0x0000000000000001ULL;  // smallest subnormal

  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto sender = channel::start(std::move(client));
  auto receiver = channel::start(std::move(server));
  run_bounded(io,
              [](channel_ptr sender, channel_ptr receiver,
                 const std::vector<std::uint64_t>& bits) -> awaitable<void> {
                auto message = std::make_unique<capnp::MallocMessageBuilder>();
                auto e = message->initRoot<wire::Envelope>().initEncoded();
                e.setIteration(12);
                auto payload = e.initPayload(n);
                for (unsigned i = 0; i < n; ++i)
                  payload.set(i, std::bit_cast<double>(bits[i]));
                REQUIRE(sender->send(std::move(message)));
                const frame f = co_await receiver->read();
                CHECK(f.size_bytes() > n * sizeof(double));
                const auto got = f.envelope().getEncoded();
                CHECK(got.getIteration() == 12);
                REQUIRE(got.getPayload().size() == n);
                // In place, as the PS decoder will read it.
                const auto raw = capnp::AnyList::Reader(got.getPayload()).getRawBytes();
                REQUIRE(raw.size() == n * sizeof(double));
                CHECK(std::memcmp(raw.begin(), bits.data(), raw.size()) == 0);
                sender->close();
                receiver->close();
              }(sender, receiver, bits));
}

TEST_CASE("many queued sends arrive in order") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto sender = channel::start(std::move(client));
  auto receiver = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr sender, channel_ptr receiver) -> awaitable<void> {
    constexpr std::uint32_t count = 5000;
    // All queued before the writer runs once: send() never waits.
    for (std::uint32_t i = 0; i < count; ++i)
      REQUIRE(sender->send(progress(i / 10, i)));
    CHECK(sender->queued_bytes() > 0);
    for (std::uint32_t i = 0; i < count; ++i) {
      const frame f = co_await receiver->read();
      REQUIRE(f.envelope().getProgress().getChunksDone() == i);
      CHECK(f.envelope().getProgress().getIteration() == i / 10);
    }
    CHECK(sender->queued_bytes() == 0);
    sender->close();
    receiver->close();
  }(sender, receiver));
}

TEST_CASE("one shared frame sent on three channels arrives whole at every peer") {
  asio::io_context io;
  std::vector<channel_ptr> senders;
  std::vector<channel_ptr> receivers;
  for (int i = 0; i < 3; ++i) {
    auto [client, server] = connect_loopback(io);
    senders.push_back(channel::start(std::move(client)));
    receivers.push_back(channel::start(std::move(server)));
  }
  run_bounded(io, [](std::vector<channel_ptr> senders,
                     std::vector<channel_ptr> receivers) -> awaitable<void> {
    // Serialized once (a model broadcast); every channel queues the same frame twice.
    const auto shared =
        std::make_shared<const pgc::net::outgoing_frame>(encoded(5, 1, 200000, 0.25));
    for (auto& s : senders) {
      REQUIRE(s->send(shared));
      REQUIRE(s->send(shared));
    }
    CHECK(shared.use_count() == 7);
    for (auto& r : receivers) {
      for (int k = 0; k < 2; ++k) {
        const frame f = co_await r->read();
        const auto e = f.envelope().getEncoded();
        CHECK(e.getIteration() == 5);
        REQUIRE(e.getPayload().size() == 200000);
        CHECK(e.getPayload()[0] == 0.25);
        CHECK(e.getPayload()[199999] == 0.25);
      }
    }
    for (auto& c : senders)
      c->close();
    for (auto& c : receivers)
      c->close();
  }(senders, receivers));
}

TEST_CASE("concurrent senders on one io thread never interleave frames") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto sender = channel::start(std::move(client));
  auto receiver = channel::start(std::move(server));
  int finished = 0;
  for (std::uint32_t id = 0; id < senders; ++id) {
    asio::co_spawn(
        io,
        [](channel_ptr sender, std::uint32_t id) -> awaitable<void> {
          for (std::uint64_t k = 0; k < per_sender; ++k) {
            REQUIRE(sender->send(encoded(k, id, length, id * 1000.0 + static_cast<double>(k))));
            // Let the other senders and the writer run between our sends.
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
          }
        }(sender, id),
        [&finished](std::exception_ptr e) {
          CHECK(!e);
          ++finished;
        });
  }
  run_bounded(io, [](channel_ptr sender, channel_ptr receiver) -> awaitable<void> {
    std::vector<std::uint64_t> next(senders, 0);
    for (std::uint64_t n = 0; n < senders * per_sender; ++n) {
      const frame f = co_await receiver->read();
      const auto e = f.envelope().getEncoded();
      const auto id = e.getEpoch();
      REQUIRE(id < senders);
      CHECK(e.getIteration() == next[id]);
      const double value = id * 1000.0 + static_cast<double>(next[id]);
      ++next[id];
      const auto payload = e.getPayload();
      REQUIRE(payload.size() == length);
      bool uniform = true;
      for (unsigned i = 0; i < length; ++i)
        uniform = uniform && payload[i] == value;
      CHECK(uniform);
    }
    sender->close();
    receiver->close();
  }(sender, receiver));
  CHECK(finished == static_cast<int>(senders));
}

TEST_CASE("stop delivers every queued frame and then a clean end of stream") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto sender = channel::start(std::move(client));
  auto receiver = channel::start(std::move(server));
  std::error_code sender_read_error;
  asio::co_spawn(
      io, [](channel_ptr sender) -> awaitable<void> { (void)co_await sender->read(); }(sender),
      [&sender_read_error](std::exception_ptr e) {
        try {
          if (e) std::rethrow_exception(e);
        } catch (const std::system_error& x) {
          sender_read_error = x.code();
        }
      });
  run_bounded(io, [](channel_ptr sender, channel_ptr receiver) -> awaitable<void> {
    for (std::uint64_t k = 0; k < 50; ++k)
      REQUIRE(sender->send(encoded(k, 0, 20000, 1.5)));
    sender->stop();
    sender->stop();
    CHECK(!sender->send(progress(0, 0)));  // refused once stopping
    for (std::uint64_t k = 0; k < 50; ++k) {
      const frame f = co_await receiver->read();
      CHECK(f.envelope().getEncoded().getIteration() == k);
    }
    try {
      (void)co_await receiver->read();
      FAIL("read after the peer's stop should end");
    } catch (const std::system_error& e) {
      CHECK(pgc::net::is_end_of_stream(e.code()));
      CHECK(pgc::net::is_orderly_end(e.code()));
    }
    CHECK(!receiver->is_open());
    CHECK(pgc::net::is_end_of_stream(receiver->error()));
    // The sender lingers until the peer's end of stream, which its own pending read sees.
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (int i = 0; i < 300 && sender->is_open(); ++i) {
      pause.expires_after(std::chrono::milliseconds(10));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    CHECK(!sender->is_open());
  }(sender, receiver));
  CHECK(pgc::net::is_end_of_stream(sender_read_error));
}

TEST_CASE("closing a channel twice is harmless") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto a = channel::start(std::move(client));
  auto b = channel::start(std::move(server));
  run_bounded(io, [](channel_ptr a, channel_ptr b) -> awaitable<void> {
    CHECK(a->send(progress(1, 1)));
    a->close();
    a->close();
    a->stop();
    CHECK(!a->is_open());
    CHECK(pgc::net::is_aborted(a->error()));
    CHECK(!a->send(progress(1, 2)));
    try {
      (void)co_await a->read();
      FAIL("a closed channel cannot read");
    } catch (const std::system_error& e) {
      CHECK(pgc::net::is_aborted(e.code()));
    }
    // The peer sees the end of the stream (the frame queued before close() may be lost).
    try {
      for (;;)
        (void)co_await b->read();
    } catch (const std::system_error& e) {
      CHECK(pgc::net::is_orderly_end(e.code()));
    }
    b->close();
  }(a, b));
}
