#pragma once

// Beast clients for the status server tests, on the same io_context as the server.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "pgc/net/asio.hpp"

namespace pgc::net::test {

namespace http = beast::http;
namespace websocket = beast::websocket;
using response = http::response<http::string_body>;

inline tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

// One kept-alive HTTP/1.1 connection.
class http_client {
 public:
  explicit http_client(asio::any_io_executor executor) : stream_(std::move(executor)) {}

  awaitable<void> connect(std::uint16_t port) {
    stream_.expires_after(std::chrono::seconds(5));
    co_await stream_.async_connect(loopback(port), asio::use_awaitable);
  }

  // Throws on a transport error (including the server closing the connection).
  awaitable<response> request(http::verb method, std::string target,
                              std::vector<std::pair<http::field, std::string>> fields = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (auto& [name, value] : fields)
      req.set(name, value);
    req.prepare_payload();
    stream_.expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream_, req, asio::use_awaitable);
    response res;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::size_t{8} << 20);
    if (method == http::verb::head) parser.skip(true);
    co_await http::async_read(stream_, buffer_, parser, asio::use_awaitable);
    co_return parser.release();
  }

  awaitable<response> get(std::string target,
                          std::vector<std::pair<http::field, std::string>> fields = {}) {
    return request(http::verb::get, std::move(target), std::move(fields));
  }

  beast::tcp_stream& stream() noexcept { return stream_; }
  beast::flat_buffer& buffer() noexcept { return buffer_; }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

// A one-shot GET on a fresh connection.
inline awaitable<response> fetch(std::uint16_t port, std::string target,
                                 std::vector<std::pair<http::field, std::string>> fields = {}) {
  http_client client(co_await asio::this_coro::executor);
  co_await client.connect(port);
  co_return co_await client.get(std::move(target), std::move(fields));
}

class ws_client {
 public:
  explicit ws_client(asio::any_io_executor executor) : ws_(std::move(executor)) {}

  // The handshake's error, if any; `res` gets the server's answer either way.
  awaitable<boost::system::error_code> open(std::uint16_t port, std::string target = "/ws") {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
    co_await beast::get_lowest_layer(ws_).async_connect(loopback(port), asio::use_awaitable);
    auto [ec] = co_await ws_.async_handshake(handshake_response, "127.0.0.1", target,
                                             asio::as_tuple(asio::use_awaitable));
    beast::get_lowest_layer(ws_).expires_never();
    co_return ec;
  }

  // The next text message; throws on error or when `bound` passes.
  awaitable<std::string> read(std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    beast::get_lowest_layer(ws_).expires_after(bound);
    beast::flat_buffer buffer;
    co_await ws_.async_read(buffer, asio::use_awaitable);
    beast::get_lowest_layer(ws_).expires_never();
    co_return beast::buffers_to_string(buffer.data());
  }

  websocket::stream<beast::tcp_stream>& stream() noexcept { return ws_; }

  websocket::response_type handshake_response;

 private:
  websocket::stream<beast::tcp_stream> ws_;
};

}  // namespace pgc::net::test
