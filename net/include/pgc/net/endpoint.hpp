#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgc::net {

// A HOST:PORT pair as given on the command line: "127.0.0.1:7000", "ps.example:7000",
// "[::1]:7000". Port 0 asks the system for a free port.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

// Throws core::input_error naming what is wrong with the text.
endpoint parse_endpoint(std::string_view text);

}  // namespace pgc::net
