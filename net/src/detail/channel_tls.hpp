#pragma once

// The channel's reads and writes over TLS, and the progress stamp of its reads. They live in channel_tls.cpp, the one channel
// translation unit that includes the SSL stream, so the reader and the writer compile without it.

#include <cstddef>
#include <tuple>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/channel.hpp"

namespace pgc::net::detail {

using io_result = std::tuple<boost::system::error_code, std::size_t>;

// An asio::async_read completion condition that stamps the time of each step (the channel's
// read timeout counts silence, not the length of a big frame); transfers like transfer_all.
struct note_progress {
  asio::steady_timer::time_point& at;
  std::size_t operator()(const boost::system::error_code& ec, std::size_t) const {
    at = asio::steady_timer::clock_type::now();
    return ec ? 0 : std::size_t{64} << 10;
  }
};

// Fills `buffer` like asio::async_read, stamping `progress` like note_progress. The peer's TCP
// end without a TLS close_notify (ssl::error::stream_truncated, see channel) is reported as
// asio::error::eof. The caller keeps `stream` alive until completion.
awaitable<io_result> tls_read(tls_stream& stream, asio::mutable_buffer buffer,
                              asio::steady_timer::time_point& progress);

// Writes every byte of `buffers` like asio::async_write. Runs of small buffers are copied into
// one TLS record instead of a record (and a system call) each.
awaitable<io_result> tls_write(tls_stream& stream, std::vector<asio::const_buffer> buffers);

}  // namespace pgc::net::detail
