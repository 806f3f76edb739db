#include "pgc/net/tls.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "pgc/core/error.hpp"
#include "pgc/net/endpoint.hpp"

namespace pgc::net {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// The reason of the latest queued OpenSSL error; the queue is left empty.
std::string openssl_reason() {
  unsigned long last = 0;
  while (const unsigned long e = ERR_get_error())
    last = e;
  if (last == 0) return "no detail from OpenSSL";
  const char* reason = ERR_reason_error_string(last);
  return reason ? reason : "OpenSSL error " + std::to_string(last);
}

void require_readable(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) {
    throw core::input_error(std::string("cannot read ") + what + " '" + path +
                            "': " + std::strerror(errno));
  }
}

std::shared_ptr<tls_context> new_context(asio::ssl::context::method method) {
  auto ctx = std::make_shared<tls_context>(method);
  SSL_CTX* native = ctx->native_handle();
  // Both ends are pgc: nothing older than TLS 1.3 is needed.
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  // No session resumption: workers hold one long connection.
  SSL_CTX_set_num_tickets(native, 0);
  ctx->set_options(asio::ssl::context::no_compression);
  return ctx;
}

struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};

// An encrypted key would make OpenSSL prompt on the terminal; say no instead.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

// The certificate chain in `cert` and its private key in `key`.
void load_identity(tls_context& ctx, const std::string& cert, const std::string& key) {
  SSL_CTX* native = ctx.native_handle();
  require_readable(cert, "TLS certificate file");
  if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1) {
    throw core::input_error("TLS certificate file '" + cert +
                            "' holds no usable PEM certificate: " + openssl_reason());
  }
  require_readable(key, "TLS key file");
  const std::unique_ptr<BIO, bio_free> bio(BIO_new_file(key.c_str(), "r"));
  const std::unique_ptr<EVP_PKEY, pkey_free> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_passphrase, nullptr) : nullptr);
  if (!pkey) {
    throw core::input_error("TLS key file '" + key +
                            "' holds no usable PEM private key (an unencrypted one is needed): " +
                            openssl_reason());
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(native), pkey.get()) != 1) {
    ERR_clear_error();
    throw core::input_error("TLS key file '" + key + "' does not match the certificate in '" +
                            cert + "'");
  }
  if (SSL_CTX_use_PrivateKey(native, pkey.get()) != 1) {
    throw core::input_error("TLS key file '" + key + "': " + openssl_reason());
  }
}

void load_ca(tls_context& ctx, const std::string& ca) {
  require_readable(ca, "TLS CA file");
  if (SSL_CTX_load_verify_locations(ctx.native_handle(), ca.c_str(), nullptr) != 1) {
    throw core::input_error("TLS CA file '" + ca + "' holds no usable PEM certificate: " +
                            openssl_reason());
  }
}

// What a handshake's watchdog may close: shared with its timer handler, which touches the
// socket only while the handshake still runs (the coroutine owns the socket until then).
struct watch {
  bool finished = false;
  bool expired = false;
};

struct finish_on_exit {
  std::shared_ptr<watch> w;
  ~finish_on_exit() { w->finished = true; }
};

void arm(asio::steady_timer& timer, const std::shared_ptr<watch>& w, tcp::socket& socket,
         std::chrono::milliseconds timeout) {
  timer.expires_after(timeout);
  timer.async_wait([w, &socket](const boost::system::error_code& ec) {
    if (ec || w->finished) return;
    w->expired = true;
    boost::system::error_code ignored;
    socket.close(ignored);
  });
}

// After a failed handshake: let the peer read what was sent (the TLS alert) and its end of
// stream instead of a reset, which would discard it. Bounded by `bound`.
awaitable<void> close_gracefully(tcp::socket& socket, std::chrono::milliseconds bound) {
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  auto w = std::make_shared<watch>();
  const finish_on_exit guard{w};
  asio::steady_timer timer(socket.get_executor());
  arm(timer, w, socket, bound);
  std::array<char, 4096> scratch;
  for (;;) {
    const auto [ec, n] = co_await socket.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;
  }
  socket.close(ignored);
}

constexpr std::chrono::milliseconds linger_bound{1000};

std::string seconds_text(std::chrono::milliseconds d) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", static_cast<double>(d.count()) / 1000.0);
  return text;
}

int reason_of(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category()
             ? ERR_GET_REASON(static_cast<unsigned long>(ec.value()))
             : 0;
}

}  // namespace

std::shared_ptr<tls_context> make_server_context(const tls_options& o) {
  if (o.cert_file.empty() && o.key_file.empty() && o.ca_file.empty()) return nullptr;
  if (o.cert_file.empty() || o.key_file.empty()) {
    throw core::input_error(
        "TLS on the PS needs both its certificate and its key (--tls-cert FILE --tls-key FILE)");
  }
  auto ctx = new_context(asio::ssl::context::tls_server);
  load_identity(*ctx, o.cert_file, o.key_file);
  if (!o.ca_file.empty()) {
    load_ca(*ctx, o.ca_file);
    // Mutual TLS: a client without a certificate signed by the CA is refused.
    SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    ERR_clear_error();
  }
  return ctx;
}

