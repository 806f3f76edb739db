// A real parameter_server facing hostile or broken peers over loopback TCP: garbage frames,
// wrong handshakes, a stolen name, a peer that goes silent and messages the protocol state does
// not expect. Each test also runs real workers and checks that the PS keeps serving them.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include <Eigen/Core>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/message.h>
#include <doctest/doctest.h>

#include "pgc/core/error.hpp"
#include "pgc/core/least_squares.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/outgoing_frame.hpp"
#include "pgc/net/schema/pgc.capnp.h"
#include "pgc/nodes/delay_model.hpp"
#include "pgc/nodes/parameter_server.hpp"
#include "pgc/nodes/worker.hpp"

using namespace pgc;
using namespace pgc::nodes;
using namespace std::chrono_literals;

namespace {

namespace asio = net::asio;
namespace wire = net::wire;
using net::awaitable;
using message_ptr = std::unique_ptr<capnp::MallocMessageBuilder>;

// Polls `cond` every 5 ms for at most 10 s, then checks it. A macro, not a coroutine taking a
// lambda: GCC 12 destroys a capturing lambda temporary twice when it sits in a co_await
// expression (the captured shared_ptr loses a reference it never had).
#define WAIT_UNTIL(cond, assertion)                                     \
  do {                                                                  \
    const auto wait_deadline = std::chrono::steady_clock::now() + 10s;  \
    while (!(cond) && std::chrono::steady_clock::now() < wait_deadline) \
      co_await tick();                                                  \
    assertion##_MESSAGE((cond), "waited 10 s for " #cond);              \
  } while (false)
#define WAIT_CHECK(cond) WAIT_UNTIL(cond, CHECK)
#define WAIT_REQUIRE(cond) WAIT_UNTIL(cond, REQUIRE)

constexpr int n = 3;  // proposed, cyclic, load 2, ell 1: any two workers cover every chunk
constexpr auto heartbeat = 100ms;
constexpr int misses = 3;  // the PS drops a peer silent for 300 ms

// ---- messages a hostile peer sends --------------------------------------------------------

message_ptr make_hello(const std::string& name, std::uint32_t version = wire::PROTOCOL_VERSION) {
  auto m = std::make_unique<capnp::MallocMessageBuilder>();
  auto h = m->initRoot<wire::Envelope>().initHello();
  h.setProtocolVersion(version);
  h.setWorkerName(name);
  return m;
}

message_ptr make_progress(std::uint64_t iteration, std::uint32_t chunks) {
  auto m = std::make_unique<capnp::MallocMessageBuilder>();
  auto p = m->initRoot<wire::Envelope>().initProgress();
  p.setIteration(iteration);
  p.setChunksDone(chunks);
  return m;
}

message_ptr make_encoded(std::uint64_t iteration, std::uint32_t epoch, unsigned length) {
  auto m = std::make_unique<capnp::MallocMessageBuilder>();
  auto e = m->initRoot<wire::Envelope>().initEncoded();
  e.setIteration(iteration);
  e.setEpoch(epoch);
  auto payload = e.initPayload(length);
  for (unsigned k = 0; k < length; ++k)
    payload.set(k, 1.0);
  return m;
}

message_ptr make_heartbeat() {
  auto m = std::make_unique<capnp::MallocMessageBuilder>();
  m->initRoot<wire::Envelope>().initHeartbeat();
  return m;
}

// A Welcome is the PS's message; a worker sending one breaks the protocol.
message_ptr make_welcome() {
  auto m = std::make_unique<capnp::MallocMessageBuilder>();
  auto w = m->initRoot<wire::Envelope>().initWelcome();
  w.setWorkers(1);
  w.setChunks(1);
  w.setEll(1);
  w.setDimension(1);
  w.initR(1).set(0, 1.0);
  auto a = w.initAssignment(1);
  a.init(0, 1).set(0, 0);
  w.setLoad(1);
  return m;
}

std::vector<std::byte> bytes_of(message_ptr m) {
  return net::outgoing_frame(std::move(m)).to_bytes();
}

// ---- a peer that reads everything the PS sends ---------------------------------------------

struct received {
  wire::Envelope::Which kind = wire::Envelope::HEARTBEAT;
  std::uint64_t iteration = 0;  // StartIteration, EncodeAndTransmit
  std::uint32_t epoch = 0;      // EncodeAndTransmit
  std::vector<std::uint32_t> state;
  std::uint32_t code = 0;  // Error
  std::string text;        // Error
};

struct peer {
  std::shared_ptr<net::channel> channel;
  std::vector<received> got;
  bool ended = false;
  std::error_code end;
  bool beat = false;  // send a heartbeat every 50 ms while open

