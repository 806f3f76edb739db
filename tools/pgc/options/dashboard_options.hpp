#pragma once

// The live dashboard of the PS: where it listens, the token it asks for, and a comparison run's
// times to show beside ours. pgc ps serves it; launch and rank forward the flags.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgc/net/endpoint.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct dashboard_options {
  std::string dashboard;  // HOST:PORT, or a bare PORT meaning 127.0.0.1:PORT
  std::string token_file;
  std::string baseline_summary;

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error naming the flag for a bad address or an unreadable file.
  void validate() const;

  // nullopt without --dashboard.
  std::optional<net::endpoint> endpoint() const;
  // The token in --dashboard-token-file (its first line, trailing blanks removed); empty without.
  std::string token() const;
  // --baseline-summary's scheme and iteration times; nullopt without.
  std::optional<std::pair<std::string, std::vector<double>>> baseline() const;
};

// --dashboard: HOST:PORT, or a bare PORT meaning 127.0.0.1:PORT (loopback unless asked).
net::endpoint dashboard_endpoint(const std::string& text);

}  // namespace pgc::tools
