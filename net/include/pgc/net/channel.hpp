#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <system_error>

#include <boost/asio/steady_timer.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/frame.hpp"
#include "pgc/net/frame_header.hpp"
#include "pgc/net/outgoing_frame.hpp"

namespace pgc::net {

struct channel_options {
  frame_limits limits;
  // Bounds one read() from its call to the last byte of the frame. Peers send heartbeats, so
  // a few heartbeat intervals is the natural value; a timeout closes the channel.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  // Bounds the write of one frame (or of a batch of small ones, at most 1 MiB); a peer that
  // stops reading is cut off. Allow for the largest frame at the slowest expected link.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // Frames accepted by send() but not yet written. Past it the peer is too slow for us: the
  // channel closes rather than buffering without bound.
  std::size_t max_queued_bytes = std::size_t{512} << 20;
  // After stop() has sent everything and shut down the sending side: how long to wait for the
  // peer's end of stream before closing (see stop()).
  std::chrono::milliseconds linger{std::chrono::seconds(2)};
};

// A framed Cap'n Proto message channel over a connected TCP socket (STYLE.md item 6): one
// reader (the owner's coroutine calling read()) and one writer (an internal coroutine draining
// a queue with zero-copy gather writes). Every wait is bounded by a timeout.
//
// All member functions must be called on the socket's executor (the io thread); the channel
// is not otherwise synchronized. The writer keeps the channel alive until stop() has drained
// it or close() has been called (or an error closed it), so owners must end it with one of
// those. Endings: a read() error std::system_error carries end of stream (peer closed
// between frames, is_end_of_stream()), operation aborted (closed or stopped locally, is_aborted()),
// core::errc::timeout, core::errc::frame_too_large, core::errc::bad_message (malformed or
// truncated frame) or a socket error; error() tells why the channel closed.
class channel : public std::enable_shared_from_this<channel> {
  struct private_tag {};

 public:
  // Takes a connected socket and starts the writer on the socket's executor.
  static std::shared_ptr<channel> start(tcp::socket socket, channel_options options = {});

  channel(tcp::socket socket, channel_options options, private_tag);
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  // Completes with the next frame, already checked by frame_problem(), or throws
  // std::system_error (see above). One read() at a time. Cancellation: close(). A timeout, an
  // I/O error or the end of the stream (inside a frame: bad_message) closes the channel. A
  // segment table over the limits (frame_too_large, bad_message) makes every later read() fail
  // the same way but leaves sending open, so the owner can answer with an Error message and
  // stop(); a frame whose envelope fails its check fails only that read().
  awaitable<frame> read();

  // Queues a message and returns at once; the writer sends frames in send() order. False
  // (message dropped) when the channel is stopping or closed. A message over
  // limits.max_frame_bytes closes the channel with errc::frame_too_large, a queue over
  // max_queued_bytes with std::errc::no_buffer_space.
  bool send(std::unique_ptr<capnp::MessageBuilder> message);
  // The same for a frame built once and shared: a broadcast (the model to every worker) is
  // serialized once and every channel writes the same segments in place.
  bool send(std::shared_ptr<const outgoing_frame> frame);

  // Graceful end, idempotent: refuses new sends, lets the writer finish the queue (each write
  // still bounded by write_timeout), shuts down the sending side so the peer reads a clean end
  // of stream, then waits up to options.linger for the peer's own end of stream (reading and
  // discarding, unless the owner is reading) and closes. Closing at once could answer the
  // peer's last frames with a reset, which can discard what it has not read yet (a Shutdown).
  // A read() started after that point ends with is_aborted().
  void stop();

  // Immediate end, idempotent: cancels pending reads and writes and drops the queue.
  void close();

  bool is_open() const noexcept { return !closed_; }
  // Why the channel closed: is_aborted() after close() or stop(), is_end_of_stream() when the
  // peer ended the stream, or the error that closed it. Empty while open.
  std::error_code error() const noexcept { return error_; }
  std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  const tcp::endpoint& remote_endpoint() const noexcept { return remote_; }
  tcp::socket::executor_type get_executor() noexcept { return socket_.get_executor(); }

 private:
  // stop()'s lingering close, on the writer.
  static awaitable<void> linger(std::shared_ptr<channel> self);
  static awaitable<void> write_loop(std::shared_ptr<channel> self);
  // Records the first reason and closes the socket; later calls do nothing.
  void fail(std::error_code ec);
  // The exception read() throws when a socket read ended with ec.
  std::system_error read_failure(boost::system::error_code ec, bool at_frame_start);

  tcp::socket socket_;
  channel_options options_;
  tcp::endpoint remote_;
  asio::steady_timer read_timer_;
  asio::steady_timer write_timer_;
  // The idle writer waits on it; send(), stop() and close() cancel it to wake the writer.
  asio::steady_timer wake_;
  frame_header header_;
  std::deque<std::shared_ptr<const outgoing_frame>> queue_;
  std::size_t queued_bytes_ = 0;
  std::error_code error_;
  std::error_code read_error_;
  // Sequence numbers tell a timer handler that already fired apart from the current operation.
  std::uint64_t read_seq_ = 0;
  std::uint64_t write_seq_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool stopping_ = false;
  bool draining_ = false;  // the writer reads and discards until the peer's end of stream
  bool closed_ = false;
};

// Asio reports errors as boost::system::error_code; the channel converts them to std::error_code
// like the project's own codes. These name the two that end a healthy connection.
// The peer ended the stream between frames.
bool is_end_of_stream(std::error_code ec) noexcept;
// We closed or stopped the channel ourselves.
bool is_aborted(std::error_code ec) noexcept;
inline bool is_orderly_end(std::error_code ec) noexcept {
  return is_end_of_stream(ec) || is_aborted(ec);
}

}  // namespace pgc::net
