#pragma once

// The shared secret PS and workers authenticate each other with (net/auth.hpp).

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace pgc::tools {

struct auth_options {
  std::string secret_file;

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  // Throws core::input_error naming the file when it is unreadable or too short.
  void validate() const { (void)secret(); }
  // The secret; empty without --secret-file.
  std::string secret() const;
  bool enabled() const noexcept { return !secret_file.empty(); }
};

}  // namespace pgc::tools
