// A parameter server's connection: its reader (the channel's own writer does all writing) and
// its heartbeat.
#include "detail/ps_session.hpp"

#include <system_error>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "detail/spawn_logger.hpp"
#include "pgc/net/endpoint.hpp"

namespace pgc::nodes::detail {

namespace asio = net::asio;

ps_session::ps_session(std::shared_ptr<net::channel> channel, bool challenge)
    : channel_(std::move(channel)), heartbeat_(channel_->get_executor()) {
  if (challenge) {
    this->challenge = net::random_nonce();
    channel_->send(make_challenge(this->challenge));
  }
}

void ps_session::start(std::shared_ptr<owner> owner, const core::logger& log) {
  asio::co_spawn(channel_->get_executor(), read_loop(shared_from_this(), std::move(owner)),
                 spawn_logger{log, "session reader"});
}

void ps_session::start_heartbeat(std::chrono::milliseconds interval, const core::logger& log) {
  asio::co_spawn(channel_->get_executor(), heartbeat_loop(shared_from_this(), interval),
                 spawn_logger{log, "session heartbeat"});
}

void ps_session::refuse(core::errc code, const std::string& text) {
  channel_->send(make_error(code, text));
  channel_->stop();
}

std::string ps_session::peer() const {
  const auto& ep = channel_->remote_endpoint();
  return net::endpoint{ep.address().to_string(), ep.port()}.to_string();
}

net::awaitable<void> ps_session::read_loop(std::shared_ptr<ps_session> self,
                                           std::shared_ptr<owner> owner) {
  auto& ch = *self->channel_;
  std::error_code end;
  std::string why;
  try {
    while (ch.is_open()) {
      // Shared: an Encoded frame is kept until its payload is decoded, in place.
      auto f = std::make_shared<const net::frame>(co_await ch.read());
      owner->on_frame(self, std::move(f));
    }
  } catch (const std::system_error& ex) {
    const auto code = ex.code();
    if (code == core::errc::frame_too_large || code == core::errc::bad_message) {
      // Sending still works after a bad frame: tell the peer why before hanging up.
      self->refuse(static_cast<core::errc>(code.value()), ex.what());
    }
    if (!net::is_orderly_end(code)) {
      end = code;
      why = ex.what();
    }
  }
  self->heartbeat_.cancel();
  owner->on_end(self, end, why);
}

net::awaitable<void> ps_session::heartbeat_loop(std::shared_ptr<ps_session> self,
                                                std::chrono::milliseconds interval) {
  while (self->channel_->is_open()) {
    self->heartbeat_.expires_after(interval);
    co_await self->heartbeat_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!self->channel_->is_open()) break;
    self->channel_->send(make_heartbeat());
  }
}

}  // namespace pgc::nodes::detail