std::shared_ptr<tls_context> make_client_context(const tls_options& o) {
  if (o.cert_file.empty() && o.key_file.empty() && o.ca_file.empty()) return nullptr;
  if (o.ca_file.empty()) {
    throw core::input_error(
        "TLS on a worker needs the CA that signed the PS certificate (--tls-ca FILE)");
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    throw core::input_error(
        "a client certificate needs both the certificate and its key (--tls-cert FILE "
        "--tls-key FILE)");
  }
  auto ctx = new_context(asio::ssl::context::tls_client);
  load_ca(*ctx, o.ca_file);
  SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER, nullptr);
  if (!o.cert_file.empty()) load_identity(*ctx, o.cert_file, o.key_file);
  return ctx;
}

tls_stream_ptr make_tls_stream(tcp::socket socket, tls_context& context) {
  return tls_stream_ptr(std::make_unique<tls_stream>(std::move(socket), context).release());
}

awaitable<tls_accepted> tls_accept(tcp::socket socket, std::shared_ptr<tls_context> context,
                                   std::chrono::milliseconds timeout) {
  boost::system::error_code ignored;
  const tcp::endpoint peer = socket.remote_endpoint(ignored);
  const std::string who =
      "TLS handshake with " + endpoint{peer.address().to_string(), peer.port()}.to_string();
  auto stream = make_tls_stream(std::move(socket), *context);
  tcp::socket& lowest = stream->next_layer();
  auto w = std::make_shared<watch>();
  asio::steady_timer timer(lowest.get_executor());
  arm(timer, w, lowest, timeout);
  boost::system::error_code ec;
  {
    const finish_on_exit guard{w};
    // A TLS client speaks first with a handshake record (content type 22); anything else is a
    // plain-TCP peer, which the caller can still answer in plain text.
    std::tie(ec) = co_await lowest.async_wait(tcp::socket::wait_read, use_tuple);
    std::array<unsigned char, 1> first{};
    if (!ec) {
      const std::size_t n = lowest.receive(asio::buffer(first), tcp::socket::message_peek, ec);
      if (!ec && n == 0) ec = asio::error::eof;
    }
    if (!ec && first[0] != 0x16) {
      timer.cancel();
      co_return tls_accepted(std::in_place_type<tcp::socket>, std::move(lowest));
    }
    if (!ec) std::tie(ec) = co_await stream->async_handshake(tls_stream::server, use_tuple);
    timer.cancel();
  }
  if (w->expired) {
    throw std::system_error(make_error_code(core::errc::timeout),
                            who + ": not completed within " + seconds_text(timeout));
  }
  if (!ec) co_return tls_accepted(std::in_place_type<tls_stream_ptr>, std::move(stream));

  // what() ends with the TLS error itself; say first what it means here.
  std::string what = who + " failed";
  const long verify = SSL_get_verify_result(stream->native_handle());
  if (verify != X509_V_OK) {
    what += ": the client certificate failed verification (" +
            std::string(X509_verify_cert_error_string(verify)) + ")";
  } else if (reason_of(ec) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    what += ": this PS requires a client certificate signed by its --tls-ca";
  }
  co_await close_gracefully(lowest, linger_bound);
  throw std::system_error(std::error_code(ec), what);
}

awaitable<tls_stream_ptr> tls_connect(tcp::socket socket, std::shared_ptr<tls_context> context,
                                      std::string server_name,
                                      std::chrono::milliseconds timeout) {
  auto stream = make_tls_stream(std::move(socket), *context);
  SSL* ssl = stream->native_handle();
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(server_name, not_ip);
  const bool configured =
      not_ip ? SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
                   SSL_set1_host(ssl, server_name.c_str()) == 1
             : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
  if (!configured) {
    ERR_clear_error();
    throw core::input_error("TLS: '" + server_name + "' is not a usable server name");
  }
  const std::string who = "the PS at " + server_name;
  tcp::socket& lowest = stream->next_layer();
  auto w = std::make_shared<watch>();
  asio::steady_timer timer(lowest.get_executor());
  arm(timer, w, lowest, timeout);
  boost::system::error_code ec;
  {
    const finish_on_exit guard{w};
    std::tie(ec) = co_await stream->async_handshake(tls_stream::client, use_tuple);
    timer.cancel();
  }
  if (w->expired) {
    throw std::system_error(make_error_code(core::errc::timeout),
                            "TLS handshake with " + who + ": not completed within " +
                                seconds_text(timeout));
  }
  if (!ec) co_return stream;

  const long verify = SSL_get_verify_result(ssl);
  std::string problem;
  if (verify != X509_V_OK) {
    problem = "the certificate of " + who + " failed verification: " +
              X509_verify_cert_error_string(verify);
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      problem += " (it is not issued for '" + server_name +
                 "': connect by a name it carries, or give that name with --tls-server-name)";
    } else {
      problem += " (is --tls-ca the CA that signed the PS certificate?)";
    }
  } else if (is_tls_error(ec)) {
    problem = "handshake with " + who + " failed: " + ec.message();
    const int reason = reason_of(ec);
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
      problem += " (the PS does not speak TLS: was it started with --tls-cert?)";
    }
  }
  co_await close_gracefully(lowest, linger_bound);
  if (!problem.empty()) throw core::input_error("TLS: " + problem);
  throw std::system_error(std::error_code(ec), "TLS handshake with " + who);
}

bool is_tls_error(std::error_code ec) noexcept {
  if (!ec) return false;
  const std::error_category& ssl = asio::error::get_ssl_category();
  const std::error_category& stream = asio::ssl::error::get_stream_category();
  return ec.category() == ssl ||
         (ec.category() == stream && ec.value() != asio::ssl::error::stream_truncated);
}

}  // namespace pgc::net
