// The worker's coroutines: connecting with backoff, the reader of one connection (the channel's
// own writer does all writing) and its heartbeats.
#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <system_error>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "detail/worker_impl.hpp"
#include "pgc/coding/scheme.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/segment_pool.hpp"
#include "pgc/net/shared_memory.hpp"
#include "pgc/net/envelope.hpp"

namespace pgc::nodes {

namespace asio = net::asio;
namespace wire = net::wire;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// What a connect attempt's watchdog may cancel: shared with its timer handler.
struct attempt {
  explicit attempt(const asio::any_io_executor& ex) : resolver(ex), socket(ex) {}
  net::tcp::resolver resolver;
  net::tcp::socket socket;
  bool finished = false;
};

}  // namespace

net::awaitable<std::shared_ptr<net::channel>> worker::impl::connect_once(
    std::shared_ptr<impl> self) {
  auto a = std::make_shared<attempt>(self->ex_);
  asio::steady_timer watchdog(self->ex_);
  watchdog.expires_after(self->opt_.connect_timeout);
  watchdog.async_wait([a](const boost::system::error_code& ec) {
    if (ec || a->finished) return;
    a->resolver.cancel();
    boost::system::error_code ignored;
    a->socket.close(ignored);
  });
  auto [rec, results] = co_await a->resolver.async_resolve(
      self->opt_.connect.host, std::to_string(self->opt_.connect.port), use_tuple);
  if (rec) {
    a->finished = true;
    watchdog.cancel();
    throw std::system_error(rec, "resolving " + self->opt_.connect.to_string());
  }
  auto [cec, ep] = co_await asio::async_connect(a->socket, results, use_tuple);
  a->finished = true;
  watchdog.cancel();
  if (cec) throw std::system_error(cec, "connecting to " + self->opt_.connect.to_string());
  net::channel_options copt;
  copt.limits = self->opt_.limits;
  // Until Welcome tells the PS's heartbeat: our own, but never shorter than the handshake may
  // take on a busy PS.
  copt.read_timeout = std::max<std::chrono::milliseconds>(
      self->opt_.heartbeat * self->opt_.heartbeat_misses, std::chrono::seconds(5));
  if (!self->tls_) co_return net::channel::start(std::move(a->socket), copt);
  const auto& tls = self->opt_.tls;
  auto stream =
      co_await net::tls_connect(std::move(a->socket), self->tls_,
                                tls.server_name.empty() ? self->opt_.connect.host : tls.server_name,
                                tls.handshake_timeout);
  co_return net::channel::start(std::move(stream), copt);
}

net::awaitable<void> worker::impl::connect_loop(std::shared_ptr<impl> self) {
  using clock = std::chrono::steady_clock;
  const auto& opt = self->opt_;
  auto backoff = opt.backoff_initial;
  // Since the last Welcome (or the start): the PS has been away this long.
  auto away_since = clock::now();
  bool said_waiting = false;
  while (self->running()) {
    std::string problem;
    try {
      auto ch = co_await connect_once(self);
      co_await run_connection(self, std::move(ch));
    } catch (const core::input_error& ex) {
      // The TLS handshake failed in a way a retry would repeat (net::tls_connect).
      self->give_up(ex.what());
    } catch (const std::system_error& ex) {
      problem = ex.what();
    }
    if (!self->running()) break;
    const auto now = clock::now();
    if (self->conn_.welcomed) {
      // The backoff starts again only after a Welcome: a bare TCP connect to a PS that then
      // refuses us is no reason to hammer it.
      backoff = opt.backoff_initial;
      away_since = now;
      said_waiting = false;
    }
    const auto away = std::chrono::duration_cast<std::chrono::milliseconds>(now - away_since);
    if (away >= opt.reconnect_timeout) {
      self->give_up("no usable PS at " + opt.connect.to_string() + " for " +
                    std::to_string(away.count() / 1000) + " s (--reconnect-timeout " +
                    std::to_string(opt.reconnect_timeout.count() / 1000) + " s): giving up" +
                    (problem.empty() ? "" : " (" + problem + ")"));
      break;
    }
    // Full jitter in [backoff / 2, backoff]: workers refused together do not return together.
    std::uniform_int_distribution<long long> jitter(backoff.count() / 2, backoff.count());
    const std::chrono::milliseconds wait{jitter(self->jitter_rng_)};
    const std::string retry = "retrying in " + std::to_string(wait.count()) + " ms";
    if (!self->conn_.refusal.empty()) {
      self->log_.info("the PS refused us: " + self->conn_.refusal + "; backing off, " + retry);
    } else if (!said_waiting) {
      said_waiting = true;
      self->log_.info((problem.empty() ? std::string("lost the PS") : problem) +
                      "; waiting for the PS at " + opt.connect.to_string() + " for up to " +
                      std::to_string(opt.reconnect_timeout.count() / 1000) + " s, " + retry);
    } else {
      self->log_.debug((problem.empty() ? std::string("no PS") : problem) + "; " + retry);
    }
    self->backoff_.expires_after(wait);
    co_await self->backoff_.async_wait(use_tuple);
    backoff = std::min(backoff * 2, opt.backoff_max);
  }
  self->finish(self->failure_);
}

