#include "pgc/net/endpoint.hpp"

#include <charconv>

#include "pgc/core/error.hpp"

namespace pgc::net {

std::string endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

endpoint parse_endpoint(std::string_view text) {
  const auto fail = [&](const std::string& why) {
    return core::input_error("'" + std::string(text) + "' is not HOST:PORT: " + why);
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw fail("missing ']' after an IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') throw fail("missing ':PORT'");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw fail("missing ':PORT'");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) throw fail("write IPv6 addresses as [ADDR]:PORT");
    port = text.substr(colon + 1);
  }
  if (host.empty()) throw fail("empty host");
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || ptr != port.data() + port.size() || value > 65535) {
    throw fail("port must be a number from 0 to 65535");
  }
  return {std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace pgc::net
