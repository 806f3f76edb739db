#pragma once

// What a node needs to speak TLS on its PS-worker links: PEM files and the name to check. Light
// on purpose (node option structs hold it); the contexts are built in pgc/net/tls.hpp.

#include <chrono>
#include <string>

namespace pgc::net {

struct tls_options {
  // PS: its certificate chain and key (both or neither; set: the PS speaks only TLS). Worker:
  // an optional client certificate, presented when the PS asks for one (mutual TLS).
  std::string cert_file;
  std::string key_file;
  // Worker: the CA that signed the PS certificate (set: the worker speaks only TLS). PS: when
  // set, every worker must present a certificate signed by it (mutual TLS).
  std::string ca_file;
  // Worker: the name the PS certificate must carry; empty: the host the worker connects to.
  std::string server_name;
  // A peer that has not completed the handshake by then is dropped.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
};

}  // namespace pgc::net
