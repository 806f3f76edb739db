#include "ps_address.hpp"

#include <stdexcept>
#include <unistd.h>

namespace pgc::tools {

net::endpoint listening_endpoint(std::string_view line) {
  constexpr std::string_view key = "listening on ";
  const auto at = line.find(key);
  if (at == std::string_view::npos) {
    throw std::runtime_error("no address in '" + std::string(line) + "'");
  }
  auto rest = line.substr(at + key.size());
  return net::parse_endpoint(rest.substr(0, rest.find(' ')));
}

bool is_wildcard_host(std::string_view host) {
  return host == "0.0.0.0" || host == "::" || host == "[::]";
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

net::endpoint reachable_endpoint(const net::endpoint& bound, const std::string& advertise) {
  if (!advertise.empty()) return {advertise, bound.port};
  if (!is_wildcard_host(bound.host)) return bound;
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    throw std::runtime_error("cannot find this host's name: pass --advertise HOST");
  }
  return {name, bound.port};
}

}  // namespace pgc::tools
