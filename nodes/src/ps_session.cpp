// The parameter server's coroutines: the accept loop, one reader per connection (the channel's
// own writer does all writing) and the heartbeat loop.
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

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

}  // namespace

void parameter_server::impl::start_accepting() {
  const net::tcp::endpoint ep(asio::ip::make_address(opt_.listen.host), opt_.listen.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(net::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  auto self = shared_from_this();
  asio::co_spawn(ex_, accept_loop(self), logged("ps accept loop"));
  asio::co_spawn(ex_, heartbeat_loop(self), logged("ps heartbeat loop"));
  if (opt_.dashboard) start_dashboard();
  if (opt_.shared_memory) start_shared_memory();
  feed(ps_machine::model_ready{opt_.first_iteration});
}

void parameter_server::impl::start_shared_memory() {
  // A region holds a few Encoded messages: bounded by a few frames of the largest size.
  const std::size_t max_region_bytes = 4 * opt_.limits.max_frame_bytes + 4096;
  try {
    std::weak_ptr<impl> weak = shared_from_this();
    shm_listener_ = net::shm_listener::start(
        ex_,
        [weak](const net::shm_listener::token& token, std::shared_ptr<net::shm_region> region) {
          const auto self = weak.lock();
          if (!self || self->stopped_) return std::string("the PS is stopping");
          return self->take_region(token, std::move(region));
        },
        [weak](const std::string& line) {
          if (const auto self = weak.lock()) self->log(line);
        },
        max_region_bytes);
    welcome_.shm_socket = shm_listener_->name();
  } catch (const std::exception& ex) {
    log(std::string("shared memory not offered: ") + ex.what());
  }
}

std::string parameter_server::impl::take_region(const net::shm_listener::token& token,
                                                std::shared_ptr<net::shm_region> region) {
  for (const auto& s : workers_) {
    if (!s || s->shm_token != token) continue;
    if (!s->channel->is_open()) return "worker " + std::to_string(s->worker) + " is gone";
    log("worker " + std::to_string(s->worker) + " '" + s->name + "' shares memory (" +
        std::to_string(region->slots()) + " slots of " +
        std::to_string(region->slot_words() * 8) + " bytes)");
    s->channel->accept_shared_memory(std::move(region));
    ++shm_links_;
    return {};
  }
  return "a token of no connected worker";
}

net::awaitable<void> parameter_server::impl::accept_loop(std::shared_ptr<impl> self) {
  asio::steady_timer pause(self->ex_);
  while (!self->stopped_) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(use_tuple);
    if (self->stopped_) break;
    if (ec) {
      // Out of descriptors and the like: say so and retry shortly instead of spinning.
      self->log("accept: " + ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (self->tls_) {
      asio::co_spawn(self->ex_, tls_handshake(self, std::move(socket)),
                     self->logged("ps tls handshake"));
      continue;
    }
    self->open_session(net::channel::start(std::move(socket), self->session_options()));
  }
}

net::channel_options parameter_server::impl::session_options() const {
  net::channel_options copt;
  copt.limits = opt_.limits;
  copt.read_timeout = opt_.heartbeat * opt_.heartbeat_misses;
  return copt;
}

void parameter_server::impl::open_session(std::shared_ptr<net::channel> channel) {
  auto session = std::make_shared<ps_session>();
  session->channel = std::move(channel);
  if (!opt_.secret.empty()) {
    session->challenge = net::random_nonce();
    session->channel->send(detail::make_challenge(session->challenge));
  }
  pending_.push_back(session);
  asio::co_spawn(ex_, session_loop(shared_from_this(), session), logged("ps session"));
}

net::awaitable<void> parameter_server::impl::tls_handshake(std::shared_ptr<impl> self,
                                                           net::tcp::socket socket) {
  boost::system::error_code ignored;
  const auto peer = socket.remote_endpoint(ignored);
  const std::string from = net::endpoint{peer.address().to_string(), peer.port()}.to_string();
  std::shared_ptr<net::channel> ch;
  try {
    auto accepted =
        co_await net::tls_accept(std::move(socket), self->tls_, self->opt_.tls.handshake_timeout);
    if (auto* plain = std::get_if<net::tcp::socket>(&accepted)) {
      // A plain-TCP worker: tell it why in its own terms (an Error frame), so that it gives up
      // instead of reconnecting forever.
      const std::string text =
          "this PS accepts TLS connections only: the worker needs --tls-ca (the CA of the PS "
          "certificate)";
      if (!self->stopped_) {
        self->log("refusing a connection from " + from + ": it does not speak TLS");
        self->monitor_.refused("a connection from " + from + " without TLS",
                               std::chrono::steady_clock::now());
      }
      auto refused = net::channel::start(std::move(*plain), self->session_options());
      refused->send(detail::make_error(core::errc::unauthenticated, text));
      refused->stop();
      co_return;
    }
    ch = net::channel::start(std::move(std::get<net::tls_stream_ptr>(accepted)),
                             self->session_options());
  } catch (const std::system_error& ex) {
    // Certificates that do not match, port scanners, plain clients that send nothing: this
    // connection ends, the PS serves everyone else.
    if (!self->stopped_) self->log(ex.what());
    co_return;
  }
  if (self->stopped_) {
    ch->close();
    co_return;
  }
  self->open_session(std::move(ch));
}

net::awaitable<void> parameter_server::impl::session_loop(std::shared_ptr<impl> self,
                                                          std::shared_ptr<ps_session> session) {
  auto& ch = *session->channel;
  try {
    while (ch.is_open() && !self->stopped_) {
      // Shared: an Encoded frame is kept until its payload is decoded, in place.
      const auto f = std::make_shared<const net::frame>(co_await ch.read());
      const auto e = f->envelope();
      if (session->worker < 0) {
        if (e.which() != wire::Envelope::HELLO) {
          ch.send(detail::make_error(core::errc::protocol_violation, "expected hello"));
          ch.stop();
          break;
        }
        if (!self->admit(session, e.getHello())) break;
        continue;
      }
      self->on_message(session, e, f);
    }
  } catch (const std::system_error& ex) {
    const auto code = ex.code();
    if (code == core::errc::frame_too_large || code == core::errc::bad_message) {
      // Sending still works after a bad frame: tell the peer why before hanging up.
      ch.send(detail::make_error(static_cast<core::errc>(code.value()), ex.what()));
      ch.stop();
    }
    if (!net::is_orderly_end(code) && !self->stopped_) {
      // A TLS client's handshake read as a frame header is what a plain PS sees of it.
      const bool tls_client = !self->tls_ && session->worker < 0 &&
                              (code == core::errc::frame_too_large || code == core::errc::bad_message);
      self->log("connection from " + session->name + " (worker " + std::to_string(session->worker) +
                ") ended: " + ex.what() +
                (tls_client ? " (a TLS client? this PS runs without --tls-cert)" : ""));
    }
  }
  self->on_session_end(session);
}

bool parameter_server::impl::admit(const std::shared_ptr<ps_session>& session,
                                   wire::Hello::Reader hello) {
  auto& ch = *session->channel;
  const auto refuse = [&](core::errc code, const std::string& text) {
    log("refusing a connection: " + text);
    monitor_.refused(text, std::chrono::steady_clock::now());
    ch.send(detail::make_error(code, text));
    ch.stop();
    return false;
  };
  if (hello.getProtocolVersion() != wire::PROTOCOL_VERSION) {
    return refuse(
        core::errc::protocol_violation,
        "protocol version " + std::to_string(hello.getProtocolVersion()) + " is not supported");
  }
  const std::string name = hello.getWorkerName();
  if (name.empty()) return refuse(core::errc::invalid_input, "empty worker name");
  if (!opt_.secret.empty()) {
    const auto nonce = hello.getNonce();
    const auto mac = hello.getMac();
    if (nonce.size() != net::nonce_bytes || mac.size() == 0) {
      return refuse(core::errc::unauthenticated,
                    "'" + name + "' did not authenticate: this PS needs the shared secret "
                    "(--secret-file)");
    }
    std::copy(nonce.begin(), nonce.end(), session->hello_nonce.begin());
    const auto expected =
        net::hello_mac(opt_.secret, session->challenge, session->hello_nonce, name);
    if (!net::same_mac(std::span<const std::uint8_t>(mac.begin(), mac.size()), expected)) {
      return refuse(core::errc::unauthenticated,
                    "'" + name + "' failed authentication (a different secret)");
    }
  }
  // A name keeps its id across reconnects; a new name takes the first unused id.
  auto it = std::find(names_.begin(), names_.end(), name);
  // A new name gets the id it asks for when that one is unused, else the first unused one.
  const int preferred = hello.getPreferredId();
  if (it == names_.end() && preferred >= 0 && preferred < static_cast<int>(names_.size()) &&
      names_[static_cast<std::size_t>(preferred)].empty()) {
    it = names_.begin() + preferred;
  }
  if (it == names_.end()) it = std::find(names_.begin(), names_.end(), std::string());
  if (it == names_.end()) {
    return refuse(core::errc::unknown_peer, "no free worker slot for '" + name + "'");
  }
  const auto id = static_cast<std::size_t>(it - names_.begin());
  if (workers_[id]) {
    return refuse(core::errc::duplicate_peer, "worker '" + name + "' is already connected");
  }
  std::erase(pending_, session);
  session->worker = static_cast<int>(id);
  session->shm_token = net::random_shm_token();
  session->name = name;
  names_[id] = name;
  workers_[id] = session;
  monitor_.admitted(static_cast<int>(id), name, std::chrono::steady_clock::now());
  {
    const auto& from = ch.remote_endpoint();
    log("worker " + std::to_string(id) + " '" + name + "' joined from " +
        net::endpoint{from.address().to_string(), from.port()}.to_string());
  }
  feed(ps_machine::worker_joined{static_cast<int>(id)}, session);
  return true;
}

void parameter_server::impl::on_message(const std::shared_ptr<ps_session>& session,
                                        wire::Envelope::Reader e,
                                        std::shared_ptr<const net::frame> frame) {
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
      session->channel->stop();
      break;
    case wire::Envelope::ERROR:
      log("worker " + std::to_string(w) + " reports error " +
          std::to_string(e.getError().getCode()) + ": " + std::string(e.getError().getText()));
      break;
    default:
      session->channel->send(detail::make_error(
          core::errc::protocol_violation,
          "unexpected " + std::string(net::kind_name(e.which())) + " from a worker"));
      break;
  }
}

void parameter_server::impl::on_session_end(const std::shared_ptr<ps_session>& session) {
  std::erase(pending_, session);
  const int w = session->worker;
  if (w < 0) return;
  auto& slot = workers_[static_cast<std::size_t>(w)];
  if (slot != session) return;  // closed by the machine, or already replaced
  slot = nullptr;
  if (!stopped_) feed(ps_machine::worker_lost{w});
}

net::awaitable<void> parameter_server::impl::heartbeat_loop(std::shared_ptr<impl> self) {
  while (!self->stopped_) {
    self->heartbeat_timer_.expires_after(self->opt_.heartbeat);
    co_await self->heartbeat_timer_.async_wait(use_tuple);
    if (self->stopped_) break;
    for (auto& s : self->workers_) {
      if (s && s->channel->is_open()) s->channel->send(detail::make_heartbeat());
    }
  }
}

}  // namespace pgc::nodes