net::awaitable<void> worker::impl::run_connection(std::shared_ptr<impl> self,
                                                  std::shared_ptr<net::channel> ch) {
  auto& conn = self->conn_;
  ++conn.generation;
  conn.channel = ch;
  conn.shm = nullptr;  // a region belongs to one connection
  conn.welcomed = false;
  conn.refusal.clear();
  // Iteration numbers restart with a new PS; computations still running hold their own model.
  self->models_.clear();
  self->gradients_.clear();
  bool heard = false;  // a first message from the PS came through
  try {
    if (self->opt_.secret.empty()) {
      ch->send(detail::make_hello(self->opt_.name, nullptr, self->opt_.preferred_id,
                                  self->opt_.fingerprint));
    } else if (!co_await authenticate(self, *ch)) {
      conn.channel = nullptr;
      co_return;
    } else {
      heard = true;
    }
    asio::co_spawn(self->ex_, heartbeat_loop(self, ch), self->logged("heartbeat loop"));
    while (ch->is_open()) {
      auto f = co_await ch->read();
      heard = true;
      self->on_message(f.envelope());
    }
  } catch (const std::system_error& ex) {
    if (!heard && net::is_tls_error(ex.code()) && self->running()) {
      // The PS ended the TLS session before saying anything: with TLS 1.3 a PS that wants a
      // client certificate (mutual TLS) refuses one only after the worker's handshake is done.
      // Reconnecting would be refused again.
      self->give_up(std::string("TLS: the PS refused the connection: ") + ex.what() +
                    " (does it require a client certificate: --tls-cert, --tls-key signed by "
                    "its --tls-ca?)");
    } else if (!net::is_orderly_end(ex.code()) && self->running()) {
      self->log_.warn(std::string("connection to the PS ended: ") + ex.what());
    }
  }
  if (conn.welcomed && self->running() && conn.refusal.empty()) {
    self->log_.info("disconnected from the PS");
  }
  // A read error has closed the channel already; after stop() its writer is still draining.
  conn.channel = nullptr;
  conn.heartbeat = nullptr;
  conn.shm = nullptr;
  self->feed(worker_machine::connection_lost{});
}

net::awaitable<bool> worker::impl::authenticate(std::shared_ptr<impl> self, net::channel& ch) {
  // With a secret the PS speaks first. Anything but its Challenge is the wrong PS (or one without
  // the secret), which retrying will not fix.
  std::string problem;
  try {
    auto f = co_await ch.read();
    const auto e = f.envelope();
    if (e.which() == wire::Envelope::CHALLENGE) {
      const auto n = e.getChallenge().getNonce();
      auto& conn = self->conn_;
      std::copy(n.begin(), n.end(), conn.ps_nonce.begin());
      conn.hello_nonce = net::random_nonce();
      detail::hello_auth auth{conn.hello_nonce,
                              net::hello_mac(self->opt_.secret, conn.ps_nonce, conn.hello_nonce,
                                             self->opt_.name)};
      ch.send(detail::make_hello(self->opt_.name, &auth, self->opt_.preferred_id,
                                 self->opt_.fingerprint));
      co_return true;
    }
    problem = "the PS sent " + std::string(net::kind_name(e.which())) + " instead of a challenge";
  } catch (const std::system_error& ex) {
    // A PS without a secret waits for our Hello and hangs up on silence (or we time out first).
    if (ex.code() != core::errc::timeout && !net::is_end_of_stream(ex.code())) throw;
    problem =
        "the PS sent no challenge: it runs without a shared secret (--secret-file), or it "
        "accepts TLS connections only (--tls-ca)";
  }
  self->give_up("authentication: " + problem);
  ch.close();
  co_return false;
}

