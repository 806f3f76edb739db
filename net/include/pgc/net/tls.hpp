#pragma once

// TLS on the PS-worker links (asio::ssl over OpenSSL 3, TLS 1.3 only). It sits under the
// framed channel and composes with the shared-secret handshake of net/auth.hpp, which then runs
// inside the TLS stream. Like channel.hpp this header does not include the SSL headers.

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <variant>

#include "pgc/net/asio.hpp"
#include "pgc/net/channel.hpp"
#include "pgc/net/tls_options.hpp"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace pgc::net {

using tls_context = asio::ssl::context;

// The PS's context, or null when `o` names no file (plain TCP). Needs cert_file and key_file;
// with ca_file every client must present a certificate signed by it (mutual TLS). Throws
// core::input_error naming the file and the problem: missing or unreadable, no PEM certificate,
// a key that does not load or does not match the certificate.
std::shared_ptr<tls_context> make_server_context(const tls_options& o);
// The worker's context, or null when `o` names no file. Needs ca_file (the PS certificate is
// always verified); cert_file and key_file, both or neither, are its client certificate. Throws
// core::input_error like make_server_context.
std::shared_ptr<tls_context> make_client_context(const tls_options& o);

// A TLS stream over `socket` with `context` (kept alive by the stream's own reference to it).
tls_stream_ptr make_tls_stream(tcp::socket socket, tls_context& context);

// What tls_accept found: the handshaken stream, or the socket back when the client's first
// bytes are not TLS (a plain-TCP peer; the caller may answer it in plain text).
using tls_accepted = std::variant<tls_stream_ptr, tcp::socket>;

// The server's handshake on an accepted socket, bounded by `timeout`. Throws std::system_error
// whose what() says why (core::errc::timeout when the client did not complete it in time, the
// TLS error with the certificate problem otherwise); the connection is then closed gracefully,
// so that the client reads the TLS alert rather than a reset. Runs on the socket's executor.
awaitable<tls_accepted> tls_accept(tcp::socket socket, std::shared_ptr<tls_context> context,
                                   std::chrono::milliseconds timeout);

// The client's handshake on a connected socket, bounded by `timeout`: the server's certificate
// must chain to the context's CA and carry `server_name` (a DNS name, or an IP address checked
// against the IP addresses of the certificate). Failures that retrying cannot fix (certificate
// verification, a TLS alert, a peer that does not speak TLS) throw core::input_error naming the
// problem; others (timeout, a connection lost) std::system_error.
awaitable<tls_stream_ptr> tls_connect(tcp::socket socket, std::shared_ptr<tls_context> context,
                                      std::string server_name, std::chrono::milliseconds timeout);

// An error of the TLS layer itself (a TLS alert, a bad record, a failed verification), as
// opposed to the TCP connection under it. Not true for the truncation channel maps to an end.
bool is_tls_error(std::error_code ec) noexcept;

}  // namespace pgc::net