  std::vector<received> errors() const {
    std::vector<received> out;
    for (const auto& r : got) {
      if (r.kind == wire::Envelope::ERROR) out.push_back(r);
    }
    return out;
  }
  std::optional<std::uint64_t> last_start() const {
    std::optional<std::uint64_t> it;
    for (const auto& r : got) {
      if (r.kind == wire::Envelope::START_ITERATION) it = r.iteration;
    }
    return it;
  }
  const received* last_signal() const {
    const received* out = nullptr;
    for (const auto& r : got) {
      if (r.kind == wire::Envelope::ENCODE_AND_TRANSMIT) out = &r;
    }
    return out;
  }
};

awaitable<void> read_all(std::shared_ptr<peer> p) {
  while (true) {
    try {
      auto f = co_await p->channel->read();
      const auto e = f.envelope();
      received r;
      r.kind = e.which();
      switch (e.which()) {
        case wire::Envelope::START_ITERATION:
          r.iteration = e.getStartIteration().getIteration();
          break;
        case wire::Envelope::ENCODE_AND_TRANSMIT: {
          const auto s = e.getEncodeAndTransmit();
          r.iteration = s.getIteration();
          r.epoch = s.getEpoch();
          for (auto v : s.getState())
            r.state.push_back(v);
          break;
        }
        case wire::Envelope::ERROR:
          r.code = e.getError().getCode();
          r.text = e.getError().getText();
          break;
        default:
          break;
      }
      p->got.push_back(std::move(r));
    } catch (const std::system_error& e) {
      // No co_return inside the handler: GCC 12 destroys the parameters twice then.
      p->ended = true;
      p->end = e.code();
    }
    if (p->ended) break;
  }
}

awaitable<void> beat(std::shared_ptr<peer> p) {
  asio::steady_timer t(p->channel->get_executor());
  while (p->channel->is_open()) {
    // Wait first: the Hello the test sends must be the first message.
    t.expires_after(50ms);
    co_await t.async_wait(asio::use_awaitable);
    if (p->beat && p->channel->is_open()) p->channel->send(make_heartbeat());
  }
}

// Starts reading (and heartbeats when p->beat) on a connected socket.
std::shared_ptr<peer> adopt(net::tcp::socket socket, bool beating = false) {
  auto p = std::make_shared<peer>();
  p->beat = beating;
  net::channel_options o;
  o.read_timeout = 20s;  // the test decides when the PS has gone quiet
  auto ex = socket.get_executor();
  p->channel = net::channel::start(std::move(socket), o);
  asio::co_spawn(ex, read_all(p), [](std::exception_ptr) {});
  asio::co_spawn(ex, beat(p), [](std::exception_ptr) {});
  return p;
}

awaitable<net::tcp::socket> connect_raw(std::uint16_t port) {
  const auto ex = co_await asio::this_coro::executor;
  net::tcp::socket s(ex);
  co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  co_return s;
}

awaitable<void> tick() {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(5ms);
  co_await t.async_wait(asio::use_awaitable);
}

// ---- the PS and the honest workers ---------------------------------------------------------

struct cluster_options {
  int min_workers = 2;
  int first_iteration_workers = 2;
  delay_model worker_delay;
};

struct cluster;

struct log_view {
  cluster* c;
};
std::ostream& operator<<(std::ostream& out, const log_view& v);

struct cluster {
  explicit cluster(cluster_options copt = {}) : options(copt) {
    cfg.samples = 120;
    cfg.dimension = 5;
    cfg.chunks = n;
    cfg.seed = 3;
    reference = std::make_shared<core::least_squares>(cfg);

    ps_options o;
    o.protocol.scheme.kind = coding::scheme_kind::proposed;
    o.protocol.scheme.workers = n;
    o.protocol.scheme.load = 2;
    o.protocol.scheme.ell = 1;
    o.protocol.scheme.seed = 5;
    o.protocol.mode = signal_mode::exact;
    o.protocol.dimension = cfg.dimension;
    o.run.min_workers = copt.min_workers;
    o.run.first_iteration_workers = copt.first_iteration_workers;
    o.protocol.heartbeat = heartbeat;
    o.protocol.heartbeat_misses = misses;
    o.initial_model = reference->initial_parameters();
    o.log = core::logger(
        [this](core::log_level, std::string_view line) { write(std::string(line)); },
        core::log_level::debug);
    o.on_gradient = [this](std::uint64_t, const Eigen::VectorXd& g, double,
                           Eigen::VectorXd& model) {
      const Eigen::VectorXd truth = core::full_gradient(*reference, model);
      const std::lock_guard lock(mu);
      max_rel_error = std::max(max_rel_error, (g - truth).norm() / truth.norm());
      // The model stays put: near the optimum the gradient would shrink until rounding
      // dominates the relative error.
      (void)model;
    };
    o.on_iteration = [this](std::uint64_t, const iteration_stats& s,
                            std::chrono::steady_clock::duration) { stats.push_back(s); };
    o.on_done = [this](std::exception_ptr e) {
      ps_done = true;
      ps_failed = e != nullptr;
    };
    ps = std::make_unique<parameter_server>(io.get_executor(), o);
    port = ps->start();
  }