void worker::impl::on_message(wire::Envelope::Reader e) {
  switch (e.which()) {
    case wire::Envelope::WELCOME:
      on_welcome(e.getWelcome());
      break;
    case wire::Envelope::START_ITERATION: {
      const auto s = e.getStartIteration();
      const auto model = s.getModel();
      if (static_cast<int>(model.size()) != session_.dimension) {
        send(detail::make_error(core::errc::invalid_input,
                                "model of length " + std::to_string(model.size()) + ", expected " +
                                    std::to_string(session_.dimension)));
        break;
      }
      // A resume repeats the model; computations in flight keep the pointer they started with.
      auto m = std::make_shared<Eigen::VectorXd>(session_.dimension);
      for (unsigned k = 0; k < model.size(); ++k)
        (*m)(static_cast<Eigen::Index>(k)) = model[k];
      models_[s.getIteration()] = std::move(m);
      feed(worker_machine::start_iteration{s.getIteration()});
      break;
    }
    case wire::Envelope::ENCODE_AND_TRANSMIT: {
      const auto m = e.getEncodeAndTransmit();
      feed(worker_machine::encode_and_transmit{m.getIteration(), m.getEpoch(),
                                               detail::read_state(m.getState())});
      break;
    }
    case wire::Envelope::HEARTBEAT:
      break;
    case wire::Envelope::SHUTDOWN:
      log_.info("the PS ends the run: " + std::string(e.getShutdown().getReason()));
      feed(worker_machine::shutdown{});
      break;
    case wire::Envelope::ERROR:
      on_error(e.getError());
      break;
    case wire::Envelope::CHALLENGE:
      // Its refusal of our Hello follows, and ends the worker.
      log_.warn("the PS requires a shared secret (--secret-file); this worker has none");
      break;
    default:
      send(detail::make_error(
          core::errc::protocol_violation,
          "unexpected " + std::string(net::kind_name(e.which())) + " from the ps"));
      break;
  }
}

void worker::impl::on_welcome(wire::Welcome::Reader w) {
  try {
    auto info = detail::read_welcome(w);
    if (!opt_.secret.empty()) {
      const auto mac = w.getMac();
      const auto expected = net::welcome_mac(opt_.secret, conn_.hello_nonce, conn_.ps_nonce,
                                             static_cast<std::uint32_t>(info.worker));
      if (!net::same_mac(std::span<const std::uint8_t>(mac.begin(), mac.size()), expected)) {
        throw core::input_error("the PS failed authentication (a different secret)");
      }
    }
    if (info.dimension != source_->dimension()) {
      throw core::input_error("dimension " + std::to_string(info.dimension) +
                              " differs from the gradient source's " +
                              std::to_string(source_->dimension()));
    }
    auto code = make_scheme(info.spec);
    if (code->chunks() != source_->chunks()) {
      throw core::input_error("the scheme has " + std::to_string(code->chunks()) +
                              " chunks, the gradient source " + std::to_string(source_->chunks()));
    }
    session_.code = code;
    session_.worker_id = info.worker;
    session_.dimension = info.dimension;
    session_.precision = info.precision;
    // The PS decides the heartbeat; our own setting covered only the time before Welcome.
    if (info.heartbeat.count() > 0) session_.heartbeat = info.heartbeat;
    if (info.heartbeat_misses > 0) session_.heartbeat_misses = info.heartbeat_misses;
    if (conn_.channel) {
      conn_.channel->set_read_timeout(session_.heartbeat * session_.heartbeat_misses);
    }
    // The heartbeat loop may sleep on our own, longer interval: wake it to follow the PS's.
    if (conn_.heartbeat) conn_.heartbeat->cancel();
    conn_.welcomed = true;
    log_.info("joined as worker " + std::to_string(info.worker) + " (heartbeat " +
              std::to_string(session_.heartbeat.count()) + " ms)");
    feed(worker_machine::welcome{worker_config{info.worker, std::move(code), info.dimension}});
    if (info.shared_memory && opt_.shared_memory && conn_.channel && !conn_.shm) {
      start_sharing(*info.shared_memory);
    }
  } catch (const core::input_error& ex) {
    // A configuration this worker cannot serve: retrying would not change it.
    send(detail::make_error(core::errc::invalid_input, ex.what()));
    give_up(std::string("unusable welcome: ") + ex.what());
  }
}

