#pragma once

// One connection of the parameter server (STYLE.md item 6): it owns its channel, its reader and
// its heartbeat. The server learns of frames and of the end through ps_session::owner, on the io
// thread; it sends through the session.

#include <chrono>
#include <memory>
#include <string>
#include <system_error>

#include <boost/asio/steady_timer.hpp>

#include "pgc/core/error.hpp"
#include "pgc/core/logger.hpp"
#include "pgc/net/asio.hpp"
#include "pgc/net/auth.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/shared_memory.hpp"
#include "wire_convert.hpp"

namespace pgc::nodes::detail {

class ps_session : public std::enable_shared_from_this<ps_session> {
 public:
  class owner {
   public:
    virtual ~owner() = default;
    // A frame arrived (checked by the channel); it holds the envelope, so an Encoded payload can
    // be decoded from it in place.
    virtual void on_frame(const std::shared_ptr<ps_session>& session,
                          std::shared_ptr<const net::frame> frame) = 0;
    // The reader ended: `code` and `why` are empty for an orderly end (the peer closed, or we
    // stopped it), else the error and its description.
    virtual void on_end(const std::shared_ptr<ps_session>& session, std::error_code code,
                        const std::string& why) = 0;
  };

  // With a secret the session sends its Challenge at once (the worker speaks after it).
  ps_session(std::shared_ptr<net::channel> channel, bool challenge);

  // Starts the reader; the owner is kept alive by it until on_end. Call once, on the io thread.
  void start(std::shared_ptr<owner> owner, const core::logger& log);
  // Once admitted: a Heartbeat every `interval` until the channel closes. Call once.
  void start_heartbeat(std::chrono::milliseconds interval, const core::logger& log);

  // Queue a message; dropped once the channel is stopping.
  void send(message_ptr message) { channel_->send(std::move(message)); }
  void send(std::shared_ptr<const net::outgoing_frame> frame) { channel_->send(std::move(frame)); }
  // Error(code, text), then a graceful end.
  void refuse(core::errc code, const std::string& text);
  void stop() { channel_->stop(); }
  bool is_open() const noexcept { return channel_->is_open(); }
  net::channel& channel() noexcept { return *channel_; }
  std::string peer() const;  // "HOST:PORT"

  // Set by the server when admission accepted the Hello; -1 before.
  int worker = -1;
  std::string name;
  // The Challenge this connection got (with a secret) and the nonce of its Hello.
  net::nonce challenge{};
  net::nonce hello_nonce{};
  // Names this connection to the shared-memory socket (Welcome.sharedMemory).
  net::shm_listener::token shm_token{};

 private:
  static net::awaitable<void> read_loop(std::shared_ptr<ps_session> self,
                                        std::shared_ptr<owner> owner);
  static net::awaitable<void> heartbeat_loop(std::shared_ptr<ps_session> self,
                                             std::chrono::milliseconds interval);


  std::shared_ptr<net::channel> channel_;
  net::asio::steady_timer heartbeat_;  // cancelled when the reader ends
};

}  // namespace pgc::nodes::detail
