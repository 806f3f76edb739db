// The parameter server's door: listening, the TLS handshake, admission of a Hello, the
// shared-memory socket, and what happens when a connection ends.
#include <algorithm>
#include <string>
#include <system_error>
#include <tuple>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "detail/ps_impl.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/endpoint.hpp"
#include "pgc/net/envelope.hpp"

namespace pgc::nodes {

namespace asio = net::asio;
namespace wire = net::wire;
using detail::ps_session;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

void parameter_server::impl::start_accepting() {
  const std::string where = opt_.listen.to_string();
  try {
    const net::tcp::endpoint ep(asio::ip::make_address(opt_.listen.host), opt_.listen.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
  } catch (const boost::system::system_error& ex) {
    throw std::system_error(ex.code(), "cannot listen on " + where);
  }
  port_ = acceptor_.local_endpoint().port();
}

void parameter_server::impl::start_services() {
  asio::co_spawn(ex_, accept_loop(shared_from_this()), logged("accept loop"));
  if (opt_.dashboard) start_dashboard();
  if (opt_.shared_memory) start_shared_memory();
  feed(ps_machine::model_ready{opt_.run.first_iteration});
}

void parameter_server::impl::start_shared_memory() {
  // A region holds a few Encoded messages: bounded by a few frames of the largest size.
  const std::size_t max_region_bytes = 4 * opt_.protocol.limits.max_frame_bytes + 4096;
  try {
    std::weak_ptr<impl> weak = shared_from_this();
    shm_.listener = net::shm_listener::start(
        ex_,
        [weak](const net::shm_listener::token& token, std::shared_ptr<net::shm_region> region) {
          const auto self = weak.lock();
          if (!self || !self->running()) return std::string("the PS is stopping");
          return self->take_region(token, std::move(region));
        },
        [log = log_](const std::string& line) { log.info(line); }, max_region_bytes);
  } catch (const std::exception& ex) {
    log_.warn(std::string("shared memory not offered: ") + ex.what());
  }
}

std::string parameter_server::impl::take_region(const net::shm_listener::token& token,
                                                std::shared_ptr<net::shm_region> region) {
  for (const auto& s : workers_) {
    if (!s || s->shm_token != token) continue;
    if (!s->is_open()) return "worker " + std::to_string(s->worker) + " is gone";
    log_.info("worker " + std::to_string(s->worker) + " '" + s->name + "' shares memory (" +
              std::to_string(region->slots()) + " slots of " +
              std::to_string(region->slot_words() * 8) + " bytes)");
    s->channel().accept_shared_memory(std::move(region));
    ++shm_.links;
    return {};
  }
  return "a token of no connected worker";
}

net::awaitable<void> parameter_server::impl::accept_loop(std::shared_ptr<impl> self) {
  asio::steady_timer pause(self->ex_);
  while (self->running()) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
    if (!self->running()) break;
    if (ec) {
      // Out of descriptors and the like: say so and retry shortly instead of spinning.
      self->log_.warn("accept: " + ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (self->tls_) {
      asio::co_spawn(self->ex_, tls_handshake(self, std::move(socket)),
                     self->logged("tls handshake"));
      continue;
    }
    self->open_session(net::channel::start(std::move(socket), self->session_options()));
  }
}

net::awaitable<void> parameter_server::impl::tls_handshake(std::shared_ptr<impl> self,
                                                           net::tcp::socket socket) {
  boost::system::error_code ignored;
  const auto peer = socket.remote_endpoint(ignored);
  const std::string from = net::endpoint{peer.address().to_string(), peer.port()}.to_string();
  const net::channel_options copt = self->session_options();
  std::shared_ptr<net::channel> ch;
  try {
    auto accepted =
        co_await net::tls_accept(std::move(socket), self->tls_, self->opt_.tls.handshake_timeout);
    if (auto* plain = std::get_if<net::tcp::socket>(&accepted)) {
      // A plain-TCP worker: tell it why in its own terms (an Error frame), so that it gives up
      // instead of reconnecting forever.
      if (self->running()) {
        self->log_.warn("refusing a connection from " + from + ": it does not speak TLS");
        self->monitor_.refused("a connection from " + from + " without TLS",
                               std::chrono::steady_clock::now());
      }
      auto refused = net::channel::start(std::move(*plain), copt);
      refused->send(detail::make_error(
          core::errc::unauthenticated,
          "this PS accepts TLS connections only: the worker needs --tls-ca (the CA of the PS "
          "certificate)"));
      refused->stop();
      co_return;
    }
    ch = net::channel::start(std::move(std::get<net::tls_stream_ptr>(accepted)), copt);
  } catch (const std::system_error& ex) {
    // Certificates that do not match, port scanners, plain clients that send nothing: this
    // connection ends, the PS serves everyone else.
    if (self->running()) self->log_.warn(ex.what());
    co_return;
  }
  if (!self->running()) {
    ch->close();
    co_return;
  }
  self->open_session(std::move(ch));
}

net::channel_options parameter_server::impl::session_options() const {
  net::channel_options copt;
  copt.limits = opt_.protocol.limits;
  copt.read_timeout = opt_.protocol.silence_limit();
  return copt;
}

void parameter_server::impl::open_session(std::shared_ptr<net::channel> channel) {
  auto session = std::make_shared<ps_session>(std::move(channel), !opt_.secret.empty());
  pending_.push_back(session);
  session->start(shared_from_this(), log_);
}

void parameter_server::impl::on_frame(const std::shared_ptr<ps_session>& session,
                                      std::shared_ptr<const net::frame> frame) {
  if (!running()) return;
  const auto e = frame->envelope();
  if (session->worker < 0) {
    if (e.which() != wire::Envelope::HELLO) {
      session->refuse(core::errc::protocol_violation, "expected hello");
      return;
    }
    on_hello(session, e.getHello());
    return;
  }
  const int w = session->worker;
  switch (e.which()) {
    case wire::Envelope::PROGRESS: {
      const auto p = e.getProgress();
      feed(ps_machine::progress{w, p.getIteration(), static_cast<int>(p.getChunksDone())}, session);
      break;
    }
    case wire::Envelope::ENCODED: {
      const auto m = e.getEncoded();
      feed(ps_machine::encoded{w, m.getIteration(), m.getEpoch(), {},
                               detail::payload_view(m, std::move(frame))},
           session);
      break;
    }
    case wire::Envelope::HEARTBEAT:
      break;
    case wire::Envelope::SHUTDOWN:
      session->stop();
      break;
    case wire::Envelope::ERROR:
      log_.warn("worker " + std::to_string(w) + " reports error " +
                std::to_string(e.getError().getCode()) + ": " + std::string(e.getError().getText()));
      break;
    default:
      session->send(detail::make_error(
          core::errc::protocol_violation,
          "unexpected " + std::string(net::kind_name(e.which())) + " from a worker"));
      break;
  }
}

void parameter_server::impl::on_hello(const std::shared_ptr<ps_session>& session,
                                      wire::Hello::Reader hello) {
  const auto h = detail::read_hello(hello, session->challenge);
  const auto verdict = admission_.admit(h);
  if (const auto* no = std::get_if<admission::refuse>(&verdict)) {
    // A refusal that heals (a name still connected, every slot held) repeats while the worker
    // backs off: the first line of each says so, the repeats are debug lines.
    const std::string line = "refusing " + session->peer() + ": " + no->text;
    if (no->retry) {
      log_.info(line + " (it will retry)");
    } else {
      log_.warn(line);
    }
    monitor_.refused(no->text, std::chrono::steady_clock::now());
    session->refuse(no->code, no->text);
    return;
  }
  const auto& yes = std::get<admission::accept>(verdict);
  std::erase(pending_, session);
  session->worker = yes.worker;
  session->name = h.name;
  std::copy(h.nonce.begin(), h.nonce.end(), session->hello_nonce.begin());
  session->shm_token = net::random_shm_token();
  workers_[static_cast<std::size_t>(yes.worker)] = session;
  session->start_heartbeat(opt_.protocol.heartbeat, log_);
  monitor_.admitted(yes.worker, h.name, std::chrono::steady_clock::now());
  if (!yes.replaced.empty()) {
    log_.info("the slot of worker " + std::to_string(yes.worker) + " ('" + yes.replaced +
              "', which left) goes to a newcomer");
  }
  log_.info("worker " + std::to_string(yes.worker) + " '" + h.name + "' joined from " +
            session->peer());
  feed(ps_machine::worker_joined{yes.worker}, session);
}

void parameter_server::impl::on_end(const std::shared_ptr<ps_session>& session,
                                    std::error_code code, const std::string& why) {
  std::erase(pending_, session);
  const int w = session->worker;
  if (w < 0) {
    // A connection that never joined: a TLS client at a plain PS shows as a bad frame header.
    if (!why.empty() && running()) {
      const bool tls_client =
          !tls_ && (code == core::errc::frame_too_large || code == core::errc::bad_message);
      log_.info("connection from " + session->peer() + " ended before joining: " + why +
                (tls_client ? " (a TLS client? this PS runs without --tls-cert)" : ""));
    }
    return;
  }
  auto& slot = workers_[static_cast<std::size_t>(w)];
  if (slot != session) return;  // closed by the machine (logged there), or already replaced
  slot = nullptr;
  admission_.left(w);
  if (!running()) return;
  // Every departure is logged, a clean close too (a killed worker's kernel closes it cleanly).
  log_.info("worker " + std::to_string(w) + " '" + session->name + "' left: " +
            (why.empty() ? std::string("connection closed") : why));
  feed(ps_machine::worker_lost{w});
}

}  // namespace pgc::nodes
