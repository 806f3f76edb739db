#pragma once

// --log-level and --quiet: how much the tools and their nodes say on stderr. The per-iteration
// result lines and summaries on stdout are the program's output, not logging.

#include <string>
#include <string_view>
#include <vector>

#include "pgc/core/logger.hpp"

namespace CLI {
class App;
}

namespace pgc::tools {

struct logging_options {
  core::log_level level = core::log_level::info;
  bool quiet = false;  // warnings and errors only, whatever --log-level says

  void add_to(CLI::App& app);
  std::vector<std::string> arguments() const;
  core::log_level threshold() const noexcept;
  // The default stderr sink (timestamp, level) at threshold(), with `prefix` ("pgc ps").
  core::logger make_logger(std::string_view prefix) const;
};

}  // namespace pgc::tools
