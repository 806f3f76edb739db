#include "pgc/net/channel.hpp"

#include <array>
#include <cassert>
#include <new>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "detail/channel_tls.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/shared_memory.hpp"

namespace pgc::net {
namespace {

// Small frames (progress, heartbeats) are batched into one system call. One writev takes at
// most 64 buffers in Asio, and the byte bound keeps write_timeout about one big frame, not many.
constexpr std::size_t max_batch_buffers = 64;
constexpr std::size_t max_batch_bytes = std::size_t{1} << 20;

}  // namespace

std::shared_ptr<channel> channel::start(tcp::socket socket, channel_options options) {
  return start_writer(std::make_shared<channel>(std::move(socket), options, private_tag{}));
}

std::shared_ptr<channel> channel::start_writer(std::shared_ptr<channel> self) {
  asio::co_spawn(self->get_executor(), write_loop(self), [self](std::exception_ptr e) {
    if (!e) return;
    // The writer handles socket errors itself; what escapes is allocation failure or a bug.
    // It must not vanish: the channel closes and error() and read() report it.
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& x) {
      self->fail(x.code());
    } catch (const std::bad_alloc&) {
      self->fail(make_error_code(std::errc::not_enough_memory));
    } catch (...) {
      self->fail(make_error_code(std::errc::io_error));
    }
  });
  return self;
}

channel::channel(tcp::socket socket, channel_options options, private_tag)
    : plain_(std::move(socket)),
      socket_(plain_),
      options_(options),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      wake_(socket_.get_executor()),
      header_(options.limits) {
  init();
}

void channel::init() {
  boost::system::error_code ignored;
  remote_ = socket_.remote_endpoint(ignored);
  // Frames are written whole; Nagle would hold back the tail of every small message.
  socket_.set_option(tcp::no_delay(true), ignored);
}

bool channel::send(std::unique_ptr<capnp::MessageBuilder> message) {
  assert(message != nullptr);
  if (closed_ || stopping_) return false;
  if (shm_out_) {
    if (const auto ref = shm_out_->hand_over(*message)) {
      // The slot is the peer's now; the builder only held it.
      message.reset();
      auto shared = std::make_unique<capnp::MallocMessageBuilder>(16);
      auto sf = shared->initRoot<wire::Envelope>().initShared();
      sf.setSlot(ref->slot);
      sf.setWords(ref->words);
      return send(std::make_shared<const outgoing_frame>(std::move(shared)));
    }
  }
  return send(std::make_shared<const outgoing_frame>(std::move(message)));
}

void channel::use_shared_memory(std::shared_ptr<shm_region> region) {
  shm_out_ = std::move(region);
}

void channel::accept_shared_memory(std::shared_ptr<shm_region> region) {
  shm_in_ = std::move(region);
}

bool channel::send(std::shared_ptr<const outgoing_frame> out) {
  assert(out != nullptr);
  if (closed_ || stopping_) return false;
  if (out->size_bytes() > options_.limits.max_frame_bytes) {
    fail(core::errc::frame_too_large);
    return false;
  }
  if (out->size_bytes() > options_.max_queued_bytes - queued_bytes_) {
    fail(make_error_code(std::errc::no_buffer_space));
    return false;
  }
  queued_bytes_ += out->size_bytes();
  queue_.push_back(std::move(out));
  wake_.cancel();
  return true;
}

void channel::stop() {
  if (stopping_ || closed_) return;
  stopping_ = true;
  wake_.cancel();
}

void channel::close() {
  fail(make_error_code(std::errc::operation_canceled));
}

void channel::fail(std::error_code ec) {
  if (closed_) return;
  closed_ = true;
  error_ = ec;
  boost::system::error_code ignored;
  socket_.close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
  wake_.cancel();
}

awaitable<void> channel::linger(std::shared_ptr<channel> self) {
  if (self->closed_) co_return;
  const auto token = asio::as_tuple(asio::use_awaitable);
  if (self->reading_) {
    // The owner's read sees the peer's end of stream and closes the channel, which cancels this
    // wait; or the linger time runs out.
    self->wake_.expires_after(self->options_.linger);
    co_await self->wake_.async_wait(token);
    co_return;
  }
  self->draining_ = true;
  self->write_timer_.expires_after(self->options_.linger);
  self->write_timer_.async_wait([self](std::error_code ec) {
    boost::system::error_code ignored;
    if (!ec) self->socket_.cancel(ignored);
  });
  std::array<char, 4096> scratch;
  while (!self->closed_) {
    const auto [ec, n] = co_await self->socket_.async_read_some(asio::buffer(scratch), token);
    if (ec) break;  // the peer's end of stream, an error, or the linger time ran out
  }
  self->write_timer_.cancel();
}

awaitable<void> channel::write_loop(std::shared_ptr<channel> self) {
  std::vector<asio::const_buffer> buffers;
  while (!self->closed_) {
    if (self->queue_.empty()) {
      if (self->stopping_) {
        // Drained: the peer reads every queued frame and then a clean end of stream.
        boost::system::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
        co_await linger(self);
        self->close();
        break;
      }
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      co_await self->wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    buffers.clear();
    std::size_t frames = 0;
    std::size_t bytes = 0;
    for (const auto& ptr : self->queue_) {
      const outgoing_frame& out = *ptr;
      if (frames > 0 && (buffers.size() + 1 + out.segments().size() > max_batch_buffers ||
                         bytes + out.size_bytes() > max_batch_bytes)) {
        break;
      }
      buffers.emplace_back(out.table().data(), out.table().size());
      for (const auto& segment : out.segments()) {
        const auto raw = segment.asBytes();
        buffers.emplace_back(raw.begin(), raw.size());
      }
      ++frames;
      bytes += out.size_bytes();
    }
    const auto seq = ++self->write_seq_;
    self->writing_ = true;
    self->write_timer_.expires_after(self->options_.write_timeout + self->transfer_time(bytes));
    self->write_timer_.async_wait([self, seq](std::error_code ec) {
      if (!ec && self->writing_ && self->write_seq_ == seq) self->fail(core::errc::timeout);
    });
    const auto [ec, written] =
        self->tls_ ? co_await detail::tls_write(*self->tls_, buffers)
                   : co_await asio::async_write(self->socket_, buffers,
                                                asio::as_tuple(asio::use_awaitable));
    self->writing_ = false;
    self->write_timer_.cancel();
    if (ec) {
      self->fail(ec);
      break;
    }
    assert(written == bytes);
    self->queue_.erase(self->queue_.begin(), self->queue_.begin() + static_cast<long>(frames));
    self->queued_bytes_ -= bytes;
  }
  // Closed: nothing will be written any more.
  self->queue_.clear();
  self->queued_bytes_ = 0;
}

std::chrono::nanoseconds channel::transfer_time(std::size_t bytes) const noexcept {
  if (options_.min_bytes_per_second == 0) return {};
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(
      static_cast<double>(bytes) / static_cast<double>(options_.min_bytes_per_second)));
}

bool is_end_of_stream(std::error_code ec) noexcept {
  return ec == std::error_code(asio::error::make_error_code(asio::error::eof));
}

bool is_aborted(std::error_code ec) noexcept {
  // Asio's operation_aborted is ECANCELED in the system category; close() uses the generic one.
  return ec == std::errc::operation_canceled;
}

}  // namespace pgc::net
