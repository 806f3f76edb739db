#pragma once

// An io_context with its own thread, and connected loopback sockets between two of them: the
// benchmarks put a sender and a receiver on different cores, as separate processes would be.

#include <thread>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "pgc/net/asio.hpp"

namespace pgc::bench::detail {

namespace asio = net::asio;
using net::awaitable;
using net::tcp;

class io_thread {
 public:
  io_thread() = default;
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;
  // Stops the context; coroutines still waiting (idle channel writers) are destroyed with it,
  // so objects bound to the context are declared after the io_thread.
  ~io_thread() { stop(); }

  asio::io_context& context() noexcept { return io_; }
  // Starts the thread; objects bound to the context are created before, on the caller's thread.
  void start() {
    thread_ = std::thread([this] { io_.run(); });
  }
  void stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs `body` on this thread and blocks until it ends; rethrows what it threw.
  template <class T>
  T run(awaitable<T> body) {
    return asio::co_spawn(io_, std::move(body), asio::use_future).get();
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::thread thread_;
};

struct socket_pair {
  tcp::socket client;  // on the client's context
  tcp::socket server;  // on the server's context
};

// Blocking connect on loopback before either context runs: the kernel completes the handshake
// from the listen backlog.
inline socket_pair connect_loopback(asio::io_context& client_io, asio::io_context& server_io) {
  tcp::acceptor acceptor(server_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(client_io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  client.set_option(tcp::no_delay(true));
  server.set_option(tcp::no_delay(true));
  return {std::move(client), std::move(server)};
}

}  // namespace pgc::bench::detail
