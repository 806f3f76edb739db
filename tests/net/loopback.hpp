#pragma once

// Connected TCP sockets on 127.0.0.1 and a bounded way to run one test coroutine.

#include <chrono>
#include <exception>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include "pgc/net/asio.hpp"

namespace pgc::net::test {

struct socket_pair {
  tcp::socket client;
  tcp::socket server;
};

// The kernel completes the handshake from the listen backlog, so blocking calls in this order
// cannot deadlock on one thread.
inline socket_pair connect_loopback(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  return {std::move(client), std::move(server)};
}

// Runs `body` on `io` for at most `bound`; fails the test if it did not finish, rethrows what
// it threw. Stops the context when the body ends so that idle writers do not hold the test.
inline void run_bounded(asio::io_context& io, awaitable<void> body,
                        std::chrono::milliseconds bound = std::chrono::seconds(20)) {
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) {
    done = true;
    failure = e;
    io.stop();
  });
  io.run_for(bound);
  REQUIRE_MESSAGE(done, "the test coroutine did not finish within its bound");
  if (failure) std::rethrow_exception(failure);
}

}  // namespace pgc::net::test
