// The worker's coroutines: connecting with backoff, the reader of one connection (the channel's
// own writer does all writing) and its heartbeats.
#include <algorithm>
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
  copt.read_timeout = self->opt_.heartbeat * self->opt_.heartbeat_misses;
  if (!self->tls_) co_return net::channel::start(std::move(a->socket), copt);
  const auto& tls = self->opt_.tls;
  auto stream =
      co_await net::tls_connect(std::move(a->socket), self->tls_,
                                tls.server_name.empty() ? self->opt_.connect.host : tls.server_name,
                                tls.handshake_timeout);
  co_return net::channel::start(std::move(stream), copt);
}

net::awaitable<void> worker::impl::connect_loop(std::shared_ptr<impl> self) {
  int failures = 0;
  auto backoff = self->opt_.backoff_initial;
  while (!self->stopped_) {
    bool connected = false;
    try {
      auto ch = co_await connect_once(self);
      connected = true;
      failures = 0;
      backoff = self->opt_.backoff_initial;
      co_await run_connection(self, std::move(ch));
    } catch (const core::input_error& ex) {
      // The TLS handshake failed in a way a retry would repeat (net::tls_connect).
      self->log(ex.what());
      self->finish(std::current_exception());
      co_return;
    } catch (const std::system_error& ex) {
      if (connected) throw;
      if (++failures >= self->opt_.max_attempts) {
        self->finish(std::current_exception());
        co_return;
      }
      self->log(std::string(ex.what()) + "; retrying");
    }
    if (self->stopped_) break;
    self->backoff_.expires_after(backoff);
    co_await self->backoff_.async_wait(use_tuple);
    backoff = std::min(backoff * 2, self->opt_.backoff_max);
  }
  self->finish(self->failure_);
}

net::awaitable<void> worker::impl::run_connection(std::shared_ptr<impl> self,
                                                  std::shared_ptr<net::channel> ch) {
  ++self->generation_;
  self->channel_ = ch;
  self->shm_ = nullptr;  // a region belongs to one connection
  // Iteration numbers restart with a new PS; computations still running hold their own model.
  self->models_.clear();
  self->gradients_.clear();
  bool heard = false;  // a first message from the PS came through
  try {
    if (self->opt_.secret.empty()) {
      ch->send(detail::make_hello(self->opt_.name, nullptr, self->opt_.preferred_id));
    } else if (!co_await authenticate(self, *ch)) {
      self->channel_ = nullptr;
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
    if (!heard && net::is_tls_error(ex.code()) && !self->stopped_) {
      // The PS ended the TLS session before saying anything: with TLS 1.3 a PS that wants a
      // client certificate (mutual TLS) refuses one only after the worker's handshake is done.
      // Reconnecting would be refused again.
      const std::string problem = std::string("TLS: the PS refused the connection: ") + ex.what() +
                                  " (does it require a client certificate: --tls-cert, "
                                  "--tls-key signed by its --tls-ca?)";
      self->log(problem);
      self->failure_ = std::make_exception_ptr(core::input_error(problem));
      self->stopped_ = true;
    } else if (!net::is_orderly_end(ex.code()) && !self->stopped_) {
      self->log(std::string("connection ended: ") + ex.what());
    }
  }
  // A read error has closed the channel already; after stop() its writer is still draining.
  self->channel_ = nullptr;
  self->shm_ = nullptr;
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
      std::copy(n.begin(), n.end(), self->ps_nonce_.begin());
      self->hello_nonce_ = net::random_nonce();
      detail::hello_auth auth{self->hello_nonce_,
                              net::hello_mac(self->opt_.secret, self->ps_nonce_,
                                             self->hello_nonce_, self->opt_.name)};
      ch.send(detail::make_hello(self->opt_.name, &auth, self->opt_.preferred_id));
      co_return true;
    }
    problem = "the PS sent " + std::string(net::kind_name(e.which())) + " instead of a challenge";
  } catch (const std::system_error& ex) {
    if (ex.code() != core::errc::timeout) throw;
    problem =
        "the PS sent no challenge: it runs without a shared secret (--secret-file), or it "
        "accepts TLS connections only (--tls-ca)";
  }
  self->log("authentication: " + problem);
  self->failure_ = std::make_exception_ptr(core::input_error("authentication: " + problem));
  self->stopped_ = true;
  ch.close();
  co_return false;
}