  void write(const std::string& line) {
    const std::lock_guard lock(mu);
    log.push_back(line);
  }

  bool logged(const std::string& needle) {
    const std::lock_guard lock(mu);
    return std::any_of(log.begin(), log.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }

  worker& add_worker(const std::string& name) {
    worker_options wo;
    wo.connect = {"127.0.0.1", port};
    wo.name = name;
    wo.heartbeat = heartbeat;
    wo.delay = options.worker_delay;
    wo.log = core::logger(
        [this](core::log_level, std::string_view line) { write(std::string(line)); },
        core::log_level::debug);
    wo.on_done = [this, name](std::exception_ptr e) {
      if (e) write(name + " failed");
      ++workers_done;
    };
    workers.push_back(std::make_unique<worker>(io.get_executor(), wo,
                                               std::make_shared<core::least_squares>(cfg)));
    workers.back()->start();
    return *workers.back();
  }

  // w0 and w1; they get ids 0 and 1 when nobody else joined before (see joined()).
  void start_honest_workers() {
    add_worker("w0");
    add_worker("w1");
  }
  bool joined(std::size_t workers_) const {
    return workers.size() >= workers_ &&
           std::all_of(workers.begin(), workers.begin() + static_cast<long>(workers_),
                       [](const auto& w) { return w->worker_id() >= 0; });
  }

  int workers_lost() const {
    int lost = 0;
    for (const auto& s : stats)
      lost += s.workers_lost;
    return lost;
  }

  // Runs `body` with the cluster for at most 30 s, then stops everything.
  void run(std::function<awaitable<void>()> body) {
    const log_view view{this};
    INFO(view);  // the nodes' log lines, shown with any failure below
    bool finished = false;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      finished = true;
      failure = e;
      ps->stop();
      for (auto& w : workers)
        w->stop();
      // Let Shutdown and the closes go out, then end.
      auto t = std::make_shared<asio::steady_timer>(io, 50ms);
      t->async_wait([this, t](const boost::system::error_code&) { io.stop(); });
    });
    io.run_for(30s);
    REQUIRE_MESSAGE(finished, "the test body did not finish within 30 s");
    if (failure) std::rethrow_exception(failure);
    CHECK_FALSE(ps_failed);
    const std::lock_guard lock(mu);
    CHECK(max_rel_error < 1e-9);  // every decode of every test is exact
  }

