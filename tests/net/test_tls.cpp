// TLS under the framed channel: contexts from PEM files (and their errors), the handshakes with
// their refusals, frames over TLS, and TCP's end of stream seen through TLS.
#include "pgc/net/tls.hpp"

#include <bit>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/any.h>
#include <doctest/doctest.h>

#include "loopback.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/envelope.hpp"
#include "pgc/net/outgoing_frame.hpp"
#include "tls_certs.hpp"
#include "wire_samples.hpp"

namespace {

namespace asio = pgc::net::asio;
namespace wire = pgc::net::wire;
using pgc::net::awaitable;
using pgc::net::channel;
using pgc::net::tcp;
using pgc::net::tls_accepted;
using pgc::net::tls_context;
using pgc::net::tls_options;
using pgc::net::tls_stream_ptr;
using pgc::net::test::connect_loopback;
using pgc::net::test::run_bounded;
using channel_ptr = std::shared_ptr<channel>;
using namespace std::chrono_literals;

// Per process: ctest -j runs each test case as its own process, and one writing the files while
// another reads them makes a certificate signed by another run's CA.
const pgc::test::tls_files& files() {
  static const pgc::test::tls_files f = pgc::test::make_tls_files(
      std::string(PGC_BINARY_DIR) + "/tests/tls-net-" + std::to_string(::getpid()));
  return f;
}

std::shared_ptr<tls_context> server_context(bool mutual = false) {
  tls_options o;
  o.cert_file = files().server_cert;
  o.key_file = files().server_key;
  if (mutual) o.ca_file = files().ca;
  return pgc::net::make_server_context(o);
}

std::shared_ptr<tls_context> client_context(const std::string& ca, bool with_cert = false) {
  tls_options o;
  o.ca_file = ca;
  if (with_cert) {
    o.cert_file = files().client_cert;
    o.key_file = files().client_key;
  }
  return pgc::net::make_client_context(o);
}

// The server's side of a handshake, run beside the test body.
struct server_side {
  bool done = false;
  std::optional<tls_accepted> accepted;
  std::error_code code;
  std::string error;
};

std::shared_ptr<server_side> spawn_accept(asio::io_context& io, tcp::socket socket,
                                          std::shared_ptr<tls_context> ctx,
                                          std::chrono::milliseconds timeout = 5s) {
  auto out = std::make_shared<server_side>();
  asio::co_spawn(io, pgc::net::tls_accept(std::move(socket), std::move(ctx), timeout),
                 [out](std::exception_ptr e, tls_accepted r) {
                   out->done = true;
                   if (!e) {
                     out->accepted.emplace(std::move(r));
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::system_error& x) {
                     out->code = x.code();
                     out->error = x.what();
                   } catch (const std::exception& x) {
                     out->error = x.what();
                   }
                 });
  return out;
}

awaitable<void> until_done(std::shared_ptr<server_side> s) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  while (!s->done) {
    t.expires_after(2ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

channel_ptr server_channel(server_side& s) {
  REQUIRE(s.accepted.has_value());
  REQUIRE(std::holds_alternative<tls_stream_ptr>(*s.accepted));
  return channel::start(std::move(std::get<tls_stream_ptr>(*s.accepted)));
}

std::unique_ptr<capnp::MallocMessageBuilder> progress(std::uint64_t iteration, std::uint32_t done) {
  auto message = std::make_unique<capnp::MallocMessageBuilder>();
  auto p = message->initRoot<wire::Envelope>().initProgress();
  p.setIteration(iteration);
  p.setChunksDone(done);
  return message;
}

awaitable<std::error_code> read_error(channel_ptr ch) {
  try {
    (void)co_await ch->read();
  } catch (const std::system_error& e) {
    co_return e.code();
  }
  co_return std::error_code{};
}

template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const pgc::core::input_error& e) {
    return e.what();
  }
  return "";
}

// The input_error a client handshake ends with ("" if it succeeds).
awaitable<std::string> connect_error(tcp::socket client, std::shared_ptr<tls_context> context,
                                     std::string server_name) {
  try {
    (void)co_await pgc::net::tls_connect(std::move(client), std::move(context),
                                         std::move(server_name), 5s);
  } catch (const pgc::core::input_error& e) {
    co_return e.what();
  }
  co_return "";
}

}  // namespace

constexpr unsigned n = 1u << 20;  // doubles: 8 MiB

