// channel::read() lives in its own translation unit: Asio coroutine code is slow to compile,
// and the reader and the writer then build in parallel.
#include <algorithm>
#include <array>
#include <chrono>
#include <cassert>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "detail/channel_tls.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/envelope.hpp"
#include "pgc/net/shared_memory.hpp"

namespace pgc::net {

std::system_error channel::read_failure(boost::system::error_code ec, bool at_frame_start) {
  if (closed_) return std::system_error(error_);  // timeout, close() or the writer's error
  // Over TLS, detail::tls_read reports the peer's TCP end (stream_truncated) as eof too.
  if (ec == asio::error::eof && !at_frame_start) {
    fail(core::errc::bad_message);
    return std::system_error(error_, "truncated frame");
  }
  fail(ec);
  return std::system_error(error_);
}

void channel::arm_read_timer(std::uint64_t seq) {
  read_timer_.expires_at(std::min(read_progress_ + options_.read_timeout, read_deadline_));
  read_timer_.async_wait([self = shared_from_this(), seq](std::error_code ec) {
    // Aborted: re-armed or the read ended. A wait that fired just before a re-arm looks again.
    if (ec || !self->reading_ || self->read_seq_ != seq) return;
    const auto now = asio::steady_timer::clock_type::now();
    if (now >= self->read_deadline_ || now - self->read_progress_ >= self->options_.read_timeout) {
      self->fail(core::errc::timeout);
    } else {
      self->arm_read_timer(seq);
    }
  });
}

awaitable<frame> channel::read() {
  // The owner may drop its pointer while this read waits.
  const auto self = shared_from_this();
  if (read_error_) throw std::system_error(read_error_, "an earlier frame was malformed");
  if (closed_) throw std::system_error(error_);
  // stop() is lingering for the peer's end of stream and reads the socket itself.
  if (draining_) throw std::system_error(std::make_error_code(std::errc::operation_canceled));
  assert(!reading_);  // one reader per channel
  reading_ = true;
  const auto seq = ++read_seq_;
  const auto started = asio::steady_timer::clock_type::now();
  read_progress_ = started;
  read_deadline_ = started + options_.read_timeout;
  arm_read_timer(seq);
  struct done_reading {
    channel& c;
    ~done_reading() {
      c.reading_ = false;
      c.read_timer_.cancel();
    }
  } guard{*this};
  const auto token = asio::as_tuple(asio::use_awaitable);

  std::array<std::byte, frame_header::prefix_bytes> prefix;
  {
    const auto buffer = asio::buffer(prefix);
    const auto [ec, n] = tls_ ? co_await detail::tls_read(*tls_, buffer, read_progress_)
                              : co_await asio::async_read(socket_, buffer,
                                                          detail::note_progress{read_progress_},
                                                          token);
    if (ec) throw read_failure(ec, n == 0);
  }
  if (const auto ec = header_.parse_prefix(prefix)) {
    read_error_ = ec;
    throw std::system_error(ec, "too many segments in frame");
  }
  {
    const auto rest = header_.rest_buffer();
    const auto buffer = asio::buffer(rest.data(), rest.size());
    const auto [ec, n] = tls_ ? co_await detail::tls_read(*tls_, buffer, read_progress_)
                              : co_await asio::async_read(socket_, buffer,
                                                          detail::note_progress{read_progress_},
                                                          token);
    if (ec) throw read_failure(ec, false);
  }
  if (const auto ec = header_.parse_rest()) {
    read_error_ = ec;
    throw std::system_error(ec, "segment table announces more than the limit of " +
                                    std::to_string(options_.limits.max_frame_bytes) + " bytes");
  }
  // A big frame on a slow link takes longer than read_timeout: while its bytes keep coming, it
  // may take read_timeout more plus its size at min_bytes_per_second (a peer slower than that
  // is still cut off, as is one silent for read_timeout).
  read_deadline_ = started + options_.read_timeout +
                   transfer_time(header_.body_words() * sizeof(capnp::word));
  arm_read_timer(seq);
  // Only now, with the size known to be within the limit, is memory committed.
  auto body = std::make_unique_for_overwrite<capnp::word[]>(header_.body_words());
  {
    const auto buffer = asio::buffer(body.get(), header_.body_words() * sizeof(capnp::word));
    const auto [ec, n] = tls_ ? co_await detail::tls_read(*tls_, buffer, read_progress_)
                              : co_await asio::async_read(socket_, buffer,
                                                          detail::note_progress{read_progress_},
                                                          token);
    if (ec) throw read_failure(ec, false);
  }
  frame f(header_, std::move(body));
  if (auto why = frame_problem(f); !why.empty()) {
    throw std::system_error(make_error_code(core::errc::bad_message), why);
  }
  if (f.envelope().isShared()) co_return resolve_shared(f);
  co_return f;
}

frame channel::resolve_shared(const frame& reference) const {
  const auto bad = [](const std::string& why) {
    return std::system_error(make_error_code(core::errc::bad_message), why);
  };
  if (!shm_in_) throw bad("a shared-memory frame, but this peer handed over no region");
  const auto r = reference.envelope().getShared();
  frame f = shm_in_->read({r.getSlot(), r.getWords()}, options_.limits);
  if (auto why = frame_problem(f); !why.empty()) throw bad("in shared memory: " + why);
  if (f.envelope().isShared()) throw bad("a shared-memory frame that names another");
  return f;
}

}  // namespace pgc::net
