#pragma once

// The TLS flags, one group for every role: the PS (server), a worker (client), and pgc launch and
// rank, which hold both sides' files and hand each process its part.

#include <string>
#include <vector>

#include "pgc/net/tls_options.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

enum class tls_role {
  server,   // pgc ps: --tls-cert/--tls-key, --tls-ca for mutual TLS
  client,   // pgc worker: --tls-ca, --tls-server-name, --tls-cert/--tls-key for mutual TLS
  cluster,  // pgc launch, rank: the PS's --tls-cert/--tls-key, the workers' --tls-ca and name
};

struct tls_options {
  explicit tls_options(tls_role role) : role_(role) {}

  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string server_name;  // client and cluster only

  // The flags of this role, with help texts that say whose file each is.
  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error for an incomplete set (a certificate without its key, a cluster
  // without its CA, a server name without a CA) or files that do not load (a key that does not
  // match its certificate, ...).
  void validate() const;
  bool enabled() const noexcept;

  // cluster: what the PS gets (its certificate and key) and what the workers get (the CA and
  // the name to expect), each as a group of its role.
  tls_options for_ps() const;
  tls_options for_workers() const;
  // The node's settings (server or client role).
  net::tls_options node() const;

 private:
  tls_role role_;
};

}  // namespace pgc::tools
