#pragma once

// Where the parameter server listens and can be reached from other hosts: shared by `pgc ps`,
// `pgc rank` (which writes it to the rendezvous file) and `pgc launch --hostfile` (which hands it
// to ssh'd workers).

#include <string>
#include <string_view>

#include "pgc/net/endpoint.hpp"

namespace pgc::tools {

// A --listen value (or another flag's, named by `flag`): IP:PORT, the address one of this
// host's, as the acceptor binds it without a lookup. Throws core::input_error naming the flag.
net::endpoint parse_listen(const std::string& text, std::string_view flag);

// True for the addresses that mean "every interface": 0.0.0.0, ::, [::].
bool is_wildcard_host(std::string_view host);
bool is_loopback_host(std::string_view host);

// The address other hosts connect to for a PS bound to `bound`: `advertise` when given, else the
// bound host unless it is a wildcard, else this machine's host name.
net::endpoint reachable_endpoint(const net::endpoint& bound, const std::string& advertise);

}  // namespace pgc::tools
