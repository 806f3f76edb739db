#include "options/tls_options.hpp"

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/tls.hpp"

namespace pgc::tools {

void tls_options::add_to(CLI::App& app) {
  switch (role_) {
    case tls_role::server:
      app.add_option("--tls-cert", cert_file,
                     "Accept workers over TLS only, with this PEM certificate (chain); needs "
                     "--tls-key");
      app.add_option("--tls-key", key_file, "The PEM private key of --tls-cert");
      app.add_option("--tls-ca", ca_file,
                     "Mutual TLS: every worker must present a certificate signed by this PEM CA");
      return;
    case tls_role::client:
      app.add_option("--tls-ca", ca_file,
                     "Connect over TLS only and accept a PS whose certificate this PEM CA signed "
                     "(and that names the --connect host)");
      app.add_option("--tls-server-name", server_name,
                     "The name the PS certificate must carry, instead of the --connect host");
      app.add_option("--tls-cert", cert_file,
                     "A PEM client certificate for a PS that requires one (mutual TLS); needs "
                     "--tls-key");
      app.add_option("--tls-key", key_file, "The PEM private key of --tls-cert");
      return;
    case tls_role::cluster:
      app.add_option("--tls-cert", cert_file,
                     "PS and workers talk TLS: the PS's PEM certificate (needs --tls-key, "
                     "--tls-ca; the same paths on every host)");
      app.add_option("--tls-key", key_file, "The PEM private key of --tls-cert");
      app.add_option("--tls-ca", ca_file, "The PEM CA the workers verify the PS certificate with");
      app.add_option("--tls-server-name", server_name,
                     "The name the workers expect in the PS certificate (default: the address "
                     "they connect to)");
      return;
  }
}

std::vector<std::string> tls_options::arguments() const {
  std::vector<std::string> a;
  append_if_set(a, "--tls-cert", cert_file);
  append_if_set(a, "--tls-key", key_file);
  append_if_set(a, "--tls-ca", ca_file);
  if (role_ != tls_role::server) append_if_set(a, "--tls-server-name", server_name);
  return a;
}

bool tls_options::enabled() const noexcept {
  return !cert_file.empty() || !key_file.empty() || !ca_file.empty() || !server_name.empty();
}

tls_options tls_options::for_ps() const {
  tls_options out(tls_role::server);
  out.cert_file = cert_file;
  out.key_file = key_file;
  return out;
}

tls_options tls_options::for_workers() const {
  tls_options out(tls_role::client);
  out.ca_file = ca_file;
  out.server_name = server_name;
  return out;
}

net::tls_options tls_options::node() const {
  net::tls_options o;
  o.cert_file = cert_file;
  o.key_file = key_file;
  o.ca_file = ca_file;
  o.server_name = server_name;
  return o;
}

void tls_options::validate() const {
  using core::input_error;
  switch (role_) {
    case tls_role::server:
      // Files and the key against the certificate are checked when the PS builds its context.
      return;
    case tls_role::client:
      if (!server_name.empty() && ca_file.empty()) {
        throw input_error("--tls-server-name needs --tls-ca");
      }
      return;
    case tls_role::cluster:
      if (!enabled()) return;
      if (cert_file.empty() || key_file.empty() || ca_file.empty()) {
        throw input_error(
            "TLS needs --tls-cert and --tls-key (the PS) and --tls-ca (the workers verify the PS "
            "with it)");
      }
      // Bad files fail here, before any process starts.
      (void)net::make_server_context(for_ps().node());
      (void)net::make_client_context(for_workers().node());
      return;
  }
}

}  // namespace pgc::tools
