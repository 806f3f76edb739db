#include "options/auth_options.hpp"

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"
#include "pgc/net/auth.hpp"

namespace pgc::tools {

void auth_options::add_to(CLI::App& app) {
  app.add_option("--secret-file", secret_file,
                 "PS and workers authenticate each other with the shared secret in this file "
                 "(HMAC-SHA256 challenge-response; at least 16 bytes; the same path on every "
                 "host); peers without it are refused");
}

std::vector<std::string> auth_options::arguments() const {
  std::vector<std::string> a;
  append_if_set(a, "--secret-file", secret_file);
  return a;
}

std::string auth_options::secret() const {
  return secret_file.empty() ? std::string() : net::read_secret_file(secret_file);
}

}  // namespace pgc::tools
