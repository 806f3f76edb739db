#include "options/tls_options.hpp"

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/core/error.hpp"
#include "pgc/net/tls.hpp"

namespace pgc::tools {

namespace {

// Whose file each flag is, per role: the flags are the same, what they mean to the process is not.
struct tls_help {
  const char* cert;
  const char* key;
  const char* ca;
  const char* server_name;  // nullptr: not a flag of this role
};

tls_help help_for(tls_role role) {
  switch (role) {
    case tls_role::server:
      return {"Accept workers over TLS only, with this PEM certificate (chain); needs --tls-key",
              "The PEM private key of --tls-cert",
              "Mutual TLS: every worker must present a certificate signed by this PEM CA", nullptr};
    case tls_role::client:
      return {"A PEM client certificate for a PS that requires one (mutual TLS); needs --tls-key",
              "The PEM private key of --tls-cert",
              "Connect over TLS only and accept a PS whose certificate this PEM CA signed (and "
              "that names the --connect host)",
              "The name the PS certificate must carry, instead of the --connect host"};
    case tls_role::cluster:
      break;
  }
  return {
      "PS and workers talk TLS: the PS's PEM certificate (needs --tls-key, --tls-ca; the "
      "same paths on every host)",
      "The PEM private key of --tls-cert", "The PEM CA the workers verify the PS certificate with",
      "The name the workers expect in the PS certificate (default: the address they connect "
      "to)"};
}

}  // namespace

void tls_options::add_to(CLI::App& app) {
  const tls_help help = help_for(role_);
  app.add_option("--tls-cert", cert_file, help.cert);
  app.add_option("--tls-key", key_file, help.key);
  app.add_option("--tls-ca", ca_file, help.ca);
  if (help.server_name != nullptr)
    app.add_option("--tls-server-name", server_name, help.server_name);
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
