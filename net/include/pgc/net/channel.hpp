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

// Declared, not included: boost/asio/ssl.hpp (OpenSSL and the SSL engine) is heavy, and this
// header is everywhere. Only the TLS translation units of net/ see the complete type.
namespace boost::asio::ssl {
template <typename Stream>
class stream;
}  // namespace boost::asio::ssl

namespace pgc::net {

class shm_region;

// A TLS stream over TCP (net/tls.hpp makes and handshakes them). Held through tls_stream_ptr,
// whose deleter is out of line, so code that only passes one on needs no SSL headers.
using tls_stream = asio::ssl::stream<tcp::socket>;
struct tls_stream_deleter {
  void operator()(tls_stream* stream) const noexcept;
};
using tls_stream_ptr = std::unique_ptr<tls_stream, tls_stream_deleter>;

struct channel_options {
  frame_limits limits;
  // A read() fails when no byte arrives for this long, or when its frame is not complete this
  // long after the read began plus the time its body takes at min_bytes_per_second. Peers send
  // heartbeats, so a few heartbeat intervals is the natural value; a timeout closes the channel.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  // Bounds the write of one frame (or of a batch of small ones, at most 1 MiB), plus the time
  // its bytes take at min_bytes_per_second; a peer that stops reading is cut off.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // The slowest link a big frame may cross without its peer being cut off: the timeouts above
  // grow by size / rate, so a 2 MiB Encoded over a 1 Mbit/s uplink is not mistaken for a dead
  // peer, while a peer trickling bytes slower than this still is. 0: fixed timeouts.
  std::size_t min_bytes_per_second = std::size_t{64} << 10;
  // Frames accepted by send() but not yet written. Past it the peer is too slow for us: the
  // channel closes rather than buffering without bound.
  std::size_t max_queued_bytes = std::size_t{512} << 20;
  // After stop() has sent everything and shut down the sending side: how long to wait for the
  // peer's end of stream before closing (see stop()).
  std::chrono::milliseconds linger{std::chrono::seconds(2)};
};

// A framed Cap'n Proto message channel over a connected TCP socket or a TLS stream that has
// completed its handshake (STYLE.md item 6): one reader (the owner's coroutine calling read())
// and one writer (an internal coroutine draining a queue with zero-copy gather writes). Every
// wait is bounded by a timeout.
//
// All member functions must be called on the socket's executor (the io thread); the channel
// is not otherwise synchronized. The writer keeps the channel alive until stop() has drained
// it or close() has been called (or an error closed it), so owners must end it with one of
// those. Endings: a read() error std::system_error carries end of stream (peer closed
// between frames, is_end_of_stream()), operation aborted (closed or stopped locally, is_aborted()),
// core::errc::timeout, core::errc::frame_too_large, core::errc::bad_message (malformed or
// truncated frame) or a socket error; error() tells why the channel closed.
//
// Over TLS the channel behaves the same. Its graceful end is still TCP's: stop() shuts down the
// sending side without a TLS close_notify, since the protocol ends with explicit messages at
// frame boundaries. The TLS layer reports such an end as stream_truncated; read() maps it to
// end of stream between frames and to bad_message inside one, exactly like TCP's end of file.
// TLS errors (a bad record, an alert from the peer) end read() with their own error code.
class channel : public std::enable_shared_from_this<channel> {
  struct private_tag {};

 public:
  // Takes a connected socket and starts the writer on the socket's executor.
  static std::shared_ptr<channel> start(tcp::socket socket, channel_options options = {});
  // The same over a TLS stream whose handshake has completed (net::tls_accept, tls_connect).
  static std::shared_ptr<channel> start(tls_stream_ptr stream, channel_options options = {});

  channel(tcp::socket socket, channel_options options, private_tag);
  channel(tls_stream_ptr stream, channel_options options, private_tag);
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

  // The same-host data plane (net/shared_memory.hpp). The sending side: a message built by
  // region->builder() goes as a SharedFrame naming its slot instead of its bytes (other messages
  // as before). Only once the peer has taken the region (hand_over_region).
  void use_shared_memory(std::shared_ptr<shm_region> region);
  // The receiving side: read() resolves the peer's SharedFrames into frames over the region's
  // slots (a SharedFrame without a region, or naming a slot it does not hold, fails that read()
  // with bad_message). Nothing else changes: read() never returns a SharedFrame.
  void accept_shared_memory(std::shared_ptr<shm_region> region);
  bool shares_memory() const noexcept { return shm_out_ != nullptr || shm_in_ != nullptr; }

  // Applies to reads from the next one on (e.g. once the peer has told its heartbeat interval).
  void set_read_timeout(std::chrono::milliseconds timeout) noexcept {
    options_.read_timeout = timeout;
  }

  bool is_open() const noexcept { return !closed_; }
  bool is_tls() const noexcept { return tls_ != nullptr; }
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
  // (Re)arms the read timer for read `seq`: it fires at the earlier of read_deadline_ and
  // read_timeout after the last progress, and closes the channel if either has passed.
  void arm_read_timer(std::uint64_t seq);
  // How long `bytes` take at options_.min_bytes_per_second (zero when that is 0).
  std::chrono::nanoseconds transfer_time(std::size_t bytes) const noexcept;
  // The exception read() throws when a socket read ended with ec.
  std::system_error read_failure(boost::system::error_code ec, bool at_frame_start);
  static std::shared_ptr<channel> start_writer(std::shared_ptr<channel> self);
  // The constructors' common part, once socket_ is bound.
  void init();
  // read()'s answer to a SharedFrame: the message it names.
  frame resolve_shared(const frame& reference) const;

  // Exactly one carries the frames: the plain connection's socket, or the TLS stream (plain_
  // is then an unopened socket on the same executor).
  tcp::socket plain_;
  tls_stream_ptr tls_;
  // The TCP socket under either: timeouts close it, stop() shuts down its sending side and
  // lingers on it (discarding raw bytes, TLS records included).
  tcp::socket& socket_;
  channel_options options_;
  tcp::endpoint remote_;
  asio::steady_timer read_timer_;
  // The current read(): when bytes last arrived, and when the frame must be complete.
  asio::steady_timer::time_point read_progress_;
  asio::steady_timer::time_point read_deadline_;
  asio::steady_timer write_timer_;
  // The idle writer waits on it; send(), stop() and close() cancel it to wake the writer.
  asio::steady_timer wake_;
  frame_header header_;
  std::shared_ptr<shm_region> shm_out_;
  std::shared_ptr<shm_region> shm_in_;
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
