#include "ps_address.hpp"

#include <stdexcept>
#include <unistd.h>

#include <boost/asio/ip/address.hpp>

#include "pgc/core/error.hpp"

namespace pgc::tools {

net::endpoint parse_listen(const std::string& text, std::string_view flag) {
  net::endpoint e;
  try {
    e = net::parse_endpoint(text);
  } catch (const core::input_error& error) {
    throw core::input_error(std::string(flag) + ": " + error.what());
  }
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(e.host, ec);
  if (ec) {
    throw core::input_error(std::string(flag) + " " + text +
                            ": the host must be an IP address of this machine (e.g. 127.0.0.1, "
                            "0.0.0.0 for every interface)");
  }
  return e;
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
