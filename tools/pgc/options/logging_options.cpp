#include "options/logging_options.hpp"

#include <algorithm>

#include <CLI/CLI.hpp>

#include "options/option_helpers.hpp"

namespace pgc::tools {

void logging_options::add_to(CLI::App& app) {
  add_enum_option(app, "--log-level", level, core::log_level_names(),
                  "Least severe message written to stderr");
  app.add_flag("--quiet", quiet, "Warnings and errors only (--log-level warn)");
}

std::vector<std::string> logging_options::arguments() const {
  std::vector<std::string> a;
  if (level != core::log_level::info) {
    a.push_back("--log-level");
    a.emplace_back(core::name_of(core::log_level_names(), level));
  }
  if (quiet) a.push_back("--quiet");
  return a;
}

core::log_level logging_options::threshold() const noexcept {
  return quiet ? std::max(level, core::log_level::warn) : level;
}

core::logger logging_options::make_logger(std::string_view prefix) const {
  return core::logger(core::stderr_sink, threshold(), std::string(prefix));
}

}  // namespace pgc::tools