  cluster_options options;
  core::least_squares_config cfg;
  std::shared_ptr<core::least_squares> reference;
  asio::io_context io;
  std::unique_ptr<parameter_server> ps;
  std::vector<std::unique_ptr<worker>> workers;
  std::uint16_t port = 0;
  std::mutex mu;  // log and max_rel_error: on_gradient runs on the decode pool
  std::vector<std::string> log;
  double max_rel_error = 0;
  std::vector<iteration_stats> stats;
  bool ps_done = false;
  bool ps_failed = false;
  int workers_done = 0;
};

std::ostream& operator<<(std::ostream& out, const log_view& v) {
  const std::lock_guard lock(v.c->mu);
  for (const auto& line : v.c->log)
    out << '\n' << line;
  return out;
}

// Writes `bytes` on a fresh connection (then half-closes when `then_close`) and waits until the
// PS hangs up. Returns the peer with what it received.
awaitable<std::shared_ptr<peer>> throw_bytes(cluster& c, std::vector<std::byte> bytes,
                                             bool then_close) {
  auto s = co_await connect_raw(c.port);
  co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
  if (then_close) s.shutdown(net::tcp::socket::shutdown_send);
  auto p = adopt(std::move(s));
  WAIT_CHECK(p->ended);
  co_return p;
}

bool only_errors(const peer& p) {
  return std::all_of(p.got.begin(), p.got.end(),
                     [](const received& r) { return r.kind == wire::Envelope::ERROR; });
}

}  // namespace

TEST_CASE("garbage first frames are answered with a close and the ps keeps serving") {
  cluster c;
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    {
      const auto target = c.ps->completed() + 1;
      WAIT_REQUIRE(c.ps->completed() >= target);
    }

    // Random bytes: whatever the first word announces, the connection ends, with at most an
    // Error on the way (a close with unread garbage may reset the connection before it).
    std::mt19937_64 rng(2024);
    for (int round = 0; round < 4; ++round) {
      std::vector<std::byte> garbage(256);
      for (auto& b : garbage)
        b = std::byte(rng() & 0xff);
      auto p = co_await throw_bytes(c, garbage, false);
      CHECK(only_errors(*p));
    }

    // A segment table announcing 32 GiB: refused before anything is allocated, with an Error
    // (nothing unread is left, so the close is clean).
    {
      std::vector<std::byte> huge{std::byte{0},    std::byte{0},    std::byte{0},
                                  std::byte{0},    std::byte{0xff}, std::byte{0xff},
                                  std::byte{0xff}, std::byte{0xff}};
      auto p = co_await throw_bytes(c, huge, false);
      REQUIRE(p->got.size() == 1);
      CHECK(p->got[0].kind == wire::Envelope::ERROR);
      CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::frame_too_large));
      CHECK(net::is_end_of_stream(p->end));
    }

    // Too many segments: bad_message, answered the same way.
    {
      std::vector<std::byte> many{std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{0}};
      auto p = co_await throw_bytes(c, many, false);
      REQUIRE(p->got.size() == 1);
      CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::bad_message));
    }

    // Half a Hello and then the end of the stream: nothing to answer, the PS just closes.
    {
      auto hello = bytes_of(make_hello("half"));
      hello.resize(hello.size() / 2);
      auto p = co_await throw_bytes(c, hello, true);
      CHECK(only_errors(*p));
    }

    // A frame that is not an Envelope of a known kind: a struct pointer to nowhere.
    {
      std::vector<std::byte> bogus{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},
                                   std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}};
      for (int k = 0; k < 8; ++k)
        bogus.push_back(std::byte{0xee});
      auto p = co_await throw_bytes(c, bogus, false);
      REQUIRE(p->got.size() == 1);
      CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::bad_message));
    }

    // A well-formed first message that is not a Hello.
    {
      auto p = co_await throw_bytes(c, bytes_of(make_progress(0, 1)), false);
      REQUIRE(p->got.size() == 1);
      CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::protocol_violation));
      CHECK(p->got[0].text.find("expected hello") != std::string::npos);
    }

    {
      const auto target = c.ps->completed() + 3;
      WAIT_CHECK(c.ps->completed() >= target);
    }
    CHECK(c.workers_lost() == 0);
  });
}

