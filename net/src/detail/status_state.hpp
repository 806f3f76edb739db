#pragma once

// What the status server and its sessions share: private to net/src (Beast stays out of the
// public header).

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "pgc/net/asio.hpp"
#include "pgc/net/status_server.hpp"

namespace pgc::net::detail {

namespace http = beast::http;

// What the server needs from a live connection: stop() closes every one of them.
class status_connection {
 public:
  virtual ~status_connection() = default;
  // Closes the socket at once; the session's coroutines end on their next completion.
  virtual void close() = 0;
};

// A WebSocket client.
class status_subscriber : public status_connection {
 public:
  // Replaces the snapshot waiting to be written (if any) by this one; returns at once.
  virtual void offer(std::shared_ptr<const std::string> snapshot) = 0;
};

// Sessions hold it by shared_ptr, so it outlives the status_server that created it while their
// completions drain. Only touched on the io thread.
struct status_state {
  status_state(asio::any_io_executor executor, status_server_options options);

  void log(const std::string& line) const;

  asio::any_io_executor executor;
  status_server_options options;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;
  // Null before the first publish(). Shared by every client's pending slot: a snapshot is
  // stored once however many clients still have to write it.
  std::shared_ptr<const std::string> latest;
  std::uint64_t next_id = 0;
  // Sessions remove themselves when their coroutines end.
  std::map<std::uint64_t, std::weak_ptr<status_connection>> http_sessions;
  std::map<std::uint64_t, std::weak_ptr<status_subscriber>> ws_sessions;
};

// status_http.cpp: serves one accepted connection until it closes or upgrades.
void start_http_session(std::shared_ptr<status_state> state, tcp::socket socket);

// status_ws.cpp: takes over a connection whose request is a WebSocket upgrade for /ws (already
// authorized and counted against max_clients by the caller) and registers the client.
void start_ws_session(std::shared_ptr<status_state> state, beast::tcp_stream stream,
                      http::request<http::string_body> request);

}  // namespace pgc::net::detail