TEST_CASE("an 8 MiB payload and many small frames cross a TLS channel bit for bit") {
  std::vector<std::uint64_t> bits(n);
  std::mt19937_64 rng(11);
  for (auto& b : bits)
    b = rng();
  bits[0] = 0x7ff8000000000001ULL;  // NaN with a payload
  bits[1] = 0x8000000000000000ULL;  // negative zero

  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto side = spawn_accept(io, std::move(server), server_context());
  run_bounded(io, [](tcp::socket client, std::shared_ptr<server_side> side,
                     const std::vector<std::uint64_t>& bits) -> awaitable<void> {
    auto stream = co_await pgc::net::tls_connect(std::move(client), client_context(files().ca),
                                                 "127.0.0.1", 5s);
    co_await until_done(side);
    INFO(side->error);
    auto ps = server_channel(*side);
    auto worker = channel::start(std::move(stream));
    CHECK(worker->is_tls());
    CHECK(ps->is_tls());

    auto message = std::make_unique<capnp::MallocMessageBuilder>();
    auto e = message->initRoot<wire::Envelope>().initEncoded();
    e.setIteration(3);
    auto payload = e.initPayload(n);
    for (unsigned i = 0; i < n; ++i)
      payload.set(i, std::bit_cast<double>(bits[i]));
    REQUIRE(worker->send(std::move(message)));
    // Small frames after it: the writer batches them, TLS puts a batch into few records.
    constexpr std::uint32_t small = 2000;
    for (std::uint32_t i = 0; i < small; ++i)
      REQUIRE(worker->send(progress(4, i)));

    const auto f = co_await ps->read();
    const auto got = f.envelope().getEncoded();
    CHECK(got.getIteration() == 3);
    REQUIRE(got.getPayload().size() == n);
    const auto raw = capnp::AnyList::Reader(got.getPayload()).getRawBytes();
    REQUIRE(raw.size() == n * sizeof(double));
    CHECK(std::memcmp(raw.begin(), bits.data(), raw.size()) == 0);
    for (std::uint32_t i = 0; i < small; ++i) {
      const auto p = co_await ps->read();
      REQUIRE(p.envelope().getProgress().getChunksDone() == i);
    }
    // And back: the PS side writes over TLS too.
    REQUIRE(ps->send(progress(5, 7)));
    const auto back = co_await worker->read();
    CHECK(back.envelope().getProgress().getChunksDone() == 7);
    worker->close();
    ps->close();
  }(std::move(client), side, bits));
}

TEST_CASE("a worker that trusts another CA fails the handshake naming the certificate problem") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto side = spawn_accept(io, std::move(server), server_context());
  run_bounded(io, [](tcp::socket client, std::shared_ptr<server_side> side) -> awaitable<void> {
    const std::string error =
        co_await connect_error(std::move(client), client_context(files().other_ca), "127.0.0.1");
    CHECK(error.find("failed verification") != std::string::npos);
    CHECK(error.find("unable to get local issuer certificate") != std::string::npos);
    CHECK(error.find("--tls-ca") != std::string::npos);
    co_await until_done(side);
    // The server hears the worker's alert and reports it.
    CHECK_FALSE(side->accepted.has_value());
    CHECK(pgc::net::is_tls_error(side->code));
    CHECK(side->error.find("TLS handshake with 127.0.0.1:") != std::string::npos);
  }(std::move(client), side));
}

TEST_CASE("a certificate for another host name fails verification") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto side = spawn_accept(io, std::move(server), server_context());
  run_bounded(io, [](tcp::socket client, std::shared_ptr<server_side> side) -> awaitable<void> {
    const std::string error =
        co_await connect_error(std::move(client), client_context(files().ca), "ps.example.org");
    CHECK(error.find("hostname mismatch") != std::string::npos);
    CHECK(error.find("--tls-server-name") != std::string::npos);
    co_await until_done(side);
  }(std::move(client), side));
}

TEST_CASE("localhost is a name the test certificate carries") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  auto side = spawn_accept(io, std::move(server), server_context());
  run_bounded(io, [](tcp::socket client, std::shared_ptr<server_side> side) -> awaitable<void> {
    auto stream = co_await pgc::net::tls_connect(std::move(client), client_context(files().ca),
                                                 "localhost", 5s);
    co_await until_done(side);
    CHECK(side->accepted.has_value());
    channel::start(std::move(stream))->close();
  }(std::move(client), side));
}