TEST_CASE("a connection that never says hello is closed after the heartbeat timeout") {
  cluster c;
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    const auto t0 = std::chrono::steady_clock::now();
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s));
    WAIT_CHECK(p->ended);
    // A lower bound only: the PS may take longer under load, never less.
    CHECK(std::chrono::steady_clock::now() - t0 >= heartbeat * misses - 20ms);
    CHECK(p->got.empty());
    {
      const auto target = c.ps->completed() + 2;
      WAIT_CHECK(c.ps->completed() >= target);
    }
  });
}

TEST_CASE("a hello with the wrong protocol version gets an error and is closed") {
  cluster c;
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s));
    p->channel->send(make_hello("w9", wire::PROTOCOL_VERSION + 1));
    WAIT_CHECK(p->ended);
    REQUIRE(p->got.size() == 1);
    CHECK(p->got[0].kind == wire::Envelope::ERROR);
    CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::protocol_violation));
    CHECK(p->got[0].text.find("protocol version") != std::string::npos);
    CHECK(net::is_end_of_stream(p->end));
    // The refused name took no slot: a worker of that name still joins (as the third).
    auto& w = c.add_worker("w9");
    WAIT_CHECK(w.worker_id() == 2);
    {
      const auto target = c.ps->completed() + 2;
      WAIT_CHECK(c.ps->completed() >= target);
    }
  });
}

TEST_CASE("a second connection claiming the name of a connected worker is refused") {
  cluster c;
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    {
      const auto target = c.ps->completed() + 1;
      WAIT_REQUIRE(c.ps->completed() >= target);
    }
    auto& first = *c.workers[0];
    const int id = first.worker_id();
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s));
    p->channel->send(make_hello("w0"));
    WAIT_CHECK(p->ended);
    REQUIRE(p->got.size() == 1);
    CHECK(p->got[0].kind == wire::Envelope::ERROR);
    CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::duplicate_peer));
    CHECK(p->got[0].text.find("already connected") != std::string::npos);
    // The first w0 is untouched: same id, still running, never lost.
    {
      const auto target = c.ps->completed() + 3;
      WAIT_CHECK(c.ps->completed() >= target);
    }
    CHECK(first.worker_id() == id);
    CHECK_FALSE(first.finished());
    CHECK(c.workers_lost() == 0);
  });
}

TEST_CASE("a hello when every worker slot is taken is refused") {
  cluster c;
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    c.add_worker("w2");
    WAIT_REQUIRE(c.joined(3));
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s));
    p->channel->send(make_hello("w3"));
    WAIT_CHECK(p->ended);
    REQUIRE(p->got.size() == 1);
    CHECK(p->got[0].code == static_cast<std::uint32_t>(core::errc::no_free_slot));
    CHECK(p->got[0].text.find("no free worker slot") != std::string::npos);
    // An empty name is refused too, before any slot is looked at.
    auto s2 = co_await connect_raw(c.port);
    auto q = adopt(std::move(s2));
    q->channel->send(make_hello(""));
    WAIT_CHECK(q->ended);
    REQUIRE(q->got.size() == 1);
    CHECK(q->got[0].code == static_cast<std::uint32_t>(core::errc::invalid_input));
    {
      const auto target = c.ps->completed() + 2;
      WAIT_CHECK(c.ps->completed() >= target);
    }
    CHECK(c.workers_lost() == 0);
  });
}

TEST_CASE("a sender that goes silent is dropped after the heartbeat misses and the ps re-signals") {
  // The honest workers take 60 ms per chunk, so the silent peer's instant Progress is part of
  // the first signalled state: the PS waits for its coded vector until it drops it.
  cluster_options o;
  o.first_iteration_workers = n;
  o.worker_delay = delay_model::fixed(60);
  cluster c(o);
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s));  // no heartbeats
    p->channel->send(make_hello("silent"));
    WAIT_REQUIRE(p->last_start().has_value());
    const auto it = *p->last_start();
    p->channel->send(make_progress(it, 2));
    const auto t0 = std::chrono::steady_clock::now();
    WAIT_REQUIRE(p->last_signal() != nullptr);
    CHECK(p->last_signal()->state.at(2) == 2);  // it is a sender of epoch 0
    WAIT_CHECK(p->ended);
    CHECK(std::chrono::steady_clock::now() - t0 >= heartbeat * misses - 20ms);
    WAIT_CHECK(!c.stats.empty());
    REQUIRE_FALSE(c.stats.empty());
    // The first iteration finished without it, from a second signal to the others.
    CHECK(c.stats[0].workers_lost == 1);
    CHECK(c.stats[0].epochs == 2);
    CHECK(c.stats[0].exact);
    CHECK(c.logged("silent"));
    {
      const auto target = c.ps->completed() + 2;
      WAIT_CHECK(c.ps->completed() >= target);
    }
  });
}