void worker::impl::on_error(wire::Error::Reader e) {
  const auto code = static_cast<core::errc>(e.getCode());
  const std::string text = e.getText();
  if (!conn_.welcomed) {
    // The PS refused our Hello. A name still connected (our previous connection, not yet seen
    // gone) or every slot held may change; anything else (another workload, the secret, the
    // protocol version) will not.
    if (code == core::errc::duplicate_peer || code == core::errc::no_free_slot ||
        code == core::errc::unknown_peer) {
      conn_.refusal = text;
      return;
    }
    give_up((code == core::errc::unauthenticated ? "the PS refused authentication: "
                                                 : "the PS refused this worker: ") +
            text);
    return;
  }
  log_.warn("the PS reports error " + std::to_string(e.getCode()) + ": " + text);
  if (code == core::errc::unauthenticated) {
    give_up("the PS refused authentication: " + text);
  }
}

void worker::impl::start_sharing(const detail::shm_offer& offer) {
  // Room for this worker's Encoded message; a few slots, so replies the PS still holds (an
  // older epoch, a decode in progress) do not send the next one back to the socket.
  constexpr std::size_t slots = 3;
  const int block = coding::block_layout{session_.dimension, session_.code->ell()}.block();
  const auto words = net::list_message_words(
      static_cast<std::size_t>(block),
      session_.precision == wire_precision::f32 ? sizeof(float) : sizeof(double));
  std::shared_ptr<net::shm_region> region;
  try {
    region = net::shm_region::create(slots, words);
  } catch (const std::exception& ex) {
    log_.warn(std::string("shared memory not used: ") + ex.what());
    return;
  }
  asio::co_spawn(ex_, share_memory(shared_from_this(), conn_.channel, offer, std::move(region)),
                 logged("shared memory hand-over"));
}

net::awaitable<void> worker::impl::share_memory(std::shared_ptr<impl> self,
                                                std::shared_ptr<net::channel> ch,
                                                detail::shm_offer offer,
                                                std::shared_ptr<net::shm_region> region) {
  try {
    co_await net::hand_over_region(offer.socket, offer.token, region, std::chrono::seconds(5));
  } catch (const std::system_error& ex) {
    // Another host or network namespace has no such socket: the normal case there, not news.
    if (ex.code() != std::errc::connection_refused &&
        ex.code() != std::errc::no_such_file_or_directory) {
      self->log_.warn(std::string("shared memory not used: ") + ex.what());
    }
    co_return;
  }
  // Still the same connection: from now on its coded vectors travel by reference.
  if (self->conn_.channel != ch || !ch->is_open()) co_return;
  ch->use_shared_memory(region);
  self->conn_.shm = std::move(region);  // the PS logs it
}

net::awaitable<void> worker::impl::heartbeat_loop(std::shared_ptr<impl> self,
                                                  std::shared_ptr<net::channel> channel) {
  auto timer = std::make_shared<asio::steady_timer>(self->ex_);
  self->conn_.heartbeat = timer;  // Welcome cancels the wait: a heartbeat now, then its interval
  while (channel->is_open() && self->running()) {
    // Read every time: Welcome replaces our interval with the PS's.
    timer->expires_after(self->session_.heartbeat);
    co_await timer->async_wait(use_tuple);
    if (!channel->is_open() || !self->running()) break;
    channel->send(detail::make_heartbeat());
  }
}

}  // namespace pgc::nodes
