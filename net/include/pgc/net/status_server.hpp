#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "pgc/net/endpoint.hpp"

namespace pgc::net {

namespace detail {
struct status_state;
}

struct status_server_options {
  endpoint listen{"127.0.0.1", 0};
  // Request line, headers and body together; larger requests are answered 431 (headers) or
  // 413 (body) and the connection closes.
  std::size_t max_request_bytes = 8192;
  // Bounds reading one request (including the idle time of a kept-alive connection before it)
  // and writing one response, and the WebSocket handshake.
  std::chrono::milliseconds request_timeout{10000};
  // A WebSocket client that neither reads nor answers pings for this long is dropped; it bounds
  // every snapshot write too (Beast pings at half of it).
  std::chrono::milliseconds websocket_idle_timeout{30000};
  // Concurrent WebSocket clients, and separately concurrent plain HTTP connections: more get
  // 503 and are closed. The page needs one of each (browsers open a few HTTP connections).
  std::size_t max_clients = 64;
  // Non-empty: every route requires ?token=T or "Authorization: Bearer T". A page loaded with a
  // valid ?token= also gets it as an HttpOnly cookie, so that its script and WebSocket requests
  // (which a browser cannot give a header) are let in. Wrong or missing: 401.
  std::string token;
  // Prometheus text for GET /metrics, called on the io thread; empty: /metrics is 404.
  std::function<std::string()> metrics;
  // Where the server reports accept errors and failed sessions; std::cerr when empty.
  std::function<void(const std::string&)> log;
};

// The live dashboard of the parameter server: an HTTP/1.1 + WebSocket server (Boost.Beast) on
// one executor.
//   GET /            the page (embedded at build time), /dashboard.js, /dashboard.css, /chart.js
//   GET /ws          WebSocket: the latest snapshot on connect, then every published one
//   GET /api/state   the latest snapshot (application/json); 503 with body {} before the first
//   GET /metrics     text/plain; version=0.0.4 from options.metrics
// Anything else is 404, a method other than GET (or HEAD) 405. Messages from WebSocket clients
// are read and ignored; one over 4 KiB closes the client.
//
// A slow WebSocket client never holds back publish(): each client has the snapshot being written
// and at most one pending, which a newer publish() replaces, so it skips to the latest snapshot.
//
// Not thread safe: construct, call and destroy on the executor's thread (the io thread). All
// sessions share state with the server by shared_ptr, so destroying the server while their
// completions are still queued is safe.
class status_server {
 public:
  status_server(boost::asio::any_io_executor executor, status_server_options options);
  status_server(const status_server&) = delete;
  status_server& operator=(const status_server&) = delete;
  // Stops.
  ~status_server();

  // Binds and listens on options.listen and starts accepting; returns the bound port. Throws
  // std::system_error when the address cannot be resolved or bound, std::logic_error when
  // called twice.
  std::uint16_t start();

  // Idempotent: closes the listener and every connection at once; the sessions end on their
  // next turn of the executor. Later publish() calls only update /api/state (nothing serves it).
  void stop();

  // Makes snapshot_json (a JSON object; not checked) the latest snapshot and queues it to every
  // WebSocket client, replacing any snapshot still pending for a slow one. Never blocks.
  void publish(std::string snapshot_json);

  std::uint16_t port() const noexcept;
  // Open WebSocket clients.
  std::size_t clients() const noexcept;

 private:
  std::shared_ptr<detail::status_state> state_;
};

}  // namespace pgc::net
