// The channel over TLS: its constructor and its reads and writes through asio::ssl::stream, kept
// out of channel.cpp and channel_read.cpp (see detail/channel_tls.hpp).
#include <cstring>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "detail/channel_tls.hpp"
#include "pgc/net/channel.hpp"

namespace pgc::net {

void tls_stream_deleter::operator()(tls_stream* stream) const noexcept {
  std::default_delete<tls_stream>()(stream);
}

std::shared_ptr<channel> channel::start(tls_stream_ptr stream, channel_options options) {
  return start_writer(std::make_shared<channel>(std::move(stream), options, private_tag{}));
}

channel::channel(tls_stream_ptr stream, channel_options options, private_tag)
    : plain_(stream->get_executor()),
      tls_(std::move(stream)),
      socket_(tls_->next_layer()),
      options_(options),
      read_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      wake_(socket_.get_executor()),
      header_(options.limits) {
  init();
}

namespace detail {

namespace {

// One TLS record holds at most 16 KiB of data.
constexpr std::size_t record_bytes = std::size_t{16} << 10;

}  // namespace

awaitable<io_result> tls_read(tls_stream& stream, asio::mutable_buffer buffer,
                              asio::steady_timer::time_point& progress) {
  auto [ec, n] = co_await asio::async_read(stream, buffer, note_progress{progress},
                                           asio::as_tuple(asio::use_awaitable));
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return io_result{ec, n};
}

awaitable<io_result> tls_write(tls_stream& stream, std::vector<asio::const_buffer> buffers) {
  std::vector<std::byte> staging;
  std::size_t total = 0;
  std::size_t i = 0;
  while (i < buffers.size()) {
    asio::const_buffer out = buffers[i];
    if (out.size() < record_bytes) {
      // Gather the small buffers that follow into one record; a buffer that does not fit
      // starts the next write.
      staging.clear();
      while (i < buffers.size() && staging.size() + buffers[i].size() <= record_bytes) {
        const auto* p = static_cast<const std::byte*>(buffers[i].data());
        staging.insert(staging.end(), p, p + buffers[i].size());
        ++i;
      }
      out = asio::buffer(staging);
    } else {
      ++i;
    }
    const auto [ec, n] = co_await asio::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
    total += n;
    if (ec) co_return io_result{ec, total};
  }
  co_return io_result{boost::system::error_code{}, total};
}

}  // namespace detail
}  // namespace pgc::net