void worker::impl::on_message(wire::Envelope::Reader e) {
  switch (e.which()) {
    case wire::Envelope::WELCOME: {
      try {
        auto info = detail::read_welcome(e.getWelcome());
        if (!opt_.secret.empty()) {
          const auto mac = e.getWelcome().getMac();
          const auto expected = net::welcome_mac(opt_.secret, hello_nonce_, ps_nonce_,
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
                                  " chunks, the gradient source " +
                                  std::to_string(source_->chunks()));
        }
        code_ = code;
        worker_id_ = info.worker;
        dimension_ = info.dimension;
        precision_ = info.precision;
        feed(worker_machine::welcome{worker_config{info.worker, std::move(code), info.dimension}});
        if (info.shared_memory && opt_.shared_memory && channel_ && !shm_) {
          start_sharing(*info.shared_memory);
        }
      } catch (const core::input_error& ex) {
        // A configuration this worker cannot serve: retrying would not change it.
        log(std::string("unusable welcome: ") + ex.what());
        send(detail::make_error(core::errc::invalid_input, ex.what()));
        failure_ = std::current_exception();
        stopped_ = true;
        if (channel_) channel_->stop();
      }
      break;
    }
    case wire::Envelope::START_ITERATION: {
      const auto s = e.getStartIteration();
      const auto model = s.getModel();
      if (static_cast<int>(model.size()) != dimension_) {
        send(detail::make_error(core::errc::invalid_input,
                                "model of length " + std::to_string(model.size()) + ", expected " +
                                    std::to_string(dimension_)));
        break;
      }
      // A resume repeats the model; computations in flight keep the pointer they started with.
      auto m = std::make_shared<Eigen::VectorXd>(dimension_);
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
      feed(worker_machine::shutdown{});
      break;
    case wire::Envelope::ERROR:
      log("ps reports error " + std::to_string(e.getError().getCode()) + ": " +
          std::string(e.getError().getText()));
      if (e.getError().getCode() == static_cast<std::uint32_t>(core::errc::unauthenticated)) {
        // Refused for the secret: reconnecting would be refused again.
        failure_ = std::make_exception_ptr(
            core::input_error("the PS refused authentication: " +
                              std::string(e.getError().getText())));
        stopped_ = true;
        if (channel_) channel_->stop();
      }
      break;
    case wire::Envelope::CHALLENGE:
      log("the PS requires a shared secret (--secret-file); this worker has none");
      break;
    default:
      send(detail::make_error(
          core::errc::protocol_violation,
          "unexpected " + std::string(net::kind_name(e.which())) + " from the ps"));
      break;
  }
}

void worker::impl::start_sharing(const detail::shm_offer& offer) {
  // Room for this worker's Encoded message; a few slots, so replies the PS still holds (an
  // older epoch, a decode in progress) do not send the next one back to the socket.
  constexpr std::size_t slots = 3;
  const int block = coding::block_layout{dimension_, code_->ell()}.block();
  const auto words = net::list_message_words(
      static_cast<std::size_t>(block),
      precision_ == wire_precision::f32 ? sizeof(float) : sizeof(double));
  std::shared_ptr<net::shm_region> region;
  try {
    region = net::shm_region::create(slots, words);
  } catch (const std::exception& ex) {
    log(std::string("shared memory not used: ") + ex.what());
    return;
  }
  asio::co_spawn(ex_, share_memory(shared_from_this(), channel_, offer, std::move(region)),
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
      self->log(std::string("shared memory not used: ") + ex.what());
    }
    co_return;
  }
  // Still the same connection: from now on its coded vectors travel by reference.
  if (self->channel_ != ch || !ch->is_open()) co_return;
  ch->use_shared_memory(region);
  self->shm_ = std::move(region);  // the PS logs it
}

net::awaitable<void> worker::impl::heartbeat_loop(std::shared_ptr<impl> self,
                                                  std::shared_ptr<net::channel> channel) {
  asio::steady_timer timer(self->ex_);
  while (channel->is_open() && !self->stopped_) {
    timer.expires_after(self->opt_.heartbeat);
    co_await timer.async_wait(use_tuple);
    if (!channel->is_open() || self->stopped_) break;
    channel->send(detail::make_heartbeat());
  }
}

}  // namespace pgc::nodes