TEST_CASE("a plain client is handed back to a TLS server which then serves a TLS client") {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  run_bounded(io, [](tcp::acceptor& acceptor) -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    const auto ctx = server_context();
    // A plain pgc peer sends a frame: the server sees it is not TLS.
    tcp::socket plain(ex);
    co_await plain.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto plain_ch = channel::start(std::move(plain));
    REQUIRE(plain_ch->send(progress(1, 1)));
    auto accepted = co_await pgc::net::tls_accept(co_await acceptor.async_accept(asio::use_awaitable),
                                                  ctx, 5s);
    REQUIRE(std::holds_alternative<tcp::socket>(accepted));
    // The caller may answer in plain text: the peer reads it as a frame.
    auto answer = channel::start(std::move(std::get<tcp::socket>(accepted)));
    REQUIRE(answer->send(progress(9, 9)));
    const auto f = co_await plain_ch->read();
    CHECK(f.envelope().getProgress().getChunksDone() == 9);
    answer->close();
    plain_ch->close();

    // The same context still serves a TLS client.
    tcp::socket client(ex);
    co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto server = co_await acceptor.async_accept(asio::use_awaitable);
    auto& io_ctx = static_cast<asio::io_context&>(ex.context());
    auto side = spawn_accept(io_ctx, std::move(server), ctx);
    auto stream = co_await pgc::net::tls_connect(std::move(client), client_context(files().ca),
                                                 "127.0.0.1", 5s);
    co_await until_done(side);
    auto ps = server_channel(*side);
    auto worker = channel::start(std::move(stream));
    REQUIRE(worker->send(progress(2, 2)));
    CHECK((co_await ps->read()).envelope().getProgress().getChunksDone() == 2);
    worker->close();
    ps->close();
  }(acceptor));
}

TEST_CASE("a TLS client facing a plain server is told the server does not speak TLS") {
  asio::io_context io;
  auto [client, server] = connect_loopback(io);
  // What a PS without --tls-cert does: read a frame, fail on the TLS bytes, answer and stop.
  auto plain = channel::start(std::move(server));
  run_bounded(io, [](tcp::socket client, channel_ptr plain) -> awaitable<void> {
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [](channel_ptr plain) -> awaitable<void> {
          const auto code = co_await read_error(plain);
          CHECK((code == pgc::core::errc::frame_too_large || code == pgc::core::errc::bad_message));
          plain->send(pgc::net::test::make_message(pgc::net::test::wire_kind::ERROR));
          plain->stop();
        }(plain),
        [](std::exception_ptr) {});
    const std::string error =
        co_await connect_error(std::move(client), client_context(files().ca), "127.0.0.1");
    INFO(error);
    CHECK(error.find("does not speak TLS") != std::string::npos);
  }(std::move(client), plain));
}

TEST_CASE("a client that never completes the handshake is dropped after the timeout") {
  asio::io_context io;
  auto [silent, server] = connect_loopback(io);
  auto [half, server2] = connect_loopback(io);
  const auto ctx = server_context();
  auto a = spawn_accept(io, std::move(server), ctx, 200ms);
  auto b = spawn_accept(io, std::move(server2), ctx, 200ms);
  run_bounded(io, [](tcp::socket& half, std::shared_ptr<server_side> a,
                     std::shared_ptr<server_side> b) -> awaitable<void> {
    // One byte of a TLS record header, then nothing.
    const unsigned char byte = 0x16;
    co_await asio::async_write(half, asio::buffer(&byte, 1), asio::use_awaitable);
    co_await until_done(a);
    co_await until_done(b);
    CHECK(a->code == pgc::core::errc::timeout);
    CHECK(b->code == pgc::core::errc::timeout);
    CHECK(b->error.find("not completed within 0.2 s") != std::string::npos);
  }(half, a, b), 5s);
}

TEST_CASE("the peer's TCP end between frames is an end of stream over TLS and inside one a bad message") {
  asio::io_context io;
  auto [c1, s1] = connect_loopback(io);
  auto [c2, s2] = connect_loopback(io);
  const auto ctx = server_context();
  auto side1 = spawn_accept(io, std::move(s1), ctx);
  auto side2 = spawn_accept(io, std::move(s2), ctx);
  run_bounded(io, [](tcp::socket c1, tcp::socket c2, std::shared_ptr<server_side> side1,
                     std::shared_ptr<server_side> side2) -> awaitable<void> {
    const auto cctx = client_context(files().ca);
    // stop(): the frame, then TCP's end without a close_notify.
    auto t1 = co_await pgc::net::tls_connect(std::move(c1), cctx, "127.0.0.1", 5s);
    co_await until_done(side1);
    auto ps1 = server_channel(*side1);
    auto worker1 = channel::start(std::move(t1));
    REQUIRE(worker1->send(progress(1, 5)));
    worker1->stop();
    CHECK((co_await ps1->read()).envelope().getProgress().getChunksDone() == 5);
    const auto end = co_await read_error(ps1);
    INFO(end.message());
    CHECK(pgc::net::is_end_of_stream(end));
    CHECK(pgc::net::is_end_of_stream(ps1->error()));

    // Half a frame, then TCP's end.
    auto t2 = co_await pgc::net::tls_connect(std::move(c2), cctx, "127.0.0.1", 5s);
    co_await until_done(side2);
    auto ps2 = server_channel(*side2);
    const auto bytes =
        pgc::net::outgoing_frame(pgc::net::test::make_message(pgc::net::test::wire_kind::PROGRESS))
            .to_bytes();
    REQUIRE(bytes.size() > 12);
    co_await asio::async_write(*t2, asio::buffer(bytes.data(), 12), asio::use_awaitable);
    t2->next_layer().shutdown(tcp::socket::shutdown_send);
    const auto cut = co_await read_error(ps2);
    INFO(cut.message());
    CHECK(cut == pgc::core::errc::bad_message);
    ps1->close();
    ps2->close();
    worker1->close();
  }(std::move(c1), std::move(c2), side1, side2));
}