TEST_CASE("messages the protocol state does not expect are dropped or answered with an error") {
  // The honest workers take 150 ms per chunk, so an iteration lasts long enough for the peer's
  // messages to arrive while it runs.
  cluster_options o;
  o.first_iteration_workers = n;
  o.worker_delay = delay_model::fixed(150);
  cluster c(o);
  c.run([&]() -> awaitable<void> {
    c.start_honest_workers();
    WAIT_REQUIRE(c.joined(2));
    auto s = co_await connect_raw(c.port);
    auto p = adopt(std::move(s), true);
    p->channel->send(make_hello("rogue"));
    WAIT_REQUIRE(p->last_start() == std::uint64_t{0});
    const auto error_count = [p] { return p->errors().size(); };

    // Before any EncodeAndTransmit: a coded vector nobody asked for.
    p->channel->send(make_encoded(0, 0, 5));
    // Progress beyond the list, from the far future, and u32 max (negative as an int).
    p->channel->send(make_progress(0, 1000));
    p->channel->send(make_progress(1u << 30, 1));
    p->channel->send(make_progress(0, 0xffffffffu));
    // Messages only the PS sends.
    p->channel->send(make_welcome());
    p->channel->send(make_hello("rogue"));
    WAIT_REQUIRE(error_count() >= 6);
    const auto errors = p->errors();
    CHECK(errors[0].code == static_cast<std::uint32_t>(core::errc::protocol_violation));
    CHECK(errors[0].text.find("never asked") != std::string::npos);
    CHECK(errors[1].code == static_cast<std::uint32_t>(core::errc::invalid_input));
    CHECK(errors[1].text.find("outside") != std::string::npos);
    CHECK(errors[2].text.find("has not started") != std::string::npos);
    CHECK(errors[3].code == static_cast<std::uint32_t>(core::errc::invalid_input));
    CHECK(errors[4].text.find("unexpected welcome") != std::string::npos);
    CHECK(errors[5].text.find("unexpected hello") != std::string::npos);
    CHECK_FALSE(p->ended);  // errors, not a disconnect: the peer may still behave

    // Stale messages, once iteration 1 runs: dropped without a word.
    WAIT_REQUIRE(p->last_start() == std::uint64_t{1});
    p->channel->send(make_progress(0, 1));
    p->channel->send(make_encoded(0, 0, 5));
    WAIT_REQUIRE(p->last_start() == std::uint64_t{2});
    CHECK(error_count() == 6);
    CHECK_FALSE(p->ended);

    // A coded vector of the wrong length when it is awaited: Error, then the PS closes the
    // connection and the iteration finishes from the others.
    const auto lost_before = c.workers_lost();
    p->channel->send(make_progress(2, 2));
    WAIT_REQUIRE(p->last_signal() != nullptr && p->last_signal()->iteration == 2);
    const auto signal = *p->last_signal();
    REQUIRE(signal.state.at(2) == 2);
    p->channel->send(make_encoded(2, signal.epoch, 999));
    WAIT_CHECK(p->ended);
    const auto last = p->errors().back();
    CHECK(last.code == static_cast<std::uint32_t>(core::errc::invalid_input));
    CHECK(last.text.find("coded vector of length 999") != std::string::npos);
    {
      const auto target = c.ps->completed() + 2;
      WAIT_CHECK(c.ps->completed() >= target);
    }
    CHECK(c.workers_lost() == lost_before + 1);
  });
}
