#pragma once

// Where the parameter server can be reached from other hosts: shared by `pgc rank` (which
// writes it to the rendezvous file) and `pgc launch --hostfile` (which hands it to ssh'd workers).

#include <string>
#include <string_view>

#include "pgc/net/endpoint.hpp"

namespace pgc::tools {

// The endpoint in the PS's "pgc ps: listening on HOST:PORT (...)" line. Throws
// std::runtime_error if the line has none.
net::endpoint listening_endpoint(std::string_view line);

// True for the addresses that mean "every interface": 0.0.0.0, ::, [::].
bool is_wildcard_host(std::string_view host);
bool is_loopback_host(std::string_view host);

// The address other hosts connect to for a PS bound to `bound`: `advertise` when given, else the
// bound host unless it is a wildcard, else this machine's host name.
net::endpoint reachable_endpoint(const net::endpoint& bound, const std::string& advertise);

}  // namespace pgc::tools