TEST_CASE("mutual TLS refuses a client without a certificate and serves one with") {
  asio::io_context io;
  auto [c1, s1] = connect_loopback(io);
  auto [c2, s2] = connect_loopback(io);
  const auto ctx = server_context(true);
  auto side1 = spawn_accept(io, std::move(s1), ctx);
  auto side2 = spawn_accept(io, std::move(s2), ctx);
  run_bounded(io, [](tcp::socket c1, tcp::socket c2, std::shared_ptr<server_side> side1,
                     std::shared_ptr<server_side> side2) -> awaitable<void> {
    // TLS 1.3: the client finishes its handshake and hears the refusal on its first read.
    auto t1 = co_await pgc::net::tls_connect(std::move(c1), client_context(files().ca),
                                             "127.0.0.1", 5s);
    auto worker1 = channel::start(std::move(t1));
    REQUIRE(worker1->send(progress(0, 0)));
    const auto refused = co_await read_error(worker1);
    INFO(refused.message());
    CHECK(pgc::net::is_tls_error(refused));
    co_await until_done(side1);
    CHECK_FALSE(side1->accepted.has_value());
    CHECK(side1->error.find("requires a client certificate") != std::string::npos);

    auto t2 = co_await pgc::net::tls_connect(std::move(c2), client_context(files().ca, true),
                                             "127.0.0.1", 5s);
    co_await until_done(side2);
    INFO(side2->error);
    auto ps = server_channel(*side2);
    auto worker2 = channel::start(std::move(t2));
    REQUIRE(worker2->send(progress(3, 3)));
    CHECK((co_await ps->read()).envelope().getProgress().getChunksDone() == 3);
    worker1->close();
    worker2->close();
    ps->close();
  }(std::move(c1), std::move(c2), side1, side2));
}

TEST_CASE("bad TLS files and combinations are input errors naming the problem") {
  tls_options none;
  CHECK(pgc::net::make_server_context(none) == nullptr);
  CHECK(pgc::net::make_client_context(none) == nullptr);

  tls_options o;
  o.cert_file = files().server_cert;
  CHECK(input_error_of([&] { (void)pgc::net::make_server_context(o); }).find("--tls-key") !=
        std::string::npos);
  o.key_file = "/nonexistent/server.key";
  auto why = input_error_of([&] { (void)pgc::net::make_server_context(o); });
  CHECK(why.find("/nonexistent/server.key") != std::string::npos);
  CHECK(why.find("No such file") != std::string::npos);
  o.key_file = files().client_key;  // another certificate's key
  why = input_error_of([&] { (void)pgc::net::make_server_context(o); });
  CHECK(why.find("does not match the certificate") != std::string::npos);
  o.cert_file = files().server_key;  // not a certificate
  o.key_file = files().server_key;
  why = input_error_of([&] { (void)pgc::net::make_server_context(o); });
  CHECK(why.find("holds no usable PEM certificate") != std::string::npos);
  o.cert_file = files().server_cert;
  o.key_file = files().ca;  // not a key
  why = input_error_of([&] { (void)pgc::net::make_server_context(o); });
  CHECK(why.find("holds no usable PEM private key") != std::string::npos);

  tls_options w;
  w.cert_file = files().client_cert;
  w.key_file = files().client_key;
  CHECK(input_error_of([&] { (void)pgc::net::make_client_context(w); }).find("--tls-ca") !=
        std::string::npos);
  w.ca_file = "/nonexistent/ca.pem";
  CHECK(input_error_of([&] { (void)pgc::net::make_client_context(w); })
            .find("/nonexistent/ca.pem") != std::string::npos);
  w.ca_file = files().ca;
  w.key_file.clear();
  CHECK(input_error_of([&] { (void)pgc::net::make_client_context(w); }).find("--tls-key") !=
        std::string::npos);
}
